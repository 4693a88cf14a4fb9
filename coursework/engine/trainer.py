"""Many runs: the (run, seed) jobs of a question, checked, trained one by one or in worker
processes, and recorded.

A complete run is skipped; a *stale* one (complete, but its key is not the one its
experiment file gives now: :mod:`.keys`) is trained again beside it, and replaces it only
when it completes, so a kill loses nothing; a killed one resumes from its checkpoint
(:mod:`.seed_run`) if its settings are unchanged; a failed one is recorded as ``failed`` and the
others go on; a full disk or a read-only folder stops everything with one message. After
the jobs, the files shared by all runs are rewritten
(:func:`coursework.analysis.aggregates.write_aggregates`).
"""

from __future__ import annotations

import contextlib
import logging
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, replace
from pathlib import Path

from coursework.analysis import aggregates
from coursework.engine import claimed, estimate, events
from coursework.engine.claimed import How
from coursework.engine.context import RunContext
from coursework.engine.estimate import Plans
from coursework.engine.job import Job, check_data, dataset, plan, state, with_best_params
from coursework.engine.progress import Progress
from coursework.engine.request import Retrain, TrainRequest
from coursework.records import locks, storage
from coursework.records.errors import SpecError
from coursework.records.record import RunRecord, Status
from coursework.records.spec import Spec
from coursework.runtime import backend, workers

log = logging.getLogger(__name__)


def run_job(job: Job, how: How) -> RunRecord | None:
    """Train one job unless it is complete, or another process is training it now (then
    None; with ``how.wait_for_others``, as a Slurm task does, wait for that process and then go
    on from what it left: a task never reports success for work that nobody finished). Write
    its ``run.json`` and (if ``how.shared``) the summary. A failed run is recorded as
    ``failed``; storage errors stop everything.

    Args:
        job: the run and seed.
        how: how the command trains its jobs.
    """
    head = heading(job)
    with locks.run_claim(job.out) as mine:
        if mine:
            return _run_claimed(job, head, how)
    if not how.wait_for_others:
        events.say(f"{head}: another process is training it now, skipped")
        return None
    events.say(f"{head}: another process is training it now: waiting for it to end")
    with locks.run_claim(job.out, wait=True):
        return _run_claimed(job, head, how)


def heading(job: Job) -> str:
    """``[3/16] conv/conv1 seed 0``: the job, numbered among the command's runs to do
    (:mod:`.progress`; a complete one has no number)."""
    return f"[{job.number}/{job.total}] {job.name}" if job.number else job.name


def _run_claimed(job: Job, head: str, how: How) -> RunRecord | None:
    started = claimed.start(job, head, how.force)
    if started is None:
        return None
    target, key = started
    rec = claimed.train(job, target, head, how.label)
    return claimed.finish(job, target, key, rec, how)


def run_pack(jobs: list[Job], how: How, progress: Progress | None = None) -> list[RunRecord]:
    """Train seeds of one run together as one program (:mod:`.pack`): those that are not
    complete and that no other process is training (those are skipped, as by
    :func:`run_job`); return their records.

    Args:
        jobs: the seeds of one run.
        how: how the command trains its jobs.
        progress: the command's, told of each seed once all end.
    """
    recs = _run_pack(jobs, how)
    for job in jobs:
        if progress is not None:
            progress.finished(job)
    return recs


def _run_pack(jobs: list[Job], how: How) -> list[RunRecord]:
    with contextlib.ExitStack() as stack:
        mine = []
        for job in jobs:
            head = heading(job)
            if not stack.enter_context(locks.run_claim(job.out)):
                events.say(f"{head}: another process is training it now, skipped")
                continue
            started = claimed.start(job, head, how.force)
            if started is not None:
                mine.append((job, head, *started))
        if not mine:
            return []
        ours, heads, targets = [m[0] for m in mine], [m[1] for m in mine], [m[2] for m in mine]
        recs = claimed.train_packed(ours, targets, heads, [how.label] * len(mine))
        return [
            claimed.finish(job, target, key, rec, how)
            for (job, _, target, key), rec in zip(mine, recs, strict=True)
        ]


def run_jobs(
    jobs: list[Job], how: How, pool: Executor | None = None, progress: Progress | None = None
) -> int:
    """Train ``jobs``, ``how.parallel`` at a time in worker processes (1: here, one by one);
    return the number that failed. The results are the same either way.

    Args:
        jobs: the runs and seeds.
        how: how the command trains its jobs.
        pool: worker processes to share between questions (else a pool of its own).
        progress: the command's, told of each job that ends.
    """
    if not jobs:
        return 0
    tell = progress.finished if progress is not None else lambda job: None
    parallel = how.parallel
    if parallel <= 1:
        failed = 0
        for job in jobs:
            rec = run_job(job, replace(how, parallel=1, label=""))
            failed += bool(rec and rec.status == Status.FAILED)
            tell(job)
        return failed
    failed = 0
    with (
        contextlib.nullcontext(pool)
        if pool is not None
        else workers.pool(min(parallel, len(jobs)), settings=backend.settings())
    ) as pool:
        pending = {
            pool.submit(run_job, job, replace(how, label=f"[{job.name}]")): job for job in jobs
        }
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    rec = future.result()
                    failed += bool(rec and rec.status == Status.FAILED)
                    tell(pending.pop(future))
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return failed


def run_question(
    spec: Spec,
    jobs: list[Job],
    how: How,
    pool: Executor | None = None,
    pack: bool = False,
    progress: Progress | None = None,
) -> int:
    """Train the jobs of ``spec`` (see :func:`plan`); return the number that failed. The spec
    is recorded beside the runs, so that everything after training reads it from there.

    Args:
        spec: the question.
        jobs: its runs and seeds to train.
        how: how the command trains its jobs; ``shared=False`` (a Slurm array task) leaves
            the files shared by all runs (summary, statistics, manifest) to ``collect``.
        pool: worker processes shared between questions.
        pack: the seeds of each run train together, here (:func:`run_pack`), before the runs
            of one seed.
        progress: the command's, told of each run that ends.
    """
    if not jobs:
        return 0
    rs = jobs[0].rs
    storage.ensure_writable(rs.dir())
    storage.write_if_changed(rs.spec_copy(spec.question), Path(spec.path).read_bytes())
    if progress is not None:  # the plan's complete runs: counted in its line, not one each
        jobs = [job for job in jobs if job.out in progress.todo]
    packs = packs_of(jobs) if pack else []
    failed = sum(
        r.status == Status.FAILED
        for g in packs
        for r in run_pack(g, replace(how, parallel=1, label=""), progress)
    )
    alone = [j for j in jobs if not any(j in g for g in packs)]
    failed += run_jobs(alone, how, pool, progress)
    if how.shared and (jobs or not aggregates.current(rs)):  # nothing trained: they stand
        aggregates.write_aggregates(rs)
    return failed


def packs_of(jobs: list[Job]) -> list[list[Job]]:
    """The jobs that train together: the seeds of each run that has more than one."""
    by_run: dict[tuple[str, str], list[Job]] = {}
    for job in jobs:
        by_run.setdefault((job.run.question, job.run.name), []).append(job)
    return [group for group in by_run.values() if len(group) > 1]


def packing(asked: bool | None, task: int | None = None) -> bool:
    """Whether the seeds of a run train packed: as ``asked`` (``--pack-seeds``), else on a
    GPU; on JAX only, and never for one Slurm ``task`` (one seed)."""
    wanted = asked if asked is not None else bool(backend.accelerators())
    if wanted and backend.current() != "jax":
        if asked:
            events.say(f"note: seeds pack on JAX only: {backend.current()} trains them one by one")
        return False
    return wanted and task is None


# --------------------------------------------------------------------------- one way in


@dataclass(frozen=True)
class Outcome:
    """What a :func:`train` did: ``failed`` runs (their ``run.json`` says why); ``records``: a
    ``retrain``'s record."""

    failed: int = 0
    records: tuple[RunRecord, ...] = ()

    @property
    def code(self) -> int:
        """The command's exit status: 1 where a run failed."""
        return 1 if self.failed else 0


def train(request: TrainRequest, loaded: list[Spec] | None = None) -> Outcome:
    """Carry out a ``run`` command: check every spec and dataset, tune what is not tuned yet
    (its studies first: a Slurm task of the seeds expects them finished), then train the
    seeds, sharing one pool of workers with ``jobs`` > 1, and rewrite the shared files
    (not for a Slurm array task: ``collect`` does that).

    Args:
        request: what to train; with ``retrain``, one recorded run trained again into its
            own folder, nothing else (its record in the outcome's ``records``).
        loaded: the request's specs where :meth:`TrainRequest.load` has already read them.

    Raises:
        CourseworkError: a bad spec, dataset, backend or results folder, before anything
            trains.
    """
    if request.retrain is not None:
        return Outcome(records=(_retrain(request.retrain),))
    specs_ = loaded if loaded is not None else request.load()
    settings = _announce_backend(request)
    plans = _task_plans(request, specs_)
    # before anything trains: every dataset, and the networks of the runs to do
    check_data(estimate.to_do([job for _, jobs in plans for job in jobs], request.force))
    with contextlib.ExitStack() as stack:  # with --jobs: one pool of workers for everything
        pool = (
            stack.enter_context(workers.pool(request.jobs, settings=settings))
            if request.jobs > 1
            else None
        )
        if (request.task is None or request.tune) and any(
            job.run.tune is not None for _, jobs in plans for job in jobs
        ):
            _tune(request, specs_, pool)
        if request.tune:
            if request.task is None:  # the studies in the manifest (a task leaves it to collect)
                aggregates.write_aggregates(request.rs)
            return Outcome()
        plans = [(s, with_best_params(jobs)) for s, jobs in plans]
        _backend_note([job for _, jobs in plans for job in jobs], request.force)
        plans, items = estimate.announce(plans, request)
        progress = Progress.of(items, request.force)
        plans = progress.numbered(plans)
        pack = packing(request.pack, request.task)
        how = How(request.force, request.task is None, request.jobs, request.task is not None)
        failed = sum(run_question(s, jobs, how, pool, pack, progress) for s, jobs in plans)
    if failed:
        log.warning(f"{failed} run(s) failed; see 'error' in their run.json")
    return Outcome(failed)


def _retrain(again: Retrain) -> RunRecord:
    """Train a recorded run again into its folder (packed with its seeds, as it was, on JAX:
    byte-identical there); return its new record. An error of the run is raised."""
    from coursework.engine.seed_run import train_one

    ds, label = dataset(again.run.config), "  "
    if again.packed and backend.current() == "jax":
        from coursework.engine.pack import train_pack

        ctxs = [
            RunContext(again.run, s, ds, again.folder / f"pack-seed-{s}", label)
            if s != again.seed
            else RunContext(again.run, s, ds, again.folder, label)
            for s in again.packed
        ]
        return train_pack(ctxs)[again.packed.index(again.seed)]
    ctx = RunContext(again.run, again.seed, ds, again.folder, label, evaluate=again.evaluate)
    return train_one(ctx)


def _announce_backend(request: TrainRequest) -> dict:
    """Configure the backend as asked, and say how it trains."""
    settings = backend.configure(request.deterministic, request.mixed_precision)
    gpus = ", ".join(g["name"] for g in backend.accelerators()) or "no GPU: the CPU"
    events.say(
        f"backend {backend.current()} {backend.version()} on {gpus}, determinism "
        f"{'on' if settings['deterministic'] else 'off'}, mixed precision "
        f"{'on (' + settings['policy'] + ')' if settings['mixed_precision'] else 'off'}"
        + (f", {request.jobs} jobs at once" if request.jobs > 1 else "")
    )
    return settings


def _task_plans(request: TrainRequest, specs_: list[Spec]) -> Plans:
    """The jobs of each spec; with ``task`` (and not ``tune``), only the task's one."""
    only = list(request.only) if request.only is not None else None
    seeds = list(request.seeds) if request.seeds is not None else None
    plans = [
        (s, plan(s, request.profile, request.results, only, seeds, request.dataset)) for s in specs_
    ]
    if request.task is None or request.tune:
        return plans
    if len(plans) != 1:
        raise SpecError("--task: give exactly one question")
    s, jobs = plans[0]
    if not 0 <= request.task < len(jobs):
        raise SpecError(
            f"--task {request.task}: {s.path} has tasks 0 to {len(jobs) - 1} in "
            f"profile {request.profile} (one per run and seed)"
        )
    return [(s, [jobs[request.task]])]


def _tune(request: TrainRequest, specs_: list[Spec], pool: Executor | None) -> None:
    """The studies of the tuned runs (all, or with ``tune`` and ``task`` one trial)."""
    from coursework.engine.tune import tune_question  # Optuna only where something is tuned

    only = list(request.only) if request.only is not None else None
    for s in specs_:
        tune_question(
            s,
            request.profile,
            request.results,
            only,
            request.dataset,
            request.jobs,
            request.task if request.tune else None,
            pool,
        )


def _backend_note(jobs: list[Job], force: bool) -> None:
    """Say so where complete runs were trained with another backend (they are kept)."""
    note = estimate.backend_note([(job, state(job)) for job in jobs], backend.current(), force)
    if note:
        events.say(f"note: {note}")
