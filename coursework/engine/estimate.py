"""What a command will train and how long it will take, before it starts.

Per run and seed: epochs x training images per epoch (the expanded set counted 5x) and an
estimated time on this machine and backend, from the measured calibration of its network
(:mod:`coursework.engine.calibrate`, corrected by the runs that finished since); runs already
complete are counted and marked. ``run`` prints the plan in one line (:func:`line`) and passes
the estimates on for the time left in its progress lines; ``make plan`` prints it as a table
(:mod:`coursework.commands.planning`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache

from coursework.data import datasets as data
from coursework.data.arrays import DatasetInfo
from coursework.engine import events
from coursework.engine.calibrate import Calibrations
from coursework.engine.job import Job, State, finished_epochs, state
from coursework.engine.network import epoch_images
from coursework.engine.request import TrainRequest
from coursework.engine.seeded import duration
from coursework.records import spec as specs
from coursework.records.record import Status
from coursework.records.spec import Spec
from coursework.runtime import backend, env

log = logging.getLogger(__name__)

# `run` calibrates networks it has no speed for only when it trains this many images or
# more (a few seconds each, against at least minutes of training); below, it uses the cache
CALIBRATE_FROM = 10_000_000


@dataclass(frozen=True)
class Item:
    """One job of the plan."""

    job: Job
    epoch_images: int  # training images per epoch
    complete: bool
    seconds: float | None  # estimated, None where its network was not calibrated
    epochs_done: int = 0  # a stopped run resumes after these
    study: bool = False  # a tuned run's study (see studies), not a run and seed

    @property
    def images(self) -> int:
        """Training images over all its epochs (an upper bound with early stopping)."""
        return self.job.run.config.epochs * self.epoch_images

    @property
    def images_left(self) -> int:
        """Training images of the epochs it has not finished."""
        return max(0, self.job.run.config.epochs - self.epochs_done) * self.epoch_images

    @property
    def seconds_left(self) -> float | None:
        epochs = self.job.run.config.epochs
        if self.seconds is None or not epochs:
            return self.seconds
        return self.seconds * max(0, epochs - self.epochs_done) / epochs


def items(jobs: list[Job]) -> list[Item]:
    """The plan of ``jobs``: images per epoch, whether each is complete and the epochs a
    stopped one has finished (no times yet: see :func:`timed`)."""
    out = []
    for job in jobs:
        complete = _complete(job)
        done = 0 if complete else finished_epochs(job)
        out.append(Item(job, epoch_images(job.run.config, info(job)), complete, None, done))
    return out


def to_do(jobs: list[Job], force: bool = False) -> list[Job]:
    """The jobs a ``run`` trains: all with ``force``, else those not complete now."""
    return list(jobs) if force else [job for job in jobs if not _complete(job)]


def _complete(job: Job) -> bool:
    """Complete with the settings of its experiment file now (a stale run is trained
    again); a tuned run's seeds whose study has not chosen are not."""
    if job.run.tune is not None and specs.best_params(job.rs, job.run) is None:
        return False
    if job.run.tune is not None:
        job = replace(job, run=specs.with_best_params(job.rs, job.run))
    return state(job).kind == Status.COMPLETE


def studies(jobs: list[Job]) -> list[Item]:
    """The Optuna studies of the jobs' tuned runs, one item each (``<run>:study``): its trials
    times the epochs of a trial; complete once the study has chosen."""
    out = []
    for job in jobs:
        run, tune = job.run, job.run.tune
        if tune is None or job.seed != run.seeds[0]:
            continue
        cfg = run.config.with_(
            epochs=tune.size * (tune.epochs or run.config.epochs), early_stopping=0
        )
        study = replace(
            job, run=replace(run, name=f"{run.name}:study", config=cfg, tune=None), seed=tune.seed
        )
        done = specs.best_params(job.rs, run) is not None
        out.append(Item(study, epoch_images(cfg, info(job)), done, None, study=True))
    return out


def timed(plan: list[Item], calibrations: Calibrations, calibrate: bool = False) -> list[Item]:
    """``plan`` with the estimated time of each job from the speeds in ``calibrations``
    (``calibrate``: measure the networks it lacks, saying so; else those stay unknown)."""
    out = []
    for item in plan:
        cfg, ds = item.job.run.config, info(item.job)
        speed = calibrations.get(cfg, ds)
        if speed is None and calibrate:
            log.info(
                f"calibrating {item.job.run.question}/{item.job.run.name} (batch "
                f"{cfg.batch_size}) on {machine_name()} ..."
            )
            speed = calibrations.ensure(cfg, ds)
        out.append(
            replace(
                item,
                seconds=speed.seconds(cfg.epochs, item.epoch_images, ds.sizes) if speed else None,
            )
        )
    return out


@cache
def _info(dataset: str, image_size: tuple, color: str | None) -> DatasetInfo:
    return data.info(dataset, list(image_size) or None, color)


def info(job: Job) -> DatasetInfo:
    """Shape, classes and split sizes of a job's dataset (read once per dataset)."""
    cfg = job.run.config
    return _info(cfg.dataset, tuple(cfg.image_size or ()), cfg.color)


def with_times_after(jobs: list[Job], plan: list[Item], force: bool = False) -> list[Job]:
    """``jobs`` with ``after`` set: the estimated seconds of the jobs that still train after
    each (complete ones are skipped unless ``force``), None where one is not known."""
    left = [
        0.0 if item.complete and not force else item.seconds if force else item.seconds_left
        for item in plan
    ]
    out = []
    for i, job in enumerate(jobs):
        later = left[i + 1 :]
        out.append(replace(job, after=None if None in later else sum(later)))  # type: ignore
    return out


Plans = list[tuple[Spec, list[Job]]]  # a command's specs, each with its jobs


def device_name() -> str:
    """The device this process's backend trains on."""
    gpus = backend.accelerators()
    if gpus:
        return ", ".join(g["name"] for g in gpus)
    hw = env.hardware()
    return f"CPU: {hw['cpu']} ({hw['cpu_count']} cores)"


def machine_name() -> str:
    return f"{backend.current()} {backend.version()} on {device_name()}"


def millions(n: int) -> str:
    return f"{n / 1e6:,.1f} M" if n >= 100_000 else f"{n:,}"


def totals(plan: list[Item], force: bool = False) -> dict:
    """Images and estimated seconds of the whole plan and of what is left to train."""
    left = [i for i in plan if force or not i.complete]
    known = all(i.seconds is not None for i in plan)
    known_left = all(i.seconds is not None for i in left)
    runs = [i for i in plan if not i.study]
    return {
        "jobs": len(runs),
        "complete": sum(i.complete for i in runs),
        "resumed": sum(bool(i.epochs_done) for i in left),
        "studies": len(plan) - len(runs),
        "studies_done": sum(i.complete for i in plan if i.study),
        "images": sum(i.images for i in plan),
        "images_left": sum(i.images if force else i.images_left for i in left),
        "seconds": sum(i.seconds or 0 for i in plan) if known else None,
        "seconds_left": sum((i.seconds if force else i.seconds_left) or 0 for i in left)
        if known_left
        else None,
    }


def line(plan: list[Item], where: str, force: bool = False) -> str:
    """The one-line plan ``run`` prints before it starts: the runs and seeds (how many are
    complete, how many resume), the studies, and the images and time still to go."""
    t = totals(plan, force)
    runs = "1 run" if t["jobs"] == 1 else f"{t['jobs']} runs and seeds"
    notes = [f"{t['complete']} complete, skipped"] * bool(t["complete"] and not force)
    resumed = [i for i in plan if i.epochs_done and not i.study and not force]
    if len(resumed) == 1:
        cfg = resumed[0].job.run.config
        notes.append(
            f"{'it' if t['jobs'] == 1 else '1'} resumes after epoch "
            f"{resumed[0].epochs_done} of {cfg.epochs}"
        )
    elif resumed:
        notes.append(f"{len(resumed)} resume where they stopped")
    runs += f" ({'; '.join(notes)})" if notes else ""
    if t["studies"]:
        done = t["studies_done"]
        runs += f", {t['studies']} {'study' if t['studies'] == 1 else 'studies'}"
        runs += f" ({done} chosen)" if done and done < t["studies"] else " (chosen)" * bool(done)
    time = (
        f", about {duration(t['seconds_left'])} here"
        if t["seconds_left"] is not None
        else "; `make plan` estimates the time"
    )
    images = millions(t["images_left"])
    return f"plan: {runs}, {images} training images to go{time}; results in {where}"


def backend_note(states: list[tuple[Job, State]], backend_name: str, force: bool = False) -> str:
    """``12 runs trained with tensorflow, kept; FORCE=1 re-trains them with jax`` where
    complete runs were trained with another backend than ``backend_name`` ('' where none was)."""
    other = Counter(
        s.backend
        for _, s in states
        if s.kind == Status.COMPLETE and s.backend and s.backend != backend_name
    )
    if not other:
        return ""
    made = ", ".join(f"{n} run{'s' * (n > 1)} trained with {b}" for b, n in other.items())
    if force:
        return f"{made}: trained again with {backend_name} (FORCE)"
    return (
        f"{made}, kept (backends agree within verify's tolerance); FORCE=1 re-trains "
        f"them with {backend_name}"
    )


def announce(plans: Plans, request: TrainRequest) -> tuple[Plans, list[Item]]:
    """Print the one-line plan; return the jobs with the estimated time after each (for the
    progress lines; not with ``jobs`` > 1, where runs overlap), and the plan's runs."""
    jobs = [job for _, js in plans for job in js]
    cache = Calibrations(request.results)
    plan = items(jobs)
    calibrating = request.task is None and sum(item.images for item in plan) >= CALIBRATE_FROM
    plan = timed(plan, cache, calibrating)
    tuning = timed(studies(jobs), cache, calibrating)
    where = str(request.rs.dir())
    events.say(line(plan + tuning, where, request.force))
    if request.jobs > 1:
        return plans, plan
    after = iter(with_times_after(jobs, plan, request.force))
    return [(s, [next(after) for _ in js]) for s, js in plans], plan
