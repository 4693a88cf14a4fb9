"""Tuning a run on the validation split: one Optuna study per tuned run, every trial an
ordinary run of this engine.

A study lives in ``<question>/<run>/tune/`` (:mod:`coursework.records.layout`): Optuna's
journal (``study.journal``: a killed study resumes from it, several processes or Slurm array
tasks share it, ``optuna-dashboard`` reads it), a folder per trial with its ``history.csv``
and ``run.json`` (status ``complete``, ``pruned`` or ``failed``, the trial's number and
parameters, and never a test accuracy: a trial does not touch the test split), and, when the
study has its trials, ``best.json``: the parameters with the best validation accuracy. The
run is then trained with them on the question's seeds, as any run
(:func:`coursework.records.spec.with_best_params`).

Every trial is trained with the study's seed, and the sampler is seeded with the study's seed
and the trial's number, so a study gives the same trials whether one process runs them or
Slurm tasks run them one by one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
import traceback
from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING

import optuna
from optuna.trial import TrialState

from coursework.engine import events, keys
from coursework.engine.study import (  # the study's mechanics
    counted,
    fail_stale,
    next_point,
    open_study,
    study_dir,
    study_lock,
    suggest,
    trial_run,
    tuning,
)
from coursework.records import layout, locks, storage
from coursework.records.errors import ResultsError, SpecError
from coursework.records.layout import ResultsSet
from coursework.records.record import SCHEMA_VERSION, RunRecord, Status, Trial
from coursework.records.spec import Run, Spec
from coursework.runtime import backend

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from coursework.data.arrays import Dataset

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def study_state(run: Run, rs: ResultsSet) -> tuple[str, str]:
    """(``kind``, ``why``) of a tuned run's study: ``missing``, ``stale`` (made with other
    settings than the experiment file's now, ``why`` says which), ``tuning`` (trials to go)
    or ``complete`` (it has chosen)."""
    from coursework.engine.job import dataset, fingerprint

    folder = study_dir(rs, run)
    if not (folder / layout.STUDY).exists():
        return Status.MISSING, ""
    want = keys.study_key(run, fingerprint(dataset(run.config)))
    path = rs.study_key_file(run.question, run.name)
    if path.exists():
        if path.read_text().strip() != want:
            return Status.STALE, "its [tune] table or the run's settings changed"
    else:  # made before studies had keys: its recorded search is what can be compared
        best = folder / layout.BEST
        old = storage.read_json(best) if best.exists() else None
        now = {
            "space": tuning(run).params,
            "sampler": tuning(run).sampler,
            "seed": tuning(run).seed,
            "epochs": tuning(run).epochs or run.config.epochs,
        }
        if old is not None and any(old.get(k) != v for k, v in now.items()):
            return Status.STALE, "its [tune] table changed"
    return (Status.COMPLETE if (folder / layout.BEST).exists() else Status.TUNING), ""


def retire_if_stale(run: Run, rs: ResultsSet) -> None:
    """Before a study runs: a stale study is moved aside (kept, hidden, until the new one has
    chosen), and the study's key written, so that a new study starts with today's settings."""
    from coursework.engine.job import dataset, fingerprint

    folder = study_dir(rs, run)
    storage.ensure_writable(folder.parent)
    with locks.file_lock(folder.parent / f".{layout.TUNE}.lock"):
        kind, why = study_state(run, rs)
        if kind == Status.STALE:
            old = rs.retired_study_dir(run.question, run.name)
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
            log.info(
                f"{run.question}/{run.name}: its study is stale ({why}): a new study "
                f"starts; the old one is kept in {old} until the new one has chosen"
            )
        storage.ensure_writable(folder)
        storage.write_text(
            rs.study_key_file(run.question, run.name),
            keys.study_key(run, fingerprint(dataset(run.config))) + "\n",
        )


def run_study(run: Run, rs: ResultsSet, most: int | None = None, label: str = "") -> dict | None:
    """Run trials of ``run``'s study until it has its trials (or this process has run
    ``most``); write and return ``best.json`` when the study is complete, else None."""
    from coursework.engine.job import dataset

    ds = dataset(run.config)
    tune = tuning(run)
    folder = study_dir(rs, run)
    storage.ensure_writable(folder)
    done_here = 0
    while most is None or done_here < most:
        with contextlib.ExitStack() as stack:
            with study_lock(folder):
                study = open_study(rs, run)
                fail_stale(study, folder)
                if counted(study, folder) >= tune.size:
                    break
                study = open_study(rs, run, len(study.trials))
                if tune.sampler == "grid":
                    study.enqueue_trial(next_point(study, folder, tune.params))
                trial = study.ask()
                params = suggest(trial, tune.params)
                out = layout.trial_dir_in(folder, trial.number)
                stack.enter_context(locks.run_claim(out))  # until the trial is told
            train_trial(study, trial, params, run, out, ds, label)
        done_here += 1
    return finish(run, rs)


def train_trial(
    study: optuna.Study,
    trial: optuna.Trial,
    params: dict,
    run: Run,
    out: Path,
    ds: Dataset,
    label: str = "",
) -> RunRecord:
    """Train one trial into ``out``, report each epoch's validation accuracy to the pruner,
    record it and tell the study."""
    import keras

    from coursework.engine.context import RunContext
    from coursework.engine.seed_run import record, train_one

    shown = ", ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in params.items()
    )
    log.info(
        f"{label}  {run.question}/{run.name} trial {trial.number + 1}/{tuning(run).size}: {shown}"
    )
    this = trial_run(run, params)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)

    def on_epoch(epoch: int, val_accuracy: float) -> bool:
        trial.report(val_accuracy, epoch)
        return tuning(run).pruning and trial.should_prune()

    try:
        ctx = RunContext(this, tuning(run).seed, ds, out, label + "  ", None, on_epoch, False)
        rec = train_one(ctx)
    except (KeyboardInterrupt, ResultsError):
        raise
    except Exception as exc:
        traceback.print_exc()
        rec = record(
            this, tuning(run).seed, Status.FAILED, ds, {}, error=f"{type(exc).__name__}: {exc}"
        )
    finally:
        keras.backend.clear_session()
    rec = rec.with_(trial=Trial(trial.number, params, layout.STUDY, tuning(run).sampler))
    storage.write_record(out / layout.RECORD, rec)
    tell(study, trial, rec, label)
    return rec


def tell(study: optuna.Study, trial: optuna.Trial, rec: RunRecord, label: str = "") -> None:
    """Tell the study how a trial ended (pruned, its best validation accuracy, or failed), and
    say so."""
    value = rec.metrics.get("best_val_accuracy")
    if rec.status == Status.PRUNED:
        study.tell(trial, state=TrialState.PRUNED)
    elif rec.status == Status.COMPLETE and value is not None:
        study.tell(trial, value)
    else:
        study.tell(trial, state=TrialState.FAIL)
    log.info(
        f"{label}    -> trial {trial.number + 1}: {rec.status}"
        + (f", best val {value:.4f}" if value is not None else "")
    )


def finish(run: Run, rs: ResultsSet) -> dict | None:
    """``best.json`` once the study has all its trials and none is running: the completed
    trial with the best validation accuracy (the first, on ties). None before that."""
    folder = study_dir(rs, run)
    if not (folder / layout.STUDY).exists():
        return None
    study = open_study(rs, run)
    trials = study.get_trials(deepcopy=False)
    if counted(study, folder) < tuning(run).size or any(
        t.state == TrialState.RUNNING for t in trials
    ):
        return None
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not complete:
        raise ResultsError(
            f"{folder}: no trial of the study completed (see the trials' "
            "run.json): nothing to choose from"
        )
    best = max(complete, key=lambda t: (t.value, -t.number))
    out = {
        "schema_version": SCHEMA_VERSION,
        "question": run.question,
        "run": run.name,
        "params": best.params,
        "best_val_accuracy": best.value,
        "trial": best.number,
        "trials": len([t for t in trials if t.state in FINISHED]),
        "complete": len(complete),
        "pruned": sum(t.state == TrialState.PRUNED for t in trials),
        "failed": sum(t.state == TrialState.FAIL for t in trials),
        "sampler": tuning(run).sampler,
        "epochs": tuning(run).epochs or run.config.epochs,
        "seed": tuning(run).seed,
        "space": tuning(run).params,
        "backend": backend.current(),
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    path = folder / layout.BEST
    old = storage.read_json(path) if path.exists() else None
    shutil.rmtree(
        rs.retired_study_dir(run.question, run.name),
        ignore_errors=True,
    )  # the stale study this one replaces
    if old is None or old.get("params") != out["params"] or old.get("trial") != out["trial"]:
        storage.write_json(path, out)
        return out
    return old


def tuned_runs(
    spec: Spec, profile: str, only: list[str] | None = None, dataset: str | None = None
) -> list[Run]:
    """The tuned runs of ``spec`` under ``profile`` (the ``only`` ones), on ``dataset``."""
    return [
        r
        for r, seed in spec.tasks(profile, only, None, dataset)
        if r.tune is not None and seed == r.seeds[0]
    ]


def tune_question(
    spec: Spec,
    profile: str,
    results_dir: Path,
    only: list[str] | None = None,
    dataset: str | None = None,
    parallel: int = 1,
    task: int | None = None,
    pool: Executor | None = None,
) -> list[dict | None]:
    """Run the studies of the question's tuned runs: all their trials (``parallel`` processes
    share each study), or with ``task`` (a Slurm array task) the one trial numbered so, counted
    over the studies in spec order. Return each study's ``best.json`` (None: not finished)."""
    runs = tuned_runs(spec, profile, only, dataset)
    if not runs:
        return []
    rs = ResultsSet(Path(results_dir), layout.set_name(profile, dataset))
    storage.ensure_writable(rs.dir())
    storage.write_if_changed(rs.spec_copy(spec.question), Path(spec.path).read_bytes())
    for run in runs:
        retire_if_stale(run, rs)
    if task is not None:
        for run in runs:
            if task < tuning(run).size:
                return [run_study(run, rs, most=1)]
            task -= tuning(run).size
        raise SpecError(
            f"{spec.path}: --tune --task: the studies have "
            f"{sum(tuning(r).size for r in runs)} trials (tasks 0 to "
            f"{sum(tuning(r).size for r in runs) - 1})"
        )
    chosen = {run.name for run in runs if study_state(run, rs)[0] == Status.COMPLETE}
    todo = [run for run in runs if run.name not in chosen]  # a chosen study: nothing to do
    for run in todo:
        events.say(
            f"tuning {run.question}/{run.name}: {tuning(run).size} trials ({tuning(run).sampler}"
            f", {tuning(run).epochs or run.config.epochs} epochs each"
            f"{', pruning' if tuning(run).pruning else ''}), on the validation split"
        )
    _run_studies(todo, rs, parallel, pool)
    out: list[dict | None] = []
    for run in runs:
        if run.name in chosen:
            out.append(storage.read_json(study_dir(rs, run) / layout.BEST))
            continue
        best = finish(run, rs)
        if best:
            events.say(
                f"{run.question}/{run.name}: chose {best['params']} (trial "
                f"{best['trial'] + 1} of {best['trials']}, validation accuracy "
                f"{best['best_val_accuracy']:.4f}; {best['pruned']} pruned)"
            )
        out.append(best)
    return out


def _run_studies(
    runs: list[Run],
    rs: ResultsSet,
    parallel: int,
    pool: Executor | None,
) -> None:
    """Every trial of the studies of ``runs``: here, one by one, or in ``parallel`` worker
    processes (a study per process where there are enough studies, else sharing each)."""
    from coursework.runtime import workers

    if parallel <= 1:
        for run in runs:
            run_study(run, rs)
        return
    with (
        contextlib.nullcontext(pool)
        if pool is not None
        else workers.pool(parallel, settings=backend.settings())
    ) as pool:
        if len(runs) >= parallel:  # a study per process: each as if run alone
            for f in [pool.submit(run_study, run, rs, None, f"[{run.name}]") for run in runs]:
                f.result()
            return
        for run in runs:  # fewer studies than processes: the processes share each study
            for f in [
                pool.submit(run_study, run, rs, None, f"[{run.name} {i + 1}]")
                for i in range(parallel)
            ]:
                f.result()


def finish_all(rs: ResultsSet) -> list[dict]:
    """``best.json`` of every finished study under the results set (after Slurm tasks)."""
    from coursework.records import spec as specs

    out = []
    for q in rs.tuned_questions():
        s = specs.trained_spec(rs, q)
        if s is None or rs.profile not in s.profiles:
            continue
        for run in s.resolve(rs.name):
            if run.tune is not None:
                best = finish(run, rs)
                out += [best] if best else []
    return out
