"""The keys of an experiment file, declared once: name, type(s), range, choices and meaning.

Validation (:mod:`coursework.records.validate`) is driven by these tables, and the key table
of ``docs/experiments.md`` is generated from them (:func:`config_table`), so that what is
checked and what is documented are one list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TypeSpec = type | tuple[type, ...]


@dataclass(frozen=True)
class Rule:
    """A range a value must be in: ``ok(value)``, else the ``message`` (a format string of
    ``key`` and ``value``); ``doc`` says it in the docs."""

    doc: str
    ok: Callable[[Any], bool]
    message: str

    def check(self, key: str, value: Any) -> str | None:
        """The error of ``value`` for ``key``, None if it is in range."""
        return None if self.ok(value) else self.message.format(key=key, value=value)


def is_a(value: Any, t: TypeSpec) -> bool:
    """``isinstance``, but TOML's ``true`` is no int (nor float)."""
    types = t if isinstance(t, tuple) else (t,)
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, t)


def type_name(t: TypeSpec) -> str:
    """``int or float``: a type as the messages name it."""
    return " or ".join(x.__name__ for x in t) if isinstance(t, tuple) else t.__name__


AT_LEAST_1 = Rule("at least 1", lambda v: v >= 1, "key {key!r} must be at least 1, got {value}")
POSITIVE = Rule("above 0", lambda v: v > 0, "key {key!r} must be positive, got {value}")
NOT_NEGATIVE = Rule("at least 0", lambda v: v >= 0, "key {key!r} must be >= 0, got {value}")
SEEDS = Rule(
    "non-empty, integers >= 0",
    lambda v: bool(v) and all(is_a(s, int) and s >= 0 for s in v),
    "key 'seeds' must be a non-empty list of integers >= 0",
)
PIXELS = Rule(
    "[height, width], positive integers",
    lambda v: len(v) == 2 and all(is_a(x, int) and x > 0 for x in v),
    "key 'image_size' must be [height, width] in pixels, got {value!r}",
)


@dataclass(frozen=True)
class Field:
    """One key of a table of an experiment file.

    Args:
        name: the key.
        types: the type(s) its value may have.
        meaning: what it does, in the docs' words (Markdown).
        choices: the values it may take, if only some.
        rule: the range it must be in, if any.
        required: whether every run must have it (after merging).
        default: the value a run has where no table sets it (``None``: none).
    """

    name: str
    types: TypeSpec
    meaning: str
    choices: tuple[str, ...] = ()
    rule: Rule | None = None
    required: bool = False
    default: Any = None

    def kind(self) -> str:
        """The type, choices and range, as the docs say them."""
        words = [type_name(self.types)]
        if self.choices:
            words.append(f"one of {', '.join(self.choices)}")
        if self.rule is not None:
            words.append(self.rule.doc)
        if self.required:
            words.append("required")
        elif self.default is not None:
            words.append(f"default {self.default!r}")
        return "; ".join(words)


CONFIG_FIELDS: tuple[Field, ...] = (
    Field(
        "dataset",
        str,
        "`mnist`, `mnist-5k`, `fashion-mnist`, `cifar10`, `cifar100` (or `fashion-mnist-5k`, "
        "`cifar10-5k`, `cifar100-5k`: their quick subsets of 4,000 / 500 / 500), "
        "`pickles:PATH`, `npz:PATH` or `folder:PATH` ([data.md](data.md))",
        required=True,
    ),
    Field(
        "image_size",
        list,
        "for `folder:` images: resized to `[height, width]`",
        rule=PIXELS,
    ),
    Field(
        "color",
        str,
        'for `folder:` images: read as `"grayscale"` or `"rgb"`',
        choices=("grayscale", "rgb"),
    ),
    Field(
        "builder",
        str,
        "`module:function` in `models/` (at the top of the file, or per run)",
        required=True,
    ),
    Field("model", dict, "the builder's keyword arguments", default={}),
    Field(
        "optimizer",
        str,
        "`sgd`, `momentum`, `adam` or `rmsprop`",
        choices=("sgd", "momentum", "adam", "rmsprop"),
        required=True,
    ),
    Field(
        "learning_rate",
        (int, float),
        "the step size (Nielsen's eta)",
        rule=POSITIVE,
        required=True,
    ),
    Field(
        "momentum",
        (int, float),
        "the momentum of `momentum`",
        rule=NOT_NEGATIVE,
        default=0.0,
    ),
    Field("batch_size", int, "mini-batch size", rule=AT_LEAST_1, required=True),
    Field("epochs", int, "the most epochs", rule=AT_LEAST_1, required=True),
    Field(
        "loss",
        str,
        "`crossentropy` (softmax with the log-likelihood cost) or `mse`",
        choices=("crossentropy", "mse"),
        default="crossentropy",
    ),
    Field("seeds", list, "the seeds, one run each", rule=SEEDS, required=True),
    Field(
        "early_stopping",
        int,
        "stop after this many epochs without a better validation accuracy (0: never)",
        rule=NOT_NEGATIVE,
        default=0,
    ),
    Field(
        "l2_lambda",
        (int, float),
        "Nielsen's lambda: the penalty `0.5 * lambda * sum(w^2) / batches per epoch`, handed "
        "to the builder as the Keras penalty `l2=`",
        rule=NOT_NEGATIVE,
        default=0.0,
    ),
    Field(
        "l1_lambda",
        (int, float),
        "the same for L1: `lambda * sum(abs(w)) / batches`, handed to the builder as `l1=`",
        rule=NOT_NEGATIVE,
        default=0.0,
    ),
    Field(
        "augment",
        str,
        "`none`, `expand` (Nielsen's: the training set five times, shifted by one pixel), "
        "`affine` or `elastic` (random distortions of the training images only)",
        choices=("none", "expand", "affine", "elastic"),
        default="none",
    ),
)
CONFIG = {f.name: f for f in CONFIG_FIELDS}

# Training config: key -> (type(s), meaning). Every key may appear in defaults, a profile, a run
# or a run's profile table.
CONFIG_KEYS: dict[str, tuple[TypeSpec, str]] = {f.name: (f.types, f.meaning) for f in CONFIG_FIELDS}
CHOICES = {f.name: f.choices for f in CONFIG_FIELDS if f.choices}
REQUIRED_CONFIG = tuple(f.name for f in CONFIG_FIELDS if f.required)
# The values a run has where no table sets them (the first table of every merge), in this order.
BASE_CONFIG: dict[str, Any] = {
    name: CONFIG[name].default
    for name in ("loss", "momentum", "early_stopping", "l2_lambda", "l1_lambda", "augment", "model")
}

TOP_KEYS = {
    "question",
    "title",
    "research_question",
    "hypothesis",
    "builder",
    "defaults",
    "profiles",
    "runs",
    "tune",
}
# Run-only keys: name, description, published (accuracy in %, e.g. Nielsen's), profiles
# (per-profile overrides), only_in (list of profiles the run belongs to; default: all), tune.
RUN_META: dict[str, TypeSpec] = {
    "name": str,
    "description": str,
    "published": (int, float),
    "profiles": dict,
    "only_in": list,
    "tune": dict,
}

# Tuning (Optuna): a question's [tune] table holds the settings of all its tuned runs, a run's
# own `tune` table may change them and names what it searches, in `params`:
#   learning_rate = { low = 0.01, high = 1.0, log = true }   a range (log: a log scale)
#   "model.units" = { low = 16, high = 128, int = true }     a builder argument, integers
#   l2_lambda = [0.01, 0.1, 1.0]                             choices (what `grid` needs)
TUNE_FIELDS: tuple[Field, ...] = (
    Field("sampler", str, "grid, random or tpe (default: tpe)", choices=("grid", "random", "tpe")),
    Field(
        "trials",
        (int, dict),
        "trials per study: a number, or one per profile {quick = 6, full = 20}",
    ),
    Field("epochs", (int, dict), "epochs per trial (default: the run's), or one per profile"),
    Field(
        "prune",
        bool,
        "stop unpromising trials early: Optuna's median pruner on validation "
        "accuracy after each epoch (default: true; never with grid)",
    ),
    Field("seed", int, "the seed of the sampler and of every trial's training (default: 0)"),
    Field(
        "params",
        dict,
        "what to search: config key or model.<builder argument> -> range or list",
    ),
)
TUNE_KEYS: dict[str, tuple[TypeSpec, str]] = {f.name: (f.types, f.meaning) for f in TUNE_FIELDS}
SAMPLERS = TUNE_FIELDS[0].choices
TUNABLE = ("learning_rate", "momentum", "l2_lambda", "l1_lambda", "batch_size", "early_stopping")
PARAM_KEYS = {"low", "high", "log", "int"}

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")  # question and profile names
RUN_NAME_RE = re.compile(r"^[^/\x00-\x1f\s.][^/\x00-\x1f]*(?<=\S)$")  # a folder name: no '/'


def config_table() -> str:
    """The Markdown table of every config key, for ``docs/experiments.md``."""
    rows = ["| key | type | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{f.name}` | {f.kind()} | {f.meaning} |" for f in CONFIG_FIELDS]
    return "\n".join(rows) + "\n"
