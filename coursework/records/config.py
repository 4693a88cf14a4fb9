"""A run's training config, typed: one field per key of the spec's config table.

It serialises to exactly the dict a spec resolved to (same keys, same order), so that the
config written into ``run.json`` and the run's key (a digest of it) never change because of
the type. The only module that reads a config by key.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class TrainConfig:
    """A run's training settings: one field per key of ``spec.CONFIG_KEYS``.

    ``order`` keeps the keys that were given, in the order they were merged, so that
    :meth:`to_dict` is the very dict a spec resolved to (``run.json`` and the run's key hash
    it). A key not given reads as ``None``.

    It is read by attribute (``cfg.epochs``), never by key: a misspelt name is a type
    checker's error, not a wrong number in the report.
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


CONFIG_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.name != "order")
