"""One job under its claim: what comes before its training (where it trains, its key), the
training itself (``failed`` on an error of the run), and what comes after (its record, the
swap with the run it replaces, the summary). A seed trained alone (:mod:`.trainer`) and seeds
trained together (:func:`train_packed`) go through the same steps."""

from __future__ import annotations

import errno
import logging
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coursework.engine import calibrate, events
from coursework.engine.context import RunContext
from coursework.engine.job import Job, dataset, job_key, state
from coursework.engine.seed_run import record, train_one
from coursework.records import layout, locks, results, run_folders, storage
from coursework.records import spec as specs
from coursework.records.errors import ResultsError
from coursework.records.record import RunRecord, Status, Tuned
from coursework.runtime import backend

log = logging.getLogger(__name__)

STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS}


def start(job: Job, head: str, force: bool) -> tuple[Path, dict[str, Any]] | None:
    """Before training a claimed job: its folder recovered, and where it trains (its run
    folder, or beside a complete or stale run, which it replaces when it completes) with its
    key digest written there; None where it is complete (and not ``force``)."""
    out = job.out
    run_folders.recover_run(out)
    now = state(job, claimed=True)
    if now.kind == Status.COMPLETE and not force:
        events.say(f"{head}: complete, skipped (FORCE=1 / --force trains it again)")
        return None
    key = job_key(job)
    # a complete run trained again is trained beside it and replaces it when it completes
    target = layout.staging_dir(out) if now.kind in (Status.COMPLETE, Status.STALE) else out
    if now.kind == Status.STALE:
        events.say(
            f"{head}: stale ({'; '.join(now.changes)}): training it again; the old run "
            "stays until the new one completes"
        )
    try:
        saved = layout.checkpoint_key_file(target)
        if target.exists() and (
            (target / layout.RECORD).exists()
            or force
            or (saved.exists() and saved.read_text().strip() != key.digest)
        ):
            if saved.exists() and not (target / layout.RECORD).exists() and not force:
                log.info(f"{head}: its settings changed since it was stopped: starting it again")
            shutil.rmtree(target)  # start clean; else resume a killed run
        target.mkdir(parents=True, exist_ok=True)
        storage.write_text(saved, key.digest + "\n")
    except OSError as exc:
        raise ResultsError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target, key.to_json()


@dataclass(frozen=True)
class How:
    """How a command trains its jobs, the same for each.

    Args:
        force: train complete runs again.
        shared: rewrite the summary after each run (a Slurm array task leaves it to
            ``collect``).
        parallel: jobs trained at once (worker processes; the time estimates learn per job).
        wait_for_others: wait for a job another process trains now, then go on from what it
            left (a Slurm task), rather than skip it.
        label: prefixes a job's progress lines (its name, beside other jobs).
    """

    force: bool = False
    shared: bool = True
    parallel: int = 1
    wait_for_others: bool = False
    label: str = ""


def finish(job: Job, target: Path, key: dict[str, Any], rec: RunRecord, how: How) -> RunRecord:
    """After training a job into ``target``: its ``run.json`` (with its ``key``), what the
    run teaches the time estimates, the swap with the run it replaces, its last line and
    (if ``how.shared``) the summary."""
    out, label = job.out, how.label
    rec = rec.with_(key=key)
    storage.write_record(target / layout.RECORD, rec)
    run_folders.clear_leftovers(
        target
    )  # a killed earlier try's temporaries: never kept with the run
    # a plan that missed learns from the run
    if rec.status in (Status.COMPLETE, Status.DIVERGED):
        calibrate.observe(
            job.rs.root,
            job.run.config,
            dataset(job.run.config).info,
            target,
            concurrent=how.parallel,
        )
    if target != out:
        if rec.status == Status.COMPLETE:
            run_folders.replace_run(out)
        else:  # the old run stays: it is what there is
            log.info(
                f"{label}    note: the new run of {job.name} is {rec.status}; the old "
                f"one stays (the new one is in {target})"
            )
    report(job, rec, label)
    if how.shared:
        with locks.locked(job.rs):
            results.write_summary(job.rs)
    return rec


def train(job: Job, out: Path, head: str, label: str) -> RunRecord:
    """Train the job into ``out``; return its record (``failed`` on an error of the run)."""
    return train_packed([job], [out], [head], [label])[0]


def train_packed(
    jobs: list[Job], outs: list[Path], heads: list[str], labels: list[str]
) -> list[RunRecord]:
    """Train the jobs (one job, or seeds of one run to train together as one program:
    :mod:`.pack`) into ``outs``; return their records (``failed`` on an error of the run)."""
    run = jobs[0].run
    cfg = run.config
    for job, head in zip(jobs, heads, strict=True):
        text = (
            f"{head}: profile {run.profile}, dataset {cfg.dataset}, {cfg.epochs} epochs, "
            f"batch {cfg.batch_size}, {cfg.optimizer} lr {cfg.learning_rate}, "
            f"backend {backend.current()}"
            + (
                f", packed with seeds {', '.join(str(j.seed) for j in jobs)}"
                if len(jobs) > 1
                else ""
            )
        )
        log.info(text)
        events.emit("run_started", text=text, number=job.number, total=job.total)
    ds = None
    try:
        ds = dataset(cfg)
        ctxs = [
            RunContext(run, j.seed, ds, out, label, j.after if len(jobs) == 1 else None)
            for j, out, label in zip(jobs, outs, labels, strict=True)
        ]
        with events.scope(**ctxs[0].fields):
            if len(jobs) == 1:
                recs = [train_one(ctxs[0])]
            else:
                from coursework.engine.pack import train_pack  # JAX only

                recs = train_pack(ctxs)
        recs = [rec.with_(tuned=tuned_info(jobs[0])) for rec in recs]
    except (KeyboardInterrupt, ResultsError):
        raise
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno in STORAGE_ERRORS:
            # a full disk or a read-only folder fails every run after it: stop now
            raise ResultsError(f"cannot write {outs[0]}: {exc.strerror}") from exc
        traceback.print_exc()
        error = f"{type(exc).__name__}: {exc}"
        recs = [record(run, job.seed, Status.FAILED, ds, {}, error=error) for job in jobs]
    return recs


def tuned_info(job: Job) -> Tuned | None:
    """How a tuned run's parameters were chosen (its record's ``tuned``); None for a run not
    tuned."""
    if job.run.tune is None:
        return None
    return Tuned.of_best(specs.best_params(job.rs, job.run) or {})


def report(job: Job, rec: RunRecord, label: str) -> None:
    """The run's last line (and its ``run_finished`` event)."""
    m = rec.metrics
    events.emit(
        "run_finished",
        question=job.run.question,
        run=job.run.name,
        seed=job.seed,
        status=rec.status,
        metrics=m,
    )
    if rec.status == Status.COMPLETE:
        log.info(
            f"{label}    -> {job.name}: best val {m['best_val_accuracy']:.4f} at epoch "
            f"{m['best_epoch']}, test {m['test_accuracy']:.4f}, {m['train_seconds']:.1f}s"
        )
    else:
        log.info(
            f"{label}    -> {job.name}: {rec.status.upper()}"
            + (f": {rec.error}" if rec.error is not None else "")
        )
