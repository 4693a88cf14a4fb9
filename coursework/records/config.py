"""A run's training config, typed: the schema of every config key of an experiment file.

:class:`TrainConfig` is a pydantic model, and the one declaration of those keys: their types,
choices, ranges, defaults and meanings. Validation (:mod:`coursework.records.validate`) checks
each table of a spec against it, and the key table of ``docs/experiments.md`` is generated from
it (:func:`coursework.records.fields.config_table`).

It serialises to exactly the dict a spec resolved to (same keys, same order, same values: TOML's
``1`` stays ``1``), so that the config written into ``run.json`` and the run's key (a digest of
it) never change because of the type. The only module that reads a config by key.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

if TYPE_CHECKING:
    from pydantic.json_schema import JsonDict

# A number as TOML and JSON give it: an int stays an int, so the config's dict is unchanged.
Number = int | float

# The range of a key as the docs say it, and its error (a format string of key and value).
AT_LEAST_1 = ("at least 1", "key {key!r} must be at least 1, got {value}")
POSITIVE = ("above 0", "key {key!r} must be positive, got {value}")
NOT_NEGATIVE = ("at least 0", "key {key!r} must be >= 0, got {value}")
SEEDS = ("non-empty, integers >= 0", "key 'seeds' must be a non-empty list of integers >= 0")
PIXELS = (
    "[height, width], positive integers",
    "key 'image_size' must be [height, width] in pixels, got {value!r}",
)


def setting(
    meaning: str,
    default: Any = ...,
    *,
    rule: tuple[str, str] | None = None,
    **constraints: Any,
) -> Any:
    """A key of the schema: its meaning (the docs' words, Markdown), its default (none: every
    resolved run has it) and its range (pydantic's ``constraints``, and ``rule``: how the docs
    and the error say them)."""
    extra: JsonDict | None = {"rule": rule[0], "error": rule[1]} if rule else None
    return Field(default, description=meaning, json_schema_extra=extra, **constraints)


class TrainConfig(BaseModel):
    """A run's training settings: one field per key of a spec's config tables.

    ``order`` keeps the keys that were given, in the order they were merged, so that
    :meth:`to_dict` is the very dict a spec resolved to (``run.json`` and the run's key hash
    it). A resolved run has every key without a default (the spec's validation says which is
    missing), and those with one read as their default where they were not given.

    It is read by attribute (``cfg.epochs``), never by key: a misspelt name is a type
    checker's error, not a wrong number in the report.
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", defer_build=True)

    dataset: str = setting(
        "`mnist`, `mnist-5k`, `fashion-mnist`, `cifar10`, `cifar100` (or `fashion-mnist-5k`, "
        "`cifar10-5k`, `cifar100-5k`: their quick subsets of 4,000 / 500 / 500), "
        "`pickles:PATH`, `npz:PATH` or `folder:PATH` ([data.md](data.md))"
    )
    image_size: list[Annotated[int, Field(gt=0)]] | None = setting(
        "for `folder:` images: resized to `[height, width]`",
        None,
        rule=PIXELS,
        min_length=2,
        max_length=2,
    )
    color: Literal["grayscale", "rgb"] | None = setting(
        'for `folder:` images: read as `"grayscale"` or `"rgb"`', None
    )
    builder: str = setting("`module:function` in `models/` (at the top of the file, or per run)")
    model: dict[str, Any] = setting("the builder's keyword arguments", {})
    optimizer: Literal["sgd", "momentum", "adam", "rmsprop"] = setting(
        "`sgd`, `momentum`, `adam` or `rmsprop`"
    )
    learning_rate: Number = setting("the step size (Nielsen's eta)", rule=POSITIVE, gt=0)
    momentum: Number = setting("the momentum of `momentum`", 0.0, rule=NOT_NEGATIVE, ge=0)
    batch_size: int = setting("mini-batch size", rule=AT_LEAST_1, ge=1)
    epochs: int = setting("the most epochs", rule=AT_LEAST_1, ge=1)
    loss: Literal["crossentropy", "mse"] = setting(
        "`crossentropy` (softmax with the log-likelihood cost) or `mse`", "crossentropy"
    )
    seeds: list[Annotated[int, Field(ge=0)]] = setting(
        "the seeds, one run each", rule=SEEDS, min_length=1
    )
    early_stopping: int = setting(
        "stop after this many epochs without a better validation accuracy (0: never)",
        0,
        rule=NOT_NEGATIVE,
        ge=0,
    )
    l2_lambda: Number = setting(
        "Nielsen's lambda: the penalty `0.5 * lambda * sum(w^2) / batches per epoch`, handed "
        "to the builder as the Keras penalty `l2=`",
        0.0,
        rule=NOT_NEGATIVE,
        ge=0,
    )
    l1_lambda: Number = setting(
        "the same for L1: `lambda * sum(abs(w)) / batches`, handed to the builder as `l1=`",
        0.0,
        rule=NOT_NEGATIVE,
        ge=0,
    )
    augment: Literal["none", "expand", "affine", "elastic"] = setting(
        "`none`, `expand` (Nielsen's: the training set five times, shifted by one pixel), "
        "`affine` or `elastic` (random distortions of the training images only)",
        "none",
    )
    _order: tuple[str, ...] = PrivateAttr(default=())

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        """The config of a merged table of config keys (a copy: later edits of ``d`` do not
        reach it).

        Raises:
            KeyError: for a key that is no config key (the spec's validation names it first).
            pydantic.ValidationError: (a ValueError) a key without a default is missing, or a
                value is of the wrong type or out of range.
        """
        unknown = [k for k in d if k not in CONFIG_FIELDS]
        if unknown:
            raise KeyError(f"not a config key: {', '.join(map(repr, unknown))}")
        cfg = cls.model_validate(copy.deepcopy(dict(d)))
        cfg._order = tuple(d)
        return cfg

    @property
    def order(self) -> tuple[str, ...]:
        """The keys given, in the order they were merged."""
        return self._order

    def to_dict(self) -> dict[str, Any]:
        """The config as the plain dict it was merged from: the same keys in the same order."""
        return {k: copy.deepcopy(getattr(self, k)) for k in self._order}

    def with_(self, **changes: Any) -> TrainConfig:
        """This config with ``changes`` (a new key goes last, as ``dict.update`` puts it)."""
        return TrainConfig.from_dict({**self.to_dict(), **changes})


CONFIG_FIELDS = tuple(TrainConfig.model_fields)
# The keys every resolved run has: those without a default.
REQUIRED_CONFIG = tuple(k for k, f in TrainConfig.model_fields.items() if f.is_required())
