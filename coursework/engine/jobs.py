"""Many runs: the (run, seed) jobs of a question, checked, trained one by one or in worker
processes, and recorded.

A complete run is skipped; a *stale* one (complete, but its key is not the one its
experiment file gives now: :mod:`.keys`) is trained again beside it, and replaces it only
when it completes, so a kill loses nothing; a killed one resumes from its checkpoint
(:mod:`.run`) if its settings are unchanged; a failed one is recorded as ``failed`` and the
others go on; a full disk or a read-only folder stops everything with one message. After
the jobs, the files shared by all runs are rewritten
(:func:`coursework.analysis.aggregates.write_aggregates`).
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import traceback
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, replace
from pathlib import Path

import keras

from coursework.analysis.aggregates import write_aggregates
from coursework.engine import calibrate, keys
from coursework.engine.network import build_model
from coursework.engine.run import record, train_one
from coursework.records import data, results
from coursework.records import spec as specs
from coursework.records.errors import DataError, ResultsError
from coursework.records.spec import Run, Spec
from coursework.runtime import backend, workers
from models.common import ImageSizeError

STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS}


@dataclass(frozen=True)
class Job:
    """One run and seed to train, and where its results go: ``results_set`` is the folder of
    its profile's results (``quick``, or ``quick@bees-1a2b3c`` on another dataset). ``after``: the
    estimated seconds of the jobs after it in the command, where known (see ``make plan``),
    for the progress lines."""

    run: Run
    seed: int
    results_dir: Path
    results_set: str
    number: int = 1
    total: int = 1
    after: float | None = None

    @property
    def out(self) -> Path:
        return results.run_dir(
            self.results_dir, self.results_set, self.run.question, self.run.name, self.seed
        )

    @property
    def name(self) -> str:
        return f"{self.run.question}/{self.run.name} seed {self.seed}"


_DATASETS: dict[tuple, data.Dataset] = {}


def dataset(cfg: dict) -> data.Dataset:
    """The dataset of a run's config, loaded once per process."""
    key = (cfg["dataset"], tuple(cfg.get("image_size") or ()), cfg.get("color"))
    if key not in _DATASETS:
        _DATASETS[key] = data.load(cfg["dataset"], cfg.get("image_size"), cfg.get("color"))
    return _DATASETS[key]


_FINGERPRINTS: dict[int, str] = {}


def fingerprint(ds: data.Dataset) -> str:
    """The content digest of a loaded dataset, computed once per process."""
    if id(ds) not in _FINGERPRINTS:
        _FINGERPRINTS[id(ds)] = ds.fingerprint()
    return _FINGERPRINTS[id(ds)]


def job_key(job: Job) -> keys.RunKey:
    """The key of a job as its experiment file gives it now."""
    return keys.run_key(job.run, job.seed, fingerprint(dataset(job.run.config)))


@dataclass(frozen=True)
class State:
    """Where a job stands. ``kind``: ``complete``, ``stale`` (complete, with other settings
    than the experiment file's now: ``changes``), ``missing``, ``stopped`` (killed; it
    resumes), ``training`` (by another process now), ``failed`` or ``diverged``.
    ``backend``: the Keras backend a complete run was trained with."""

    kind: str
    changes: tuple[str, ...] = ()
    backend: str | None = None
    code_changed: bool = False


def state(job: Job, claimed: bool = False) -> State:
    """The :class:`State` of ``job``; ``claimed``: this process holds its claim (else a
    claim held by another process is ``training``)."""
    from coursework.records.project import project_digest

    out = job.out
    if not claimed:
        with results.run_claim(out) as free:
            if not free:
                return State("training")
    if not (out / results.RECORD).exists():
        if (results.staging_dir(out) / results.RECORD).exists():
            return State("stopped")  # a replacement completed, not yet swapped in
        return State("stopped" if results.checkpoint_file(out).exists() else "missing")
    try:
        rec = results.read_json(out / results.RECORD)
    except ResultsError:
        return State("missing")
    if rec.get("status") != "complete":
        return State(rec.get("status", "failed"))
    changes = keys.differences(rec, job_key(job), job.run, job.seed)
    backend_name = rec.get("environment", {}).get("backend")
    code = rec.get("code_sha256") not in (None, project_digest())
    return State("stale" if changes else "complete", tuple(changes), backend_name, code)


def check_data(jobs: list[Job]) -> None:
    """Load every dataset the jobs need, once, and build each distinct network on it: a bad
    dataset, or images too small for a network, is one DataError before anything trains."""
    built = set()
    for job in jobs:
        cfg = job.run.config
        ds = dataset(cfg)
        key = (cfg["builder"], repr(sorted(cfg["model"].items())), ds.input_shape)
        if key in built:
            continue
        built.add(key)
        try:
            build_model(cfg, ds.info)
        except ValueError as exc:
            first = str(exc).splitlines()[0][:200]
            if "negative" in first:  # Keras: convolutions and pooling left nothing
                first += (
                    "; use larger images (image_size) or a network with fewer or "
                    "smaller convolutions"
                )
            elif not isinstance(exc, ImageSizeError):  # a builder's own word on the size
                continue  # another problem of the run: it fails, and is recorded, when it runs
            shape = "x".join(map(str, ds.input_shape))
            raise DataError(
                f"{cfg['dataset']}: its {shape} images do not fit run "
                f"{job.run.name!r} of {job.run.spec_file} (builder "
                f"{cfg['builder']}): {first}"
            ) from exc
        finally:
            keras.backend.clear_session()


def run_job(
    job: Job, force: bool = False, label: str = "", shared: bool = True, concurrent: int = 1
) -> dict | None:
    """Train one job unless it is complete, or another process is training it now (then
    None); write its ``run.json`` and (if ``shared``) the summary. A failed run is recorded as
    ``failed``; storage errors stop everything."""
    head = f"[{job.number}/{job.total}] {job.name}"
    with results.run_claim(job.out) as mine:
        if not mine:
            print(f"{head}: another process is training it now, skipped", flush=True)
            return None
        return _run_claimed(job, head, force, label, shared, concurrent)


def _run_claimed(
    job: Job, head: str, force: bool, label: str, shared: bool, concurrent: int = 1
) -> dict | None:
    out = job.out
    results.recover_run(out)
    now = state(job, claimed=True)
    if now.kind == "complete" and not force:
        print(f"{head}: complete, skipped (FORCE=1 / --force trains it again)", flush=True)
        return None
    key = job_key(job)
    # a complete run trained again is trained beside it and replaces it when it completes
    target = results.staging_dir(out) if now.kind in ("complete", "stale") else out
    if now.kind == "stale":
        print(
            f"{head}: stale ({'; '.join(now.changes)}): training it again; the old run "
            "stays until the new one completes",
            flush=True,
        )
    try:
        saved = results.checkpoint_key_file(target)
        if target.exists() and (
            (target / results.RECORD).exists()
            or force
            or (saved.exists() and saved.read_text().strip() != key.digest)
        ):
            if saved.exists() and not (target / results.RECORD).exists() and not force:
                print(
                    f"{head}: its settings changed since it was stopped: starting it again",
                    flush=True,
                )
            shutil.rmtree(target)  # start clean; else resume a killed run
        target.mkdir(parents=True, exist_ok=True)
        results.write_text(saved, key.digest + "\n")
    except OSError as exc:
        raise ResultsError(f"cannot write {target}: {exc.strerror or exc}") from exc
    rec = _train(job, target, head, label)
    rec["key"] = key.to_json()
    results.write_json(target / results.RECORD, rec)
    if rec["status"] in ("complete", "diverged"):  # a plan that missed learns from the run
        calibrate.observe(
            job.results_dir,
            job.run.config,
            dataset(job.run.config).info,
            target,
            concurrent=concurrent,
        )
    if target != out:
        if rec["status"] == "complete":
            results.replace_run(out)
        else:  # the old run stays: it is what there is
            print(
                f"{label}    note: the new run of {job.name} is {rec['status']}; the old "
                f"one stays (the new one is in {target})",
                flush=True,
            )
    _report(job, rec, label)
    if shared:
        with results.locked(job.results_dir, job.results_set):
            results.write_summary(job.results_dir, job.results_set)
    return rec


def _train(job: Job, out: Path, head: str, label: str) -> dict:
    """Train the job into ``out``; return its record (``failed`` on an error of the run)."""
    cfg = job.run.config
    print(
        f"{head}: profile {job.run.profile}, dataset {cfg['dataset']}, {cfg['epochs']} epochs, "
        f"batch {cfg['batch_size']}, {cfg['optimizer']} lr {cfg['learning_rate']}, "
        f"backend {backend.chosen()}",
        flush=True,
    )
    ds = None
    try:
        ds = dataset(cfg)
        rec = train_one(job.run, job.seed, ds, out, label, job.after)
        if job.run.tune is not None:  # how its parameters were chosen
            best = specs.chosen(job.results_dir, job.results_set, job.run) or {}
            rec["tuned"] = {
                k: best.get(k)
                for k in (
                    "params",
                    "trial",
                    "trials",
                    "pruned",
                    "sampler",
                    "epochs",
                    "best_val_accuracy",
                )
            }
    except (KeyboardInterrupt, ResultsError):
        raise
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno in STORAGE_ERRORS:
            # a full disk or a read-only folder fails every run after it: stop now
            raise ResultsError(f"cannot write {out}: {exc.strerror}") from exc
        traceback.print_exc()
        rec = record(job.run, job.seed, "failed", ds, {}, error=f"{type(exc).__name__}: {exc}")
    return rec


def _report(job: Job, rec: dict, label: str) -> None:
    m = rec["metrics"]
    if rec["status"] == "complete":
        print(
            f"{label}    -> {job.name}: best val {m['best_val_accuracy']:.4f} at epoch "
            f"{m['best_epoch']}, test {m['test_accuracy']:.4f}, {m['train_seconds']:.1f}s",
            flush=True,
        )
    else:
        print(
            f"{label}    -> {job.name}: {rec['status'].upper()}"
            + (f": {rec['error']}" if "error" in rec else ""),
            flush=True,
        )


def plan(
    spec: Spec,
    profile: str,
    results_dir: Path,
    only: list[str] | None = None,
    seeds: list[int] | None = None,
    on: str | None = None,
) -> list[Job]:
    """The jobs of ``spec``: its runs under ``profile`` (or the ``only`` ones) times their
    seeds (or ``seeds``), on the spec's datasets or all on dataset ``on``."""
    pairs = spec.tasks(profile, only, seeds, on)
    results_set = results.set_name(profile, on)
    return [
        Job(r, s, Path(results_dir), results_set, i, len(pairs))
        for i, (r, s) in enumerate(pairs, 1)
    ]


def tuned(jobs: list[Job]) -> list[Job]:
    """The jobs with the parameters their runs' studies chose (see :mod:`.tune`); SpecError
    for a tuned run whose study has not finished."""
    return [replace(j, run=specs.tuned(j.results_dir, j.results_set, j.run)) for j in jobs]


def run_jobs(
    jobs: list[Job],
    force: bool = False,
    parallel: int = 1,
    shared: bool = True,
    pool: Executor | None = None,
) -> int:
    """Train ``jobs``, ``parallel`` at a time in worker processes (1: here, one by one; a
    ``pool`` of them may be given, to share between questions); return the number that
    failed. The results are the same either way."""
    if not jobs:
        return 0
    if parallel <= 1:
        recs = [run_job(job, force, shared=shared) for job in jobs]
        return sum(1 for r in recs if r and r["status"] == "failed")
    failed = 0
    with (
        contextlib.nullcontext(pool)
        if pool is not None
        else workers.pool(min(parallel, len(jobs)), settings=backend.settings())
    ) as pool:
        pending = {
            pool.submit(run_job, job, force, f"[{job.name}]", shared, parallel) for job in jobs
        }
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    rec = future.result()
                    failed += bool(rec and rec["status"] == "failed")
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return failed


def run_question(
    spec: Spec,
    jobs: list[Job],
    force: bool = False,
    parallel: int = 1,
    shared: bool = True,
    pool: Executor | None = None,
) -> int:
    """Train the jobs of ``spec`` (see :func:`plan`); return the number that failed. The spec
    is recorded beside the runs, so that everything after training reads it from there.
    ``shared=False`` (a Slurm array task) leaves the files shared by all runs (summary,
    statistics, manifest) to ``collect``."""
    if not jobs:
        return 0
    results_dir, results_set = jobs[0].results_dir, jobs[0].results_set
    results.ensure_writable(results.set_dir(results_dir, results_set))
    results.write_bytes(
        results.spec_copy(results_dir, results_set, spec.question), Path(spec.path).read_bytes()
    )
    failed = run_jobs(jobs, force, parallel, shared, pool)
    if shared:
        write_aggregates(results_dir, results_set)
    return failed
