"""Tuning a run on the validation split: one Optuna study per tuned run, every trial an
ordinary run of this engine.

A study lives in ``<question>/<run>/tune/`` (:mod:`coursework.records.results`): Optuna's
journal (``study.journal``: a killed study resumes from it, several processes or Slurm array
tasks share it, ``optuna-dashboard`` reads it), a folder per trial with its ``history.csv``
and ``run.json`` (status ``complete``, ``pruned`` or ``failed``, the trial's number and
parameters, and never a test accuracy: a trial does not touch the test split), and, when the
study has its trials, ``best.json``: the parameters with the best validation accuracy. The
run is then trained with them on the question's seeds, as any run (:func:`coursework.records
.spec.tuned`).

Every trial is trained with the study's seed, and the sampler is seeded with the study's seed
and the trial's number, so a study gives the same trials whether one process runs them or
Slurm tasks run them one by one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import shutil
import traceback
from concurrent.futures import Executor
from dataclasses import replace
from pathlib import Path

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from coursework.engine import events, keys
from coursework.records import results
from coursework.records.errors import ResultsError, SpecError
from coursework.records.spec import Run, Spec, Tune, apply_params
from coursework.runtime import backend

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def study_dir(results_dir: Path, results_set: str, run: Run) -> Path:
    return results.tune_dir(results_dir, results_set, run.question, run.name)


def open_study(results_dir: Path, results_set: str, run: Run, number: int = 0) -> optuna.Study:
    """The run's study, from its journal (created on first use), with the sampler for trial
    ``number`` and the pruner."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a line per trial is ours to print
    folder = study_dir(results_dir, results_set, run)
    results.ensure_writable(folder)
    storage = JournalStorage(JournalFileBackend(str(folder / results.STUDY)))
    return optuna.create_study(
        study_name=f"{run.question}/{run.name}",
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        sampler=sampler(run.tune, number),
        pruner=pruner(run.tune),
    )


def sampler(tune: Tune, number: int) -> optuna.samplers.BaseSampler:
    """The sampler for trial ``number``, seeded with the study's seed and the number."""
    seed = tune.seed * 100_003 + number
    if tune.sampler in ("random", "grid"):  # grid: each point is enqueued (see next_point)
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(2, tune.size // 3))


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
            and (folder / f"trial-{t.number:03d}" / results.RECORD).exists()
        )
    ]
    for values in itertools.product(*params.values()):
        point = dict(zip(params, values, strict=True))
        if point not in tried:
            return point
    raise ResultsError(f"{folder}: every point of the grid has been tried")


def suggest(trial: optuna.Trial, params: dict) -> dict:
    """The trial's values of the searched parameters."""
    out = {}
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
    cfg["epochs"] = run.tune.epochs or cfg["epochs"]
    cfg["seeds"] = [run.tune.seed]
    return replace(run, config=cfg, tune=None)


def counted(study: optuna.Study, folder: Path) -> int:
    """Trials that count towards the study's size: finished (a failure only if it was
    recorded) or running now."""
    n = 0
    for t in study.get_trials(deepcopy=False):
        recorded = (folder / f"trial-{t.number:03d}" / results.RECORD).exists()
        n += t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING) or (
            t.state == TrialState.FAIL and recorded
        )
    return n


def study_lock(folder: Path):
    """Held while a process asks for a trial and claims its folder, or looks for trials whose
    process died, so that no two processes take the same trial."""
    return results.file_lock(folder / ".study.lock")


def fail_stale(study: optuna.Study, folder: Path) -> int:
    """Trials left running by a process that died (their folder is claimed by nobody): marked
    failed, and their parameters asked again, so the study still gets its trials."""
    stale = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        with results.run_claim(folder / f"trial-{t.number:03d}") as free:
            if free:
                study.tell(t.number, state=TrialState.FAIL)
                if t.params:  # asked again (a grid's points are asked in turn anyway)
                    study.enqueue_trial(t.params, skip_if_exists=False)
                stale += 1
    return stale


def study_state(run: Run, results_dir: Path, results_set: str) -> tuple[str, str]:
    """(``kind``, ``why``) of a tuned run's study: ``missing``, ``stale`` (made with other
    settings than the experiment file's now, ``why`` says which), ``tuning`` (trials to go)
    or ``complete`` (it has chosen)."""
    from coursework.engine.job import dataset, fingerprint

    folder = study_dir(results_dir, results_set, run)
    if not (folder / results.STUDY).exists():
        return "missing", ""
    want = keys.study_key(run, fingerprint(dataset(run.config)))
    path = results.study_key_file(results_dir, results_set, run.question, run.name)
    if path.exists():
        if path.read_text().strip() != want:
            return "stale", "its [tune] table or the run's settings changed"
    else:  # made before studies had keys: its recorded search is what can be compared
        best = folder / results.BEST
        old = results.read_json(best) if best.exists() else None
        now = {
            "space": run.tune.params,
            "sampler": run.tune.sampler,
            "seed": run.tune.seed,
            "epochs": run.tune.epochs or run.config["epochs"],
        }
        if old is not None and any(old.get(k) != v for k, v in now.items()):
            return "stale", "its [tune] table changed"
    return ("complete" if (folder / results.BEST).exists() else "tuning"), ""


def retire_if_stale(run: Run, results_dir: Path, results_set: str) -> None:
    """Before a study runs: a stale study is moved aside (kept, hidden, until the new one has
    chosen), and the study's key written, so that a new study starts with today's settings."""
    from coursework.engine.job import dataset, fingerprint

    folder = study_dir(results_dir, results_set, run)
    results.ensure_writable(folder.parent)
    with results.file_lock(folder.parent / f".{results.TUNE}.lock"):
        kind, why = study_state(run, results_dir, results_set)
        if kind == "stale":
            old = results.retired_study_dir(results_dir, results_set, run.question, run.name)
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
            print(
                f"{run.question}/{run.name}: its study is stale ({why}): a new study "
                f"starts; the old one is kept in {old} until the new one has chosen",
                flush=True,
            )
        results.ensure_writable(folder)
        results.write_text(
            results.study_key_file(results_dir, results_set, run.question, run.name),
            keys.study_key(run, fingerprint(dataset(run.config))) + "\n",
        )


def run_study(
    run: Run, results_dir: Path, results_set: str, most: int | None = None, label: str = ""
) -> dict | None:
    """Run trials of ``run``'s study until it has its trials (or this process has run
    ``most``); write and return ``best.json`` when the study is complete, else None."""
    from coursework.engine.job import dataset

    ds = dataset(run.config)
    tune = run.tune
    folder = study_dir(results_dir, results_set, run)
    results.ensure_writable(folder)
    done_here = 0
    while most is None or done_here < most:
        with contextlib.ExitStack() as stack:
            with study_lock(folder):
                study = open_study(results_dir, results_set, run)
                fail_stale(study, folder)
                if counted(study, folder) >= tune.size:
                    break
                study = open_study(results_dir, results_set, run, len(study.trials))
                if tune.sampler == "grid":
                    study.enqueue_trial(next_point(study, folder, tune.params))
                trial = study.ask()
                params = suggest(trial, tune.params)
                out = folder / f"trial-{trial.number:03d}"
                stack.enter_context(results.run_claim(out))  # until the trial is told
            train_trial(study, trial, params, run, out, ds, label)
        done_here += 1
    return finish(run, results_dir, results_set)


def train_trial(
    study: optuna.Study, trial: optuna.Trial, params: dict, run: Run, out: Path, ds, label: str = ""
) -> dict:
    """Train one trial into ``out``, report each epoch's validation accuracy to the pruner,
    record it and tell the study."""
    import keras

    from coursework.engine.run import record, train_one

    shown = ", ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in params.items()
    )
    print(
        f"{label}  {run.question}/{run.name} trial {trial.number + 1}/{run.tune.size}: {shown}",
        flush=True,
    )
    this = trial_run(run, params)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)

    def on_epoch(epoch: int, val_accuracy: float) -> bool:
        trial.report(val_accuracy, epoch)
        return run.tune.pruning and trial.should_prune()

    try:
        rec = train_one(
            this, run.tune.seed, ds, out, label + "  ", on_epoch=on_epoch, evaluate=False
        )
    except (KeyboardInterrupt, ResultsError):
        raise
    except Exception as exc:
        traceback.print_exc()
        rec = record(this, run.tune.seed, "failed", ds, {}, error=f"{type(exc).__name__}: {exc}")
    finally:
        keras.backend.clear_session()
    rec["trial"] = {
        "number": trial.number,
        "params": params,
        "study": results.STUDY,
        "sampler": run.tune.sampler,
    }
    results.write_json(out / results.RECORD, rec)
    value = rec["metrics"].get("best_val_accuracy")
    if rec["status"] == "pruned":
        study.tell(trial, state=TrialState.PRUNED)
    elif rec["status"] == "complete" and value is not None:
        study.tell(trial, value)
    else:
        study.tell(trial, state=TrialState.FAIL)
    print(
        f"{label}    -> trial {trial.number + 1}: {rec['status']}"
        + (f", best val {value:.4f}" if value is not None else ""),
        flush=True,
    )
    return rec


def finish(run: Run, results_dir: Path, results_set: str) -> dict | None:
    """``best.json`` once the study has all its trials and none is running: the completed
    trial with the best validation accuracy (the first, on ties). None before that."""
    folder = study_dir(results_dir, results_set, run)
    if not (folder / results.STUDY).exists():
        return None
    study = open_study(results_dir, results_set, run)
    trials = study.get_trials(deepcopy=False)
    if counted(study, folder) < run.tune.size or any(t.state == TrialState.RUNNING for t in trials):
        return None
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not complete:
        raise ResultsError(
            f"{folder}: no trial of the study completed (see the trials' "
            "run.json): nothing to choose from"
        )
    best = max(complete, key=lambda t: (t.value, -t.number))
    out = {
        "schema_version": results.SCHEMA_VERSION,
        "question": run.question,
        "run": run.name,
        "params": best.params,
        "best_val_accuracy": best.value,
        "trial": best.number,
        "trials": len([t for t in trials if t.state in FINISHED]),
        "complete": len(complete),
        "pruned": sum(t.state == TrialState.PRUNED for t in trials),
        "failed": sum(t.state == TrialState.FAIL for t in trials),
        "sampler": run.tune.sampler,
        "epochs": run.tune.epochs or run.config["epochs"],
        "seed": run.tune.seed,
        "space": run.tune.params,
        "backend": backend.chosen(),
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    path = folder / results.BEST
    old = results.read_json(path) if path.exists() else None
    shutil.rmtree(
        results.retired_study_dir(results_dir, results_set, run.question, run.name),
        ignore_errors=True,
    )  # the stale study this one replaces
    if old is None or old.get("params") != out["params"] or old.get("trial") != out["trial"]:
        results.write_json(path, out)
        return out
    return old


def tuned_runs(
    spec: Spec, profile: str, only: list[str] | None = None, on: str | None = None
) -> list[Run]:
    """The tuned runs of ``spec`` under ``profile`` (the ``only`` ones), on dataset ``on``."""
    return [
        r
        for r, seed in spec.tasks(profile, only, None, on)
        if r.tune is not None and seed == r.seeds[0]
    ]


def tune_question(
    spec: Spec,
    profile: str,
    results_dir: Path,
    only: list[str] | None = None,
    on: str | None = None,
    parallel: int = 1,
    task: int | None = None,
    pool: Executor | None = None,
) -> list[dict | None]:
    """Run the studies of the question's tuned runs: all their trials (``parallel`` processes
    share each study), or with ``task`` (a Slurm array task) the one trial numbered so, counted
    over the studies in spec order. Return each study's ``best.json`` (None: not finished)."""
    runs = tuned_runs(spec, profile, only, on)
    if not runs:
        return []
    results_set = results.set_name(profile, on)
    results.ensure_writable(results.set_dir(results_dir, results_set))
    results.write_bytes(
        results.spec_copy(results_dir, results_set, spec.question), Path(spec.path).read_bytes()
    )
    for run in runs:
        retire_if_stale(run, results_dir, results_set)
    if task is not None:
        for run in runs:
            if task < run.tune.size:
                return [run_study(run, results_dir, results_set, most=1)]
            task -= run.tune.size
        raise SpecError(
            f"{spec.path}: --tune --task: the studies have "
            f"{sum(r.tune.size for r in runs)} trials (tasks 0 to "
            f"{sum(r.tune.size for r in runs) - 1})"
        )
    for run in runs:
        events.say(
            f"tuning {run.question}/{run.name}: {run.tune.size} trials ({run.tune.sampler}"
            f", {run.tune.epochs or run.config.epochs} epochs each"
            f"{', pruning' if run.tune.pruning else ''}), on the validation split"
        )
    _run_studies(runs, results_dir, results_set, parallel, pool)
    out = []
    for run in runs:
        best = finish(run, results_dir, results_set)
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
    results_dir: Path,
    results_set: str,
    parallel: int,
    pool: Executor | None,
) -> None:
    """Every trial of the studies of ``runs``: here, one by one, or in ``parallel`` worker
    processes (a study per process where there are enough studies, else sharing each)."""
    from coursework.runtime import workers

    if parallel <= 1:
        for run in runs:
            run_study(run, results_dir, results_set)
        return
    with (
        contextlib.nullcontext(pool)
        if pool is not None
        else workers.pool(parallel, settings=backend.settings())
    ) as pool:
        if len(runs) >= parallel:  # a study per process: each as if run alone
            for f in [
                pool.submit(run_study, run, results_dir, results_set, None, f"[{run.name}]")
                for run in runs
            ]:
                f.result()
            return
        for run in runs:  # fewer studies than processes: the processes share each study
            for f in [
                pool.submit(run_study, run, results_dir, results_set, None, f"[{run.name} {i + 1}]")
                for i in range(parallel)
            ]:
                f.result()


def finish_all(results_dir: Path, results_set: str) -> list[dict]:
    """``best.json`` of every finished study under the results set (after Slurm tasks)."""
    from coursework.records import spec as specs

    out = []
    for q in results.tuned_questions(results_dir, results_set):
        s = specs.trained_spec(results_dir, results_set, q)
        if s is None or results.profile_of(results_set) not in s.profiles:
            continue
        for run in s.resolve(results_set):
            if run.tune is not None:
                best = finish(run, results_dir, results_set)
                out += [best] if best else []
    return out
