"""The typed records of a run: its status and its ``run.json`` (its training config is
:class:`coursework.records.config.TrainConfig`, importable from here too).

These are the shapes every layer above reads; they serialise to exactly the dicts and strings
written today, so a file round-trips byte for byte and a run's key (a digest of its config)
never changes because of them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from coursework.records.config import CONFIG_FIELDS as CONFIG_FIELDS
from coursework.records.config import TrainConfig as TrainConfig
from coursework.records.errors import ResultsError

SCHEMA_VERSION = 2  # 2: run.json records the Keras backend (environment.backend)


class Status(enum.StrEnum):
    """What a run is. A ``StrEnum``, so JSON and CSV hold the same plain strings as before.

    The first four are the ends a ``run.json`` records; the others are what a job's folder
    (or a tuned run's study) says before (or instead of) a record that counts.
    """

    COMPLETE = "complete"  # trained and tested
    PRUNED = "pruned"  # a tuning trial Optuna stopped early
    DIVERGED = "diverged"  # its loss blew up, or it learnt nothing
    FAILED = "failed"  # an error of the run (the message is in run.json's "error")
    MISSING = "missing"  # nothing trained yet
    STOPPED = "stopped"  # stopped part-way, to be resumed
    STALE = "stale"  # trained, but its spec, data or code changed since
    TRAINING = "training"  # claimed by another process, training now
    TUNING = "tuning"  # a tuned run's study, with trials to go
    RUNNING = "running"  # a record of no end: no engine of today writes one (in_progress())


# The ends of a run: a record with one of these is over (in_progress() reads them).
ENDED = (Status.COMPLETE, Status.FAILED, Status.PRUNED)


@dataclass(frozen=True)
class Tuned:
    """``run.json``'s ``tuned``: how a tuned run's parameters were chosen (its study's
    ``best.json``; a value it lacks is None)."""

    params: dict[str, Any] | None
    trial: int | None
    trials: int | None
    pruned: int | None
    sampler: str | None
    epochs: int | None
    best_val_accuracy: float | None

    @classmethod
    def of_best(cls, best: Mapping[str, Any]) -> Tuned:
        """The ``tuned`` of a study's ``best.json`` (the keys it has; the others None)."""
        return cls(**{f.name: best.get(f.name) for f in fields(cls)})


@dataclass(frozen=True)
class Trial:
    """``run.json``'s ``trial``: a tuning trial's number, parameters, study and sampler."""

    number: int
    params: dict[str, Any]
    study: str
    sampler: str


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """A run's ``run.json``: everything plots, report and verify need, so that they never
    build a model or read the spec again. Fields in the file's order; the optional ones at
    the end are written only when set (``packed`` by a pack's seed, ``tuned`` by a tuned
    run's seed, ``key`` by every seed a command trains, ``trial`` by a tuning trial).

    Read by attribute (``rec.config.epochs``, ``rec.metrics["test_accuracy"]``), never by
    key: a misspelt field is a type checker's error. ``metrics``, ``dataset``,
    ``determinism``, ``environment``, ``key`` and ``packed`` stay the plain dicts the file
    holds (their keys vary with the run: a trial has no test accuracy, an old key fewer
    parts). ``architecture`` and ``code_sha256`` are absent from the first records of this
    schema version, which still read (and round-trip) without them."""

    schema_version: int
    coursework_version: str
    question: str
    run: str
    seed: int
    profile: str
    status: Status
    spec_file: str
    config: TrainConfig
    metrics: dict[str, Any]
    params: int | None
    architecture: list[dict[str, Any]] | None = None  # None: recorded before it was
    dataset: dict[str, Any]
    determinism: dict[str, Any]
    environment: dict[str, Any]
    code_sha256: str | None = None  # None: recorded before it was
    published_accuracy: float | None = None
    error: str | None = None
    packed: dict[str, Any] | None = None
    tuned: Tuned | None = None
    key: dict[str, Any] | None = None
    trial: Trial | None = None

    @property
    def backend(self) -> str | None:
        """The Keras backend it was trained with (``environment.backend``)."""
        found: str | None = self.environment.get("backend")
        return found

    def with_(self, **changes: Any) -> RunRecord:
        """This record with ``changes`` (a field set now is written in its place)."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The dict ``run.json`` holds: the same keys in the same order as the file."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in OPTIONAL_KEYS and value is None:
                continue
            if isinstance(value, TrainConfig):
                value = value.to_dict()
            elif isinstance(value, Status):
                value = value.value
            elif isinstance(value, Tuned | Trial):
                value = {g.name: getattr(value, g.name) for g in fields(value)}
            out[f.name] = value
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any], source: Path | str) -> RunRecord:
        """The record of a ``run.json`` of this schema version.

        Args:
            d: the file's JSON object.
            source: the file, for the message of an error.

        Raises:
            ResultsError: the file is of another schema version, or not a run's record.
        """
        check_version(d, source)
        names = [f.name for f in fields(cls)]
        missing = [k for k in names if k not in d and k not in OPTIONAL_KEYS]
        unknown = [k for k in d if k not in names]
        if missing or unknown:
            raise ResultsError(
                f"{source}: not a run's record (missing: {', '.join(missing) or 'none'}; "
                f"unknown: {', '.join(unknown) or 'none'})"
            )
        values = dict(d)
        try:
            values["status"] = Status(values["status"])
            values["config"] = TrainConfig.from_dict(values["config"])
            if values.get("tuned") is not None:
                values["tuned"] = Tuned(**values["tuned"])
            if values.get("trial") is not None:
                values["trial"] = Trial(**values["trial"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ResultsError(f"{source}: not a run's record ({exc})") from exc
        return cls(**values)

    @classmethod
    def from_parts(cls, d: Mapping[str, Any], source: Path | str) -> RunRecord:
        """The record of some of a ``run.json``'s keys (what a marker's re-run is handed:
        :func:`coursework.verify.inspection.settings_of`): its version, results and
        descriptions read as blank where absent.

        Raises:
            ResultsError: a key it needs is missing, or not a run's.
        """
        blank = {k: make() for k, make in _BLANK.items()}
        return cls.from_json({**blank, **d}, source)


_BLANK: dict[str, Callable[[], Any]] = {
    "schema_version": lambda: SCHEMA_VERSION,
    "coursework_version": str,
    "metrics": dict,
    "params": lambda: None,
    "dataset": dict,
    "determinism": dict,
    "environment": dict,
}

# written only when set (the first two absent from the first records of this schema)
OPTIONAL_KEYS = (
    "architecture",
    "code_sha256",
    "published_accuracy",
    "error",
    "packed",
    "tuned",
    "key",
    "trial",
)
FIELDS = tuple(f.name for f in fields(RunRecord))


def check_version(d: Mapping[str, Any], source: Path | str) -> None:
    """Raise the one clear error for a results file of another schema version.

    Raises:
        ResultsError: naming ``source``, its version and this project's.
    """
    version = d.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResultsError(
            f"{source} was written with results schema version {version}, this project reads "
            f"version {SCHEMA_VERSION} (written by coursework {d.get('coursework_version', '?')}"
            "); re-run with --force or use the matching version of the project"
        )
