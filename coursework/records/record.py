"""The typed records of a run: its status, its training config and its ``run.json``.

These are the shapes every layer above reads; they serialise to exactly the dicts and strings
written today, so a file round-trips byte for byte and a run's key (a digest of its config)
never changes because of them.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True, eq=False)
class TrainConfig(Mapping[str, Any]):
    """A run's training settings: one field per key of ``spec.CONFIG_KEYS``.

    ``order`` keeps the keys that were given, in the order they were merged, so that
    :meth:`to_dict` is the very dict a spec resolved to (``run.json`` and the run's key hash
    it). A key not given reads as ``None``.

    Reading by key (``cfg["epochs"]``, ``cfg.get("color")``, ``**cfg``) is transitional: it
    keeps callers working until they read attributes, and is removed when none reads by key.
    """

    dataset: str | None = None
    image_size: list[int] | None = None
    color: str | None = None
    builder: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    optimizer: str | None = None
    learning_rate: float | None = None
    momentum: float | None = None
    batch_size: int | None = None
    epochs: int | None = None
    loss: str | None = None
    seeds: list[int] | None = None
    early_stopping: int | None = None
    l2_lambda: float | None = None
    l1_lambda: float | None = None
    augment: str | None = None
    order: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        """The config of a merged table of config keys (a copy: later edits of ``d`` do not
        reach it).

        Raises:
            KeyError: for a key that is no config key (the spec's validation names it first).
        """
        unknown = [k for k in d if k not in CONFIG_FIELDS]
        if unknown:
            raise KeyError(f"not a config key: {', '.join(map(repr, unknown))}")
        values = {k: copy.deepcopy(v) for k, v in d.items()}
        return cls(**values, order=tuple(d))

    def to_dict(self) -> dict[str, Any]:
        """The config as the plain dict it was merged from: the same keys in the same order."""
        return {k: copy.deepcopy(getattr(self, k)) for k in self.order}

    def with_(self, **changes: Any) -> TrainConfig:
        """This config with ``changes`` (a new key goes last, as ``dict.update`` puts it)."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})

    def __getitem__(self, key: str) -> Any:
        """Transitional: ``cfg["epochs"]`` reads the field; removed when no caller reads by
        key."""
        if key not in self.order:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """Transitional: ``cfg.get("color")`` reads the field, ``default`` where it was not
        given; removed when no caller reads by key."""
        return getattr(self, key) if key in self.order else default

    def __iter__(self) -> Iterator[str]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)

    def __contains__(self, key: object) -> bool:
        return key in self.order


CONFIG_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.name != "order")


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
