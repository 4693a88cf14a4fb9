"""The typed records of a run: its status and its ``run.json`` (its training config is
:class:`coursework.records.config.TrainConfig`, importable from here too).

These are the shapes every layer above reads; they serialise to exactly the dicts and strings
written today, so a file round-trips byte for byte and a run's key (a digest of its config)
never changes because of them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from coursework.records.config import CONFIG_FIELDS as CONFIG_FIELDS
from coursework.records.config import TrainConfig as TrainConfig
from coursework.records.errors import ResultsError

SCHEMA_VERSION = 2  # 2: run.json records the Keras backend (environment.backend)


class Status(enum.StrEnum):
    """What a run is. A ``StrEnum``, so JSON and CSV hold the same plain strings as before.

    The first four are the ends a ``run.json`` records; the others are what a job's folder
    says before (or instead of) a record that counts.
    """

    COMPLETE = "complete"  # trained and tested
    PRUNED = "pruned"  # a tuning trial Optuna stopped early
    DIVERGED = "diverged"  # its loss blew up, or it learnt nothing
    FAILED = "failed"  # an error of the run (the message is in run.json's "error")
    MISSING = "missing"  # nothing trained yet
    STOPPED = "stopped"  # stopped part-way, to be resumed
    STALE = "stale"  # trained, but its spec, data or code changed since


# The ends of a run: a record with one of these is over (in_progress() reads them).
ENDED = (Status.COMPLETE, Status.FAILED, Status.PRUNED)


@dataclass(frozen=True)
class RunRecord:
    """A run's ``run.json``: everything plots, report and verify need, so that they never
    build a model or read the spec again. Fields in the file's order; the optional ones at
    the end are written only when set."""

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
    architecture: list[dict[str, Any]]
    dataset: dict[str, Any]
    determinism: dict[str, Any]
    environment: dict[str, Any]
    code_sha256: str
    published_accuracy: float | None = None
    error: str | None = None
    key: dict[str, Any] | None = None

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
        version = d.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ResultsError(
                f"{source} was written with results schema version {version}, this project "
                f"reads version {SCHEMA_VERSION} (written by coursework "
                f"{d.get('coursework_version', '?')}); re-run with --force or use the matching "
                "version of the project"
            )
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
            values["status"] = Status(d["status"])
            values["config"] = TrainConfig.from_dict(d["config"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ResultsError(f"{source}: not a run's record ({exc})") from exc
        return cls(**values)


OPTIONAL_KEYS = ("published_accuracy", "error", "key")
