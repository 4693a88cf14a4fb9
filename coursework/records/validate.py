"""Checking an experiment file, every mistake at once, against the schema of
:mod:`coursework.records.fields` (pydantic models: the config keys are ``TrainConfig``'s).

Each check returns the list of its errors (never raises), so that :func:`coursework.records.
spec.load` reports them all, each naming the table and the key, before anything trains.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic_core import ErrorDetails

from coursework.records.builders import resolve_builder
from coursework.records.config import CONFIG_FIELDS, REQUIRED_CONFIG, TrainConfig
from coursework.records.errors import SpecError
from coursework.records.fields import (
    NAME_RE,
    PARAM_KEYS,
    RUN_META,
    RUN_NAME_RE,
    TOP_KEYS,
    TUNABLE,
    TUNE_KEYS,
    RunMeta,
    TuneTable,
    choices_of,
    nearest,
    problem,
    rule_of,
    schema_errors,
    type_name,
)

TEXT_KEYS = ("question", "title", "research_question", "hypothesis")


def hint(word: object, options: Iterable[object]) -> str:
    """`` (did you mean 'x'?)`` for the option closest to a misspelled ``word``, else ``""``."""
    close = nearest(word, options)
    return f" (did you mean {close!r}?)" if close else ""


def unknown(what: str, key: str, known: Iterable[str]) -> str:
    """``unknown key 'x'`` with the nearest known key, or the known keys where none is near:
    a typo is fixed from the message alone."""
    names = list(known)
    return f"unknown {what} {key!r}" + (hint(key, names) or f" (known: {', '.join(names)})")


def check_config(table: Any, where: str, extra: tuple[str, ...] = ()) -> list[str]:
    """A table of config keys (``extra``: the other keys allowed there, such as a run's): each
    key's type, then its choices, then its range, one error a key."""
    if not isinstance(table, dict):
        return [f"{where}: must be a table, got {type(table).__name__}"]
    return [
        f"{where}: {_config_error(key, table[key], e, extra)}"
        for key, e in schema_errors(TrainConfig, table).items()
    ]


def _config_error(key: str, value: Any, e: ErrorDetails, extra: tuple[str, ...]) -> str:
    """The words of one key's error (:func:`coursework.records.fields.schema_errors`)."""
    f = TrainConfig.model_fields.get(key)
    what = problem(e, f)
    if f is None or what == "unknown":
        return unknown("key", key, [*CONFIG_FIELDS, *extra])
    if what == "type":
        return (
            f"key {key!r} must be {type_name(f.annotation)}, got {type(value).__name__} {value!r}"
        )
    if what == "choice":
        choices = choices_of(f.annotation)
        return (
            f"key {key!r} must be one of {', '.join(choices)}, got {value!r}{hint(value, choices)}"
        )
    return rule_of(f).get("error", f"key {{key!r}}: {e['msg']}").format(key=key, value=value)


def validate(data: dict[str, Any]) -> list[str]:
    """Every error of a spec's TOML (before its runs are merged)."""
    errors = _check_top(data)
    errors += check_config(data.get("defaults", {}), "[defaults]")
    profiles, more = _check_profiles(data.get("profiles"))
    errors += more
    if "tune" in data:
        errors += check_tune(data["tune"], "[tune]", profiles)
    runs = data.get("runs")
    if not isinstance(runs, list) or not runs:
        errors.append("[[runs]] is required: at least one run")
        return errors
    question_tune = data["tune"] if isinstance(data.get("tune"), dict) else {}
    seen: set[object] = set()
    for i, run in enumerate(runs):
        errors += _check_run_table(run, i, seen, profiles, question_tune)
    return errors


def _check_top(data: dict[str, Any]) -> list[str]:
    """The top-level keys and the question's texts."""
    errors = []
    for key in data:
        if key in CONFIG_FIELDS and key != "builder":
            errors.append(f"top-level key {key!r} is a training setting: put it in [defaults]")
        elif key not in TOP_KEYS:
            errors.append(unknown("top-level key", key, sorted(TOP_KEYS)))
    for key in TEXT_KEYS:
        if not isinstance(data.get(key), str) or not data.get(key, "").strip():
            errors.append(f"key {key!r} is required and must be a non-empty string")
    if isinstance(data.get("question"), str) and not NAME_RE.match(data["question"]):
        errors.append(f"key 'question' must be letters, digits, '_', '-', got {data['question']!r}")
    if "builder" in data and not isinstance(data["builder"], str):
        errors.append("key 'builder' must be a string 'module:function'")
    return errors


def _check_profiles(profiles: Any) -> tuple[dict[str, Any], list[str]]:
    """The [profiles] table (an empty one where it is missing) and its errors."""
    if not isinstance(profiles, dict) or not profiles:
        return {}, [
            "[profiles] is required: a [profiles.quick] table, a [profiles.full] table or both"
        ]
    errors = []  # a file may have only one profile (a quick try): running another says so
    for p, table in profiles.items():
        if not NAME_RE.match(p):
            errors.append(f"profile {p!r}: bad profile name")
        errors += check_config(table, f"profile {p!r}")
    return profiles, errors


def _check_run_table(
    run: Any,
    i: int,
    seen: set[object],
    profiles: dict[str, Any],
    question_tune: dict[str, Any],
) -> list[str]:
    """One [[runs]] table (``seen``: the names so far, to which its own is added)."""
    if not isinstance(run, dict):
        return [f"run #{i + 1}: must be a table"]
    errors = []
    name = run.get("name")
    label = f"run {name!r}" if isinstance(name, str) else f"run #{i + 1}"
    if not isinstance(name, str) or not RUN_NAME_RE.match(name) or len(name) > 100:
        errors.append(
            f"{label}: key 'name' is required: up to 100 characters, no '/', "
            "not starting with '.' or a space"
        )
    elif name in seen:
        errors.append(f"{label}: duplicate run name")
    if isinstance(name, str):  # a list is no name (and no set holds one)
        seen.add(name)
    cfg = {k: v for k, v in run.items() if k not in RUN_META}
    errors += check_config(cfg, label, tuple(RUN_META))
    meta = {k: run[k] for k in RUN_META if k in run}
    for key in schema_errors(RunMeta, meta):
        errors.append(
            f"{label}: key {key!r} must be {type_name(RunMeta.model_fields[key].annotation)}"
        )
    if isinstance(run.get("tune"), dict):
        merged = {**question_tune, **run["tune"]}
        errors += check_tune(run["tune"], f"{label}, tune", profiles, merged)
    for p in run.get("only_in", []) if isinstance(run.get("only_in"), list) else []:
        if p not in profiles:
            errors.append(
                f"{label}: key 'only_in' names profile {p!r}, not in [profiles]{hint(p, profiles)}"
            )
    own = run.get("profiles", {})
    for p, table in own.items() if isinstance(own, dict) else []:
        if p not in profiles:
            errors.append(f"{label}: profile {p!r} is not defined in [profiles]{hint(p, profiles)}")
        errors += check_config(table, f"{label}, profile {p!r}")
    return errors


def check_tune(
    table: Any,
    where: str,
    profiles: dict[str, Any],
    merged: dict[str, Any] | None = None,
) -> list[str]:
    """A [tune] table (``merged``: with the question's, as the run will use it)."""
    if not isinstance(table, dict):
        return [f"{where}: must be a table"]
    found = schema_errors(TuneTable, table)
    errors = []
    for key, e in found.items():
        what = problem(e, TuneTable.model_fields.get(key))
        if what == "unknown":
            errors.append(f"{where}: {unknown('key', key, TUNE_KEYS)}")
        elif what == "type":
            name = type_name(TuneTable.model_fields[key].annotation)
            errors.append(f"{where}: key {key!r} must be {name}, got {table[key]!r}")
    if (
        "sampler" in found
        and problem(found["sampler"], TuneTable.model_fields["sampler"]) != "type"
    ):
        samplers = choices_of(TuneTable.model_fields["sampler"].annotation)
        errors.append(
            f"{where}: key 'sampler' must be one of {', '.join(samplers)}, got "
            f"{table['sampler']!r}{hint(table['sampler'], samplers)}"
        )
    for key in ("trials", "epochs"):
        errors += _check_per_profile(table, key, where, profiles)
    if "seed" in found and problem(found["seed"], TuneTable.model_fields["seed"]) == "range":
        errors.append(f"{where}: {rule_of(TuneTable.model_fields['seed'])['error']}")
    params = table.get("params", {})
    if not isinstance(params, dict):
        return errors
    grid = (merged or table).get("sampler") == "grid"
    for name, space in params.items():
        errors += _check_param(f"{where}: params.{name}", name, space, grid)
    return errors


def _check_per_profile(
    table: dict[str, Any],
    key: str,
    where: str,
    profiles: dict[str, Any],
) -> list[str]:
    """``trials`` or ``epochs``: a positive integer, or one per profile of [profiles]."""
    value = table.get(key)
    values = value if isinstance(value, dict) else {"-": value} if value is not None else {}
    errors = []
    for p, v in values.items():
        if p != "-" and p not in profiles:
            errors.append(
                f"{where}: key {key!r} names profile {p!r}, not in [profiles]{hint(p, profiles)}"
            )
        if type(v) is not int or v < 1:  # an int, not a bool
            errors.append(f"{where}: key {key!r} must be a positive integer, got {v!r}")
    return errors


def _check_param(at: str, name: str, space: Any, grid: bool) -> list[str]:
    """One searched parameter: a config key or ``model.<argument>``, and a list of choices or
    a range (a list only, for ``grid``)."""
    errors = []
    if name not in TUNABLE and not (name.startswith("model.") and len(name) > 6):
        errors.append(
            f"{at}: cannot be tuned{hint(name, TUNABLE)} (tunable: "
            f"{', '.join(TUNABLE)}, or model.<builder argument>)"
        )
    if isinstance(space, list):
        if not space or not all(isinstance(v, (int, float, str)) for v in space):
            errors.append(f"{at}: a list of choices must hold numbers or strings, and at least one")
        return errors or _check_tuned(at, name, space)
    if grid:
        return [*errors, f"{at}: the grid sampler needs a list of values, got a range"]
    if isinstance(space, dict) and set(space) - PARAM_KEYS:
        return errors + [
            f"{at}: {unknown('key', k, sorted(PARAM_KEYS))}" for k in space if k not in PARAM_KEYS
        ]
    if not isinstance(space, dict) or not {"low", "high"} <= set(space):
        return [
            *errors,
            f"{at}: must be a list of choices or a range {{ low = ..., high = ..."
            ", log = true|false, int = true|false }}",
        ]
    errors += _check_range(at, space)
    if errors or name not in TrainConfig.model_fields:
        return errors
    if type_name(TrainConfig.model_fields[name].annotation) == "int" and not space.get("int"):
        return [f"{at}: {name} is an integer: its range needs int = true"]
    return _check_tuned(at, name, [space["low"], space["high"]])


def _check_tuned(at: str, name: str, values: list[Any]) -> list[str]:
    """The values a config key is tuned over (its choices, or a range's ends) are values it
    may take, so that every trial's config is one (``model.<argument>``: the builder's)."""
    if name not in TrainConfig.model_fields:
        return []
    found = [check_config({name: v}, at) for v in values]
    return [e for errors in found for e in errors][:1]


def _check_range(at: str, space: dict[str, Any]) -> list[str]:
    """A range ``{ low, high, log, int }``: numbers, not empty, above zero on a log scale."""
    low, high = space["low"], space["high"]
    if not (type(low) in (int, float) and type(high) in (int, float)):  # bools are not
        return [f"{at}: low and high must be numbers"]
    if low >= high:
        return [f"{at}: the range [{low}, {high}] is empty (low must be below high)"]
    if space.get("log") and low <= 0:
        return [f"{at}: a log range must be above zero, got [{low}, {high}]"]
    if space.get("int") and not (type(low) is int and type(high) is int):
        return [f"{at}: an int range needs integer low and high"]
    return []


def check_run(
    merged: Mapping[str, Any],
    tuned: Mapping[str, Any],
    builders: bool = True,
) -> list[str]:
    """A merged run: its required keys, and (``builders``) that its builder exists and takes
    every argument the run gives it.

    Args:
        merged: the run's merged table of config keys (each table of it already checked).
        tuned: the parameters its study searches (``model.<argument>`` among them).
        builders: whether to import the builder (``models/``) and check its arguments.
    """
    missing = [k for k in REQUIRED_CONFIG if k not in merged]
    errors = [f"key {k!r} is not set (put it in [defaults])" for k in missing]
    builder = merged.get("builder")
    if builder is None or not builders:
        return errors
    try:
        fn = resolve_builder(builder)
    except SpecError as exc:
        return errors + [f"key 'builder': {exc}"]
    model = merged.get("model", {})
    # the penalties a run hands its builder (builders.penalties): l1=, l2= where not 0
    kwargs = {**model, **{k: 0 for k in ("l1", "l2") if merged.get(f"{k}_lambda")}}
    kwargs.update({k[6:]: None for k in tuned if k.startswith("model.")})
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return errors
    takes = list(params)[2:]
    for k in kwargs:
        if k not in params or k in ("input_shape", "num_classes"):
            where = f"model.{k}" if k in model or f"model.{k}" in tuned else f"{k}_lambda"
            errors.append(
                f"key {where!r}: builder {builder} takes no argument "
                f"{k!r}" + (hint(k, takes) or f" (it takes: {', '.join(takes)})")
            )
    return errors


def places(by_run: dict[str, list[str]], runs: set[str]) -> list[str]:
    """Where one error of the merged runs is: ``run 'a', profiles 'quick', 'full'``, once for
    the runs that share their profiles (``every run`` where all do; a mistake in [defaults]
    is in every run and profile, and is one line, not one per run and profile)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for run, profiles in by_run.items():
        groups.setdefault(tuple(profiles), []).append(run)
    out = []
    for shared, names in groups.items():
        who = (
            "every run"
            if len(names) > 1 and set(names) == runs
            else f"run{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))}"
        )
        out.append(f"{who}, profile{'s' if len(shared) > 1 else ''} {', '.join(map(repr, shared))}")
    return out
