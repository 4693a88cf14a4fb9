"""One job: a run and seed to train, where its results go, its dataset (loaded once per
process) and where it stands (:class:`State`); what :mod:`.trainer` and the commands that
plan read before anything trains."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np

from coursework.data import datasets as data
from coursework.data.arrays import Dataset
from coursework.engine import keys
from coursework.engine.network import build_model, size_error
from coursework.records import layout, locks, storage
from coursework.records import spec as specs
from coursework.records.config import TrainConfig
from coursework.records.errors import DataError, ResultsError
from coursework.records.layout import ResultsSet
from coursework.records.record import Status
from coursework.records.spec import Run, Spec


@dataclass(frozen=True)
class Job:
    """One run and seed to train, and where its results go: ``rs`` is its profile's results
    set (``quick``, or ``quick@bees-1a2b3c`` on another dataset). ``after``: the estimated
    seconds of the jobs after it in the command, where known (see ``make plan``), for the
    progress lines."""

    run: Run
    seed: int
    rs: ResultsSet
    number: int = 1
    total: int = 1
    after: float | None = None

    @property
    def out(self) -> Path:
        return self.rs.run_dir(self.run.question, self.run.name, self.seed)

    @property
    def name(self) -> str:
        return f"{self.run.question}/{self.run.name} seed {self.seed}"


_DATASETS: dict[tuple, Dataset] = {}


def dataset(cfg: TrainConfig) -> Dataset:
    """The dataset of a run's config, loaded once per process (a ``run.json``'s config is
    read with :meth:`TrainConfig.from_dict` first)."""
    key = (cfg.dataset, tuple(cfg.image_size or ()), cfg.color)
    if key not in _DATASETS:
        _DATASETS[key] = data.load(cfg.dataset, cfg.image_size, cfg.color)
    return _DATASETS[key]


_FINGERPRINTS: dict[int, str] = {}


def fingerprint(ds: Dataset) -> str:
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

    kind: Status
    changes: tuple[str, ...] = ()
    backend: str | None = None
    code_changed: bool = False


def state(job: Job, claimed: bool = False) -> State:
    """The :class:`State` of ``job``; ``claimed``: this process holds its claim (else a
    claim held by another process is ``training``)."""
    from coursework.records.project import project_digest

    out = job.out
    if not claimed and locks.claimed_elsewhere(out):  # looks: creates no file, no folder
        return State(Status.TRAINING)
    if not (out / layout.RECORD).exists():
        if (layout.staging_dir(out) / layout.RECORD).exists():
            return State(Status.STOPPED)  # a replacement completed, not yet swapped in
        stopped = layout.checkpoint_file(out).exists()
        return State(Status.STOPPED if stopped else Status.MISSING)
    try:
        rec = storage.read_record(out / layout.RECORD)
    except ResultsError:
        return State(Status.MISSING)
    if rec.status != Status.COMPLETE:
        return State(rec.status)
    changes = keys.differences(rec, job_key(job), job.run, job.seed)
    backend_name = rec.backend
    made = rec.code_sha256  # the whole project's digest: a run recorded before runs
    code = made not in (None, project_digest(job.run.config.builder), project_digest())
    return State(Status.STALE if changes else Status.COMPLETE, tuple(changes), backend_name, code)


def finished_epochs(job: Job) -> int:
    """The epochs a stopped run has finished, after which it resumes (its checkpoint's, where
    its settings are unchanged); 0 where it starts afresh. A complete run trained again
    resumes beside itself (``layout.staging_dir``)."""
    folder = job.out
    if (folder / layout.RECORD).exists():
        folder = layout.staging_dir(folder)
    saved, checkpoint = layout.checkpoint_key_file(folder), layout.checkpoint_file(folder)
    if (folder / layout.RECORD).exists() or not checkpoint.exists() or not saved.exists():
        return 0
    try:
        if saved.read_text().strip() != job_key(job).digest:
            return 0  # its settings changed: it starts again
        with np.load(checkpoint, allow_pickle=False) as f:
            return int(f["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


def check_data(jobs: list[Job]) -> None:
    """Load every dataset the jobs need, once, and build each distinct network on it: a bad
    dataset, or images too small for a network, is one DataError before anything trains."""
    built = set()
    for job in jobs:
        cfg = job.run.config
        ds = dataset(cfg)
        key = (cfg.builder, repr(sorted(cfg.model.items())), ds.input_shape)
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
            elif not size_error(exc):
                continue  # not a builder's word on the size: the run fails, recorded, when run
            shape = "x".join(map(str, ds.input_shape))
            raise DataError(
                f"{cfg.dataset}: its {shape} images do not fit run "
                f"{job.run.name!r} of {job.run.spec_file} (builder "
                f"{cfg.builder}): {first}"
            ) from exc
        finally:
            keras.backend.clear_session()


def plan(
    spec: Spec,
    profile: str,
    results_dir: Path,
    only: list[str] | None = None,
    seeds: list[int] | None = None,
    dataset: str | None = None,
) -> list[Job]:
    """The jobs of ``spec``: its runs under ``profile`` (or the ``only`` ones) times their
    seeds (or ``seeds``), on the spec's datasets or all on ``dataset``."""
    pairs = spec.tasks(profile, only, seeds, dataset)
    rs = ResultsSet(Path(results_dir), layout.set_name(profile, dataset))
    return [Job(r, s, rs, i, len(pairs)) for i, (r, s) in enumerate(pairs, 1)]


def with_best_params(jobs: list[Job]) -> list[Job]:
    """The jobs with the parameters their runs' studies chose (see :mod:`.tune`); SpecError
    for a tuned run whose study has not finished."""
    return [replace(j, run=specs.with_best_params(j.rs, j.run)) for j in jobs]
