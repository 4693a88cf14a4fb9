"""An Optuna study's mechanics: its journal under the run's ``tune/`` folder, its sampler and
pruner, the next point of a grid, a trial's values and run, and which trials count (what
:mod:`.tune` runs studies with)."""

from __future__ import annotations

import itertools
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from coursework.records import layout, locks
from coursework.records.errors import ResultsError, SpecError
from coursework.records.layout import ResultsSet
from coursework.records.spec import Run, Tune, apply_params
from coursework.records.storage import ensure_writable

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def study_dir(rs: ResultsSet, run: Run) -> Path:
    return rs.tune_dir(run.question, run.name)


def open_study(rs: ResultsSet, run: Run, number: int = 0) -> optuna.Study:
    """The run's study, from its journal (created on first use), with the sampler for trial
    ``number`` and the pruner."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a line per trial is ours to print
    folder = study_dir(rs, run)
    ensure_writable(folder)
    storage = JournalStorage(JournalFileBackend(str(folder / layout.STUDY)))
    return optuna.create_study(
        study_name=f"{run.question}/{run.name}",
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        sampler=sampler(tuning(run), number),
        pruner=pruner(tuning(run)),
    )


def sampler(tune: Tune, number: int) -> optuna.samplers.BaseSampler:
    """The sampler for trial ``number``, seeded with the study's seed and the number."""
    seed = tune.seed * 100_003 + number
    if tune.sampler in ("random", "grid"):  # grid: each point is enqueued (see next_point)
        return optuna.samplers.RandomSampler(seed=seed)
    # constant liar: trials running now (parallel Slurm tasks) count as bad, so that tasks
    # started together do not all sample the same point; one at a time it changes nothing
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=tune.startup_trials, constant_liar=True
    )


def pruner(tune: Tune) -> optuna.pruners.BasePruner:
    if not tune.pruning:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)


def next_point(study: optuna.Study, folder: Path, params: dict) -> dict:
    """A grid's next point: the first, in the order of the spec's lists, that no trial that
    counts (see :func:`counted`) has tried."""
    tried = [
        t.params
        for t in study.get_trials(deepcopy=False)
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        or (
            t.state == TrialState.FAIL
            and (layout.trial_dir_in(folder, t.number) / layout.RECORD).exists()
        )
    ]
    for values in itertools.product(*params.values()):
        point = dict(zip(params, values, strict=True))
        if point not in tried:
            return point
    raise ResultsError(f"{folder}: every point of the grid has been tried")


def suggest(trial: optuna.Trial, params: dict) -> dict:
    """The trial's values of the searched parameters."""
    out: dict[str, Any] = {}
    for name, space in params.items():
        if isinstance(space, list):
            out[name] = trial.suggest_categorical(name, space)
        elif space.get("int"):
            out[name] = trial.suggest_int(
                name, space["low"], space["high"], log=bool(space.get("log"))
            )
        else:
            out[name] = trial.suggest_float(
                name, float(space["low"]), float(space["high"]), log=bool(space.get("log"))
            )
    return out


def trial_run(run: Run, params: dict) -> Run:
    """The run a trial trains: the run's config with the trial's values, the study's epochs
    and seed."""
    cfg = apply_params(run.config, params)
    cfg = cfg.with_(epochs=tuning(run).epochs or cfg.epochs, seeds=[tuning(run).seed])
    return replace(run, config=cfg, tune=None)


def counted(study: optuna.Study, folder: Path) -> int:
    """Trials that count towards the study's size: finished (a failure only if it was
    recorded) or running now."""
    n = 0
    for t in study.get_trials(deepcopy=False):
        recorded = (layout.trial_dir_in(folder, t.number) / layout.RECORD).exists()
        n += t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING) or (
            t.state == TrialState.FAIL and recorded
        )
    return n


def study_lock(folder: Path) -> AbstractContextManager[None]:
    """Held while a process asks for a trial and claims its folder, or looks for trials whose
    process died, so that no two processes take the same trial."""
    return locks.file_lock(folder / ".study.lock")


def fail_stale(study: optuna.Study, folder: Path) -> int:
    """Trials left running by a process that died (their folder is claimed by nobody): marked
    failed, and their parameters asked again, so the study still gets its trials."""
    stale = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        with locks.run_claim(layout.trial_dir_in(folder, t.number)) as free:
            if free:
                study.tell(t.number, state=TrialState.FAIL)
                if t.params:  # asked again (a grid's points are asked in turn anyway)
                    study.enqueue_trial(t.params, skip_if_exists=False)
                stale += 1
    return stale


def tuning(run: Run) -> Tune:
    """The ``[tune]`` table of a tuned run (what a study is made of)."""
    if run.tune is None:
        raise SpecError(f"{run.spec_file}: run {run.name!r} has no [tune] table")
    return run.tune
