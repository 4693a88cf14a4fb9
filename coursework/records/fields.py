"""The keys of an experiment file, declared once, as pydantic models: the config keys are
:class:`coursework.records.config.TrainConfig`'s fields, a run's own keys :class:`RunMeta`'s
and a [tune] table's :class:`TuneTable`'s (type, choices, range, default and meaning each).

Validation (:mod:`coursework.records.validate`, and ``report.toml``'s in
:mod:`coursework.report.settings`) checks a table against such a model and words each error
from it (:func:`schema_errors`, :func:`problem`); the key table of ``docs/experiments.md`` is
generated from the same fields (:func:`config_table`), so that what is checked and what is
documented are one list.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from coursework.records.config import Number, TrainConfig, setting

CONFIG = TrainConfig.model_fields
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


class RunMeta(BaseModel):
    """A [[runs]] table's own keys, beside its config keys."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", defer_build=True)

    name: str = setting("the run's name: its folder, in the report's tables and figures")
    description: str = setting("the report's table of runs says it", "")
    published: Number | None = setting("a figure to compare with, in %, e.g. Nielsen's", None)
    profiles: dict[str, Any] = setting("per-profile overrides of its config", {})
    only_in: list[Any] | None = setting("the profiles it belongs to (default: all)", None)
    tune: dict[str, Any] = setting("its own [tune] settings and what it searches", {})


RUN_META = tuple(RunMeta.model_fields)


# Tuning (Optuna): a question's [tune] table holds the settings of all its tuned runs, a run's
# own `tune` table may change them and names what it searches, in `params`:
#   learning_rate = { low = 0.01, high = 1.0, log = true }   a range (log: a log scale)
#   "model.units" = { low = 16, high = 128, int = true }     a builder argument, integers
#   l2_lambda = [0.01, 0.1, 1.0]                             choices (what `grid` needs)
class TuneTable(BaseModel):
    """A [tune] table: how a question's (or a run's) studies search."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", defer_build=True)

    sampler: Literal["grid", "random", "tpe"] = setting("grid, random or tpe", "tpe")
    trials: int | dict[str, Any] = setting(
        "trials per study: a number, or one per profile {quick = 6, full = 20}", 10
    )
    epochs: int | dict[str, Any] | None = setting(
        "epochs per trial (default: the run's), or one per profile", None
    )
    prune: bool = setting(
        "stop unpromising trials early: Optuna's median pruner on validation "
        "accuracy after each epoch (never with grid)",
        True,
    )
    seed: int = setting(
        "the seed of the sampler and of every trial's training",
        0,
        rule=("at least 0", "key 'seed' must be >= 0"),
        ge=0,
    )
    params: dict[str, Any] = setting(
        "what to search: config key or model.<builder argument> -> range or list", {}
    )


TUNE_KEYS = tuple(TuneTable.model_fields)
TUNABLE = ("learning_rate", "momentum", "l2_lambda", "l1_lambda", "batch_size", "early_stopping")
PARAM_KEYS = {"low", "high", "log", "int"}

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")  # question and profile names
RUN_NAME_RE = re.compile(r"^[^/\x00-\x1f\s.][^/\x00-\x1f]*(?<=\S)$")  # a folder name: no '/'


def nearest(word: object, options: Iterable[object]) -> str | None:
    """The option closest to a misspelled ``word``, None where none is near."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return close[0] if close else None


def _members(annotation: Any) -> list[Any]:
    """The types a field's value may have (a union's members, ``None`` left out)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return [a for a in get_args(annotation) if a is not type(None)]
    return [annotation]


def choices_of(annotation: Any) -> tuple[Any, ...]:
    """The values a ``Literal`` field may take, () for any other."""
    return tuple(c for a in _members(annotation) if get_origin(a) is Literal for c in get_args(a))


def type_name(annotation: Any) -> str:
    """``int or float``: a field's type as the messages and the docs name it, in TOML's words
    (a choice of strings is a ``str``, a list of ints a ``list``)."""
    names = []
    for a in _members(annotation):
        if get_origin(a) is Literal:
            names.append(type(get_args(a)[0]).__name__)
        else:
            names.append((get_origin(a) or a).__name__)
    return " or ".join(names)


def rule_of(f: FieldInfo) -> dict[str, str]:
    """A field's range in words: ``rule`` (the docs') and ``error`` (a format string of ``key``
    and ``value``); {} where it has none."""
    extra = f.json_schema_extra
    return {str(k): str(v) for k, v in extra.items()} if isinstance(extra, dict) else {}


def schema_errors(model: type[BaseModel], table: Mapping[str, Any]) -> dict[str, ErrorDetails]:
    """The first error of each key of ``table`` checked against ``model``, in the table's order
    (by the name the file uses: a field's alias). A key the model requires and the table lacks
    is none: a table may set only some keys."""
    try:
        model.model_validate(table)
    except ValidationError as exc:
        found: dict[str, ErrorDetails] = {}
        for e in exc.errors():
            found.setdefault(str(e["loc"][0]), e)
        return {k: found[k] for k in table if k in found}  # a key it lacks is not in it
    return {}


def problem(e: ErrorDetails, f: FieldInfo | None) -> str:
    """What an error of :func:`schema_errors` is: ``unknown`` (no such key), ``type`` (a value of
    the wrong type), ``choice`` (a value of the right type that is not a choice) or ``range``
    (the rest: out of range, or a list's item that is wrong)."""
    if e["type"] == "extra_forbidden" or f is None:
        return "unknown"
    if e["type"].endswith("_type") and all(isinstance(p, str) for p in e["loc"][1:]):
        return "type"
    if e["type"] == "literal_error":
        return "choice" if type(e["input"]) in map(type, choices_of(f.annotation)) else "type"
    return "range"


def kind(f: FieldInfo) -> str:
    """A field's type, choices, range and default, as the docs say them."""
    words = [type_name(f.annotation)]
    if choices := choices_of(f.annotation):
        words.append(f"one of {', '.join(choices)}")
    if rule := rule_of(f).get("rule"):
        words.append(rule)
    if f.is_required():
        words.append("required")
    elif f.default is not None:
        words.append(f"default {f.default!r}")
    return "; ".join(words)


def config_table() -> str:
    """The Markdown table of every config key, for ``docs/experiments.md``."""
    rows = ["| key | type | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{name}` | {kind(CONFIG[name])} | {CONFIG[name].description} |" for name in CONFIG]
    return "\n".join(rows) + "\n"
