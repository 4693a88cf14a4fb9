"""Experiment specs: one TOML file per research question, validated before anything trains.

A spec (``experiments/<question>.toml``) holds::

    question = "conv"                      # id: results/<profile>/<question>/
    title = "..."
    research_question = "..."
    hypothesis = "..."
    builder = "conv:build"                 # function build(input_shape, num_classes, **model)
                                           # in models/conv.py
    [defaults]                             # training config, see CONFIG_KEYS
    [profiles.quick] / [profiles.full]     # override defaults
    [[runs]]                               # name = "...", then any config key, plus
                                           # description, published, and [runs.profiles.<p>]
    [tune]                                 # optional: how tuned runs search (see TUNE_KEYS);
                                           # a run is tuned by its own tune.params table

A run's config is resolved as defaults < profile < run < the run's own profile table; the
``model`` tables (builder keyword arguments) are merged key by key.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import inspect
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from coursework.records import data as datasets
from coursework.records import results
from coursework.records.errors import SpecError
from coursework.records.project import EXPERIMENTS
from coursework.records.record import TrainConfig

EXPERIMENTS_DIR = EXPERIMENTS

# Run-only keys: name, description, published (accuracy in %, e.g. Nielsen's), profiles (per-profile
# overrides), only_in (list of profiles the run belongs to; default: all).

# Training config: key -> (type(s), meaning). Every key may appear in defaults, a profile, a run
# or a run's profile table.
CONFIG_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "dataset": (
        str,
        "mnist, mnist-5k, fashion-mnist, cifar10, cifar100 (NAME-5k: a subset of "
        "mnist-5k's size), pickles:PATH, npz:PATH or folder:PATH",
    ),
    "image_size": (list, "[height, width] images of a folder: dataset are resized to"),
    "color": (str, "grayscale or rgb: how images of a folder: dataset are read"),
    "builder": (str, "module:function in models/"),
    "model": (dict, "keyword arguments for the builder"),
    "optimizer": (str, "sgd, momentum, adam or rmsprop"),
    "learning_rate": ((int, float), "step size (Nielsen's eta)"),
    "momentum": ((int, float), "momentum coefficient for optimizer 'momentum'"),
    "batch_size": (int, "mini-batch size"),
    "epochs": (int, "maximum number of epochs"),
    "loss": (str, "crossentropy (softmax + log-likelihood) or mse"),
    "seeds": (list, "list of integer seeds, one run each"),
    "early_stopping": (int, "patience in epochs on validation accuracy; 0 = off"),
    "l2_lambda": ((int, float), "Nielsen's L2 lambda (see models.common.keras_penalty)"),
    "l1_lambda": ((int, float), "L1 lambda, same convention as l2_lambda"),
    "augment": (str, "none, expand, affine or elastic"),
}
CHOICES = {
    "optimizer": ("sgd", "momentum", "adam", "rmsprop"),
    "loss": ("crossentropy", "mse"),
    "augment": ("none", "expand", "affine", "elastic"),
    "color": ("grayscale", "rgb"),
}
REQUIRED_CONFIG = (
    "dataset",
    "builder",
    "optimizer",
    "learning_rate",
    "batch_size",
    "epochs",
    "seeds",
)
BASE_CONFIG: dict[str, Any] = {
    "loss": "crossentropy",
    "momentum": 0.0,
    "early_stopping": 0,
    "l2_lambda": 0.0,
    "l1_lambda": 0.0,
    "augment": "none",
    "model": {},
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
RUN_META = {
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
TUNE_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "sampler": (str, "grid, random or tpe (default: tpe)"),
    "trials": (
        (int, dict),
        "trials per study: a number, or one per profile {quick = 6, full = 20}",
    ),
    "epochs": ((int, dict), "epochs per trial (default: the run's), or one per profile"),
    "prune": (
        bool,
        "stop unpromising trials early: Optuna's median pruner on validation "
        "accuracy after each epoch (default: true; never with grid)",
    ),
    "seed": (int, "the seed of the sampler and of every trial's training (default: 0)"),
    "params": (dict, "what to search: config key or model.<builder argument> -> range or list"),
}
SAMPLERS = ("grid", "random", "tpe")
TUNABLE = ("learning_rate", "momentum", "l2_lambda", "l1_lambda", "batch_size", "early_stopping")
PARAM_KEYS = {"low", "high", "log", "int"}


@dataclass(frozen=True)
class Tune:
    """How a run is tuned under one profile: the search space and the study's settings."""

    params: dict[str, Any]
    sampler: str = "tpe"
    trials: int = 10
    epochs: int | None = None
    prune: bool = True
    seed: int = 0

    @property
    def pruning(self) -> bool:
        return self.prune and self.sampler != "grid"

    @property
    def size(self) -> int:
        """The number of trials: as asked, and for ``grid`` at most the grid's points."""
        if self.sampler != "grid":
            return self.trials
        points = 1
        for choices in self.params.values():
            points *= len(choices)
        return min(self.trials, points)


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")  # question and profile names
RUN_NAME_RE = re.compile(r"^[^/\x00-\x1f\s.][^/\x00-\x1f]*(?<=\S)$")  # a folder name: no '/'


@dataclass(frozen=True)
class Run:
    """One run of a question under one profile: everything needed to train it."""

    question: str
    name: str
    profile: str
    config: TrainConfig
    description: str = ""
    published: float | None = None
    spec_file: str = ""
    tune: Tune | None = None

    def __post_init__(self) -> None:
        # a merged dict (replace(run, config={...})) becomes its typed config
        if not isinstance(self.config, TrainConfig):
            object.__setattr__(self, "config", TrainConfig.from_dict(self.config))

    @property
    def seeds(self) -> list[int]:
        return list(self.config["seeds"])


@dataclass
class Spec:
    path: Path
    question: str
    title: str
    research_question: str
    hypothesis: str
    defaults: dict[str, Any]
    profiles: dict[str, dict[str, Any]]
    runs: list[dict[str, Any]] = field(default_factory=list)
    tune: dict[str, Any] = field(default_factory=dict)

    def resolve(self, profile: str) -> list[Run]:
        """The runs of this question under ``profile`` (or a results set such as
        ``quick@bees-1a2b3c``), with fully merged configs."""
        profile = results.profile_of(profile)
        if profile not in self.profiles:
            raise SpecError(
                f"{self.path}: no profile {profile!r} (it has: {', '.join(self.profiles)})"
            )
        out = []
        for raw in self.runs:
            if "only_in" in raw and profile not in raw["only_in"]:
                continue
            cfg = _merge(
                BASE_CONFIG,
                self.defaults,
                self.profiles[profile],
                {k: v for k, v in raw.items() if k in CONFIG_KEYS},
                raw.get("profiles", {}).get(profile, {}),
            )
            out.append(
                Run(
                    self.question,
                    raw["name"],
                    profile,
                    TrainConfig.from_dict(cfg),
                    raw.get("description", ""),
                    raw.get("published"),
                    str(self.path),
                    self._tune(raw, profile),
                )
            )
        return out

    def _tune(self, raw: dict, profile: str) -> Tune | None:
        """The run's tuning under ``profile``: the question's [tune] table, then its own."""
        table = {**self.tune, **raw.get("tune", {})}
        if not table.get("params"):
            return None

        def per_profile(key: str, default):
            value = table.get(key, default)
            return value.get(profile, default) if isinstance(value, dict) else value

        return Tune(
            dict(table["params"]),
            table.get("sampler", "tpe"),
            per_profile("trials", 10),
            per_profile("epochs", None),
            table.get("prune", True),
            table.get("seed", 0),
        )

    def tasks(
        self,
        profile: str,
        only: list[str] | None = None,
        seeds: list[int] | None = None,
        on: str | None = None,
    ) -> list[tuple[Run, int]]:
        """Every (run, seed) to train, in a fixed order (runs as in the spec, then seeds): the
        ``only`` runs if given, the ``seeds`` if given, all on dataset ``on`` if given. A
        Slurm array task's index is a position in this list.

        The quick profile takes a named ``on`` in its quick form (``fashion-mnist`` ->
        ``fashion-mnist-5k``, :func:`coursework.records.data.quick_form`): mnist-5k's budget,
        so that quick means minutes on any dataset; the results set is still named after
        ``on`` as given (:func:`coursework.records.results.set_name`)."""
        runs = self.resolve(profile)
        if on:
            if results.profile_of(profile) == "quick":
                on = datasets.quick_form(on)
            runs = [replace(r, config=r.config.with_(dataset=on)) for r in runs]
        if only:
            unknown = sorted(set(only) - {r.name for r in runs})
            if unknown:
                raise SpecError(
                    f"{self.path}: no run named {', '.join(unknown)} "
                    f"(runs: {', '.join(r.name for r in runs)})"
                )
            runs = [r for r in runs if r.name in only]
        return [(r, s) for r in runs for s in (seeds if seeds is not None else r.seeds)]

    def baseline(self) -> str:
        """The question's baseline run: the first in the spec."""
        return self.runs[0]["name"]


def spec_path(question_or_path: str) -> Path:
    """``conv`` -> ``experiments/conv.toml`` (in the project, wherever you run from); a path
    to a .toml file is taken as it is, relative to the current folder."""
    given = Path(question_or_path)
    if question_or_path.endswith(".toml") or len(given.parts) > 1:
        return given
    known = EXPERIMENTS_DIR / f"{question_or_path}.toml"
    return given if given.is_dir() and not known.exists() else known


def trained_spec(results_dir: Path, results_set: str, question: str) -> Spec | None:
    """The spec a question's runs were trained from (recorded beside them), None if absent.
    Read without importing the model builders: plots, report and verify need no Keras."""
    path = results.spec_copy(results_dir, results_set, question)
    try:
        return load(str(path), builders=False) if path.exists() else None
    except SpecError:
        return None


def run_order(results_dir: Path, results_set: str, question: str) -> list[str]:
    """The run names of a question in spec order (the baseline first), from its recorded spec."""
    s = trained_spec(results_dir, results_set, question)
    ok = s is not None and results.profile_of(results_set) in s.profiles
    return [r.name for r in s.resolve(results_set)] if ok else []


def penalties(cfg: dict[str, Any]) -> dict[str, float]:
    """Nielsen's lambdas that become the builder's ``l1`` / ``l2`` keyword arguments."""
    return {k: float(cfg[f"{k}_lambda"]) for k in ("l1", "l2") if cfg.get(f"{k}_lambda")}


def all_questions() -> list[str]:
    """Question ids of every spec in ``experiments/``, in file-name order."""
    return [p.stem for p in sorted(EXPERIMENTS_DIR.glob("*.toml"))]


def load(question_or_path: str, builders: bool = True) -> Spec:
    """Read and completely validate a spec; raise SpecError listing every problem.
    ``builders``: also check each run's builder and its arguments (imports ``models/``)."""
    path = spec_path(question_or_path)
    if path.is_dir():
        raise SpecError(f"{path}: is a folder; give a question id (e.g. conv) or a .toml file")
    if not path.exists():
        known = ", ".join(all_questions()) or "none"
        raise SpecError(f"{path}: no such spec (questions in {EXPERIMENTS_DIR}/: {known})")
    try:
        # utf-8-sig: a byte-order mark (some Windows editors write one) is not an error
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    errors = _validate(data)
    if errors:
        raise SpecError("\n".join(f"{path}: {e}" for e in errors))
    defaults = dict(data.get("defaults", {}))
    if "builder" in data:
        defaults.setdefault("builder", data["builder"])
    spec = Spec(
        path,
        data["question"],
        data["title"],
        data["research_question"],
        data["hypothesis"],
        defaults,
        data["profiles"],
        data["runs"],
        data.get("tune", {}),
    )
    found: dict[str, dict[str, list[str]]] = {}  # error -> run -> the profiles it is in
    for profile in spec.profiles:
        for run in spec.resolve(profile):
            for e in _check_run(run, builders):
                found.setdefault(e, {}).setdefault(run.name, []).append(profile)
    if found:
        runs = {r["name"] for r in spec.runs}
        raise SpecError(
            "\n".join(
                f"{path}: {where}: {e}"
                for e, by_run in found.items()
                for where in _places(by_run, runs)
            )
        )
    return spec


def _places(by_run: dict[str, list[str]], runs: set[str]) -> list[str]:
    """Where one error of the merged runs is: ``run 'a', profiles 'quick', 'full'``, once for
    the runs that share their profiles (``every run`` where all do; a mistake in [defaults]
    is in every run and profile, and is one line, not one per run and profile)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for run, profiles in by_run.items():
        groups.setdefault(tuple(profiles), []).append(run)
    out = []
    for profiles, names in groups.items():
        who = (
            "every run"
            if len(names) > 1 and set(names) == runs
            else f"run{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))}"
        )
        out.append(
            f"{who}, profile{'s' if len(profiles) > 1 else ''} {', '.join(map(repr, profiles))}"
        )
    return out


# --------------------------------------------------------------------------- validation


def _hint(word: str, options) -> str:
    """`` (did you mean 'x'?)`` for the option closest to a misspelled ``word``, else ``""``."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown(what: str, key: str, known) -> str:
    """``unknown key 'x'`` with the nearest known key, or the known keys where none is near:
    a typo is fixed from the message alone."""
    known = list(known)
    return f"unknown {what} {key!r}" + (_hint(key, known) or f" (known: {', '.join(known)})")


def _type_name(t) -> str:
    return " or ".join(x.__name__ for x in t) if isinstance(t, tuple) else t.__name__


def _is(value, t) -> bool:
    types = t if isinstance(t, tuple) else (t,)
    if isinstance(value, bool) and bool not in types:
        return False  # TOML true is not an int
    return isinstance(value, t)


def _check_config(table: Any, where: str, extra: tuple[str, ...] = ()) -> list[str]:
    """A table of config keys (``extra``: the other keys allowed there, such as a run's)."""
    if not isinstance(table, dict):
        return [f"{where}: must be a table, got {type(table).__name__}"]
    errors = []
    for key, value in table.items():
        if key not in CONFIG_KEYS:
            errors.append(f"{where}: {_unknown('key', key, [*CONFIG_KEYS, *extra])}")
            continue
        t = CONFIG_KEYS[key][0]
        if not _is(value, t):
            errors.append(
                f"{where}: key {key!r} must be {_type_name(t)}, got "
                f"{type(value).__name__} {value!r}"
            )
        elif key in CHOICES and value not in CHOICES[key]:
            errors.append(
                f"{where}: key {key!r} must be one of {', '.join(CHOICES[key])}, "
                f"got {value!r}{_hint(value, CHOICES[key])}"
            )
        elif key == "seeds" and (not value or not all(_is(s, int) and s >= 0 for s in value)):
            errors.append(f"{where}: key 'seeds' must be a non-empty list of integers >= 0")
        elif key == "image_size" and (
            len(value) != 2 or not all(_is(v, int) and v > 0 for v in value)
        ):
            errors.append(
                f"{where}: key 'image_size' must be [height, width] in pixels, got {value!r}"
            )
        elif key in ("batch_size", "epochs") and value < 1:
            errors.append(f"{where}: key {key!r} must be at least 1, got {value}")
        elif key in ("learning_rate",) and value <= 0:
            errors.append(f"{where}: key {key!r} must be positive, got {value}")
        elif key in ("l2_lambda", "l1_lambda", "momentum", "early_stopping") and value < 0:
            errors.append(f"{where}: key {key!r} must be >= 0, got {value}")
    return errors


def _validate(data: dict) -> list[str]:
    errors = []
    for key in data:
        if key in CONFIG_KEYS and key != "builder":
            errors.append(f"top-level key {key!r} is a training setting: put it in [defaults]")
        elif key not in TOP_KEYS:
            errors.append(_unknown("top-level key", key, sorted(TOP_KEYS)))
    for key in ("question", "title", "research_question", "hypothesis"):
        if not isinstance(data.get(key), str) or not data.get(key, "").strip():
            errors.append(f"key {key!r} is required and must be a non-empty string")
    if isinstance(data.get("question"), str) and not NAME_RE.match(data["question"]):
        errors.append(f"key 'question' must be letters, digits, '_', '-', got {data['question']!r}")
    if "builder" in data and not isinstance(data["builder"], str):
        errors.append("key 'builder' must be a string 'module:function'")
    errors += _check_config(data.get("defaults", {}), "[defaults]")
    profiles = data.get("profiles")
    if not isinstance(profiles, dict) or not profiles:
        errors.append("[profiles] is required, with at least [profiles.quick] and [profiles.full]")
        profiles = {}
    else:
        for p in ("quick", "full"):
            if p not in profiles:
                errors.append(f"profile {p!r} is missing: add a [profiles.{p}] table")
        for p, table in profiles.items():
            if not NAME_RE.match(p):
                errors.append(f"profile {p!r}: bad profile name")
            errors += _check_config(table, f"profile {p!r}")
    if "tune" in data:
        errors += _check_tune(data["tune"], "[tune]", profiles)
    runs = data.get("runs")
    if not isinstance(runs, list) or not runs:
        errors.append("[[runs]] is required: at least one run")
        return errors
    seen = set()
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            errors.append(f"run #{i + 1}: must be a table")
            continue
        name = run.get("name")
        label = f"run {name!r}" if isinstance(name, str) else f"run #{i + 1}"
        if not isinstance(name, str) or not RUN_NAME_RE.match(name) or len(name) > 100:
            errors.append(
                f"{label}: key 'name' is required: up to 100 characters, no '/', "
                "not starting with '.' or a space"
            )
        elif name in seen:
            errors.append(f"{label}: duplicate run name")
        seen.add(name)
        cfg = {k: v for k, v in run.items() if k not in RUN_META}
        errors += _check_config(cfg, label, tuple(RUN_META))
        for key, t in RUN_META.items():
            if key in run and not _is(run[key], t):
                errors.append(f"{label}: key {key!r} must be {_type_name(t)}")
        if isinstance(run.get("tune"), dict):
            merged = {**(data["tune"] if isinstance(data.get("tune"), dict) else {}), **run["tune"]}
            errors += _check_tune(run["tune"], f"{label}, tune", profiles, merged)
        for p in run.get("only_in", []) if isinstance(run.get("only_in"), list) else []:
            if p not in profiles:
                errors.append(
                    f"{label}: key 'only_in' names profile {p!r}, not in [profiles]"
                    f"{_hint(p, profiles)}"
                )
        for p, table in (
            run.get("profiles", {}).items() if isinstance(run.get("profiles"), dict) else []
        ):
            if p not in profiles:
                errors.append(
                    f"{label}: profile {p!r} is not defined in [profiles]{_hint(p, profiles)}"
                )
            errors += _check_config(table, f"{label}, profile {p!r}")
    return errors


def _check_tune(table: Any, where: str, profiles: dict, merged: dict | None = None) -> list[str]:
    """A [tune] table (``merged``: with the question's, as the run will use it)."""
    if not isinstance(table, dict):
        return [f"{where}: must be a table"]
    errors = []
    for key, value in table.items():
        if key not in TUNE_KEYS:
            errors.append(f"{where}: {_unknown('key', key, TUNE_KEYS)}")
        elif not _is(value, TUNE_KEYS[key][0]):
            errors.append(
                f"{where}: key {key!r} must be {_type_name(TUNE_KEYS[key][0])}, got {value!r}"
            )
    if table.get("sampler", "tpe") not in SAMPLERS:
        errors.append(
            f"{where}: key 'sampler' must be one of {', '.join(SAMPLERS)}, got "
            f"{table['sampler']!r}{_hint(table['sampler'], SAMPLERS)}"
        )
    for key in ("trials", "epochs"):
        value = table.get(key)
        values = value if isinstance(value, dict) else {"-": value} if value is not None else {}
        for p, v in values.items():
            if p != "-" and p not in profiles:
                errors.append(
                    f"{where}: key {key!r} names profile {p!r}, not in [profiles]"
                    f"{_hint(p, profiles)}"
                )
            if not _is(v, int) or v < 1:
                errors.append(f"{where}: key {key!r} must be a positive integer, got {v!r}")
    if "seed" in table and _is(table["seed"], int) and table["seed"] < 0:
        errors.append(f"{where}: key 'seed' must be >= 0")
    params = table.get("params", {})
    if not isinstance(params, dict):
        return errors
    grid = (merged or table).get("sampler") == "grid"
    for name, space in params.items():
        at = f"{where}: params.{name}"
        if name not in TUNABLE and not (name.startswith("model.") and len(name) > 6):
            errors.append(
                f"{at}: cannot be tuned{_hint(name, TUNABLE)} (tunable: "
                f"{', '.join(TUNABLE)}, or model.<builder argument>)"
            )
        if isinstance(space, list):
            if not space or not all(_is(v, (int, float, str, bool)) for v in space):
                errors.append(
                    f"{at}: a list of choices must hold numbers or strings, and at least one"
                )
            continue
        if grid:
            errors.append(f"{at}: the grid sampler needs a list of values, got a range")
            continue
        if isinstance(space, dict) and set(space) - PARAM_KEYS:
            errors += [
                f"{at}: {_unknown('key', k, sorted(PARAM_KEYS))}"
                for k in space
                if k not in PARAM_KEYS
            ]
            continue
        if not isinstance(space, dict) or not {"low", "high"} <= set(space):
            errors.append(
                f"{at}: must be a list of choices or a range {{ low = ..., high = ..."
                ", log = true|false, int = true|false }}"
            )
            continue
        low, high = space["low"], space["high"]
        if not (_is(low, (int, float)) and _is(high, (int, float))):
            errors.append(f"{at}: low and high must be numbers")
        elif low >= high:
            errors.append(f"{at}: the range [{low}, {high}] is empty (low must be below high)")
        elif space.get("log") and low <= 0:
            errors.append(f"{at}: a log range must be above zero, got [{low}, {high}]")
        elif space.get("int") and not (_is(low, int) and _is(high, int)):
            errors.append(f"{at}: an int range needs integer low and high")
    return errors


def apply_params(cfg: Mapping[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """``cfg`` with tuned values: ``learning_rate`` sets the key, ``model.units`` the
    builder argument ``units``."""
    out = copy.deepcopy(dict(cfg))
    for name, value in params.items():
        if name.startswith("model."):
            out["model"] = {**out.get("model", {}), name[6:]: value}
        else:
            out[name] = value
    return out


def chosen(results_dir: Path, results_set: str, run: Run) -> dict | None:
    """A tuned run's ``best.json`` (the parameters its study chose), None if not tuned yet."""
    path = results.tune_dir(results_dir, results_set, run.question, run.name) / results.BEST
    return results.read_json(path) if path.exists() else None


def tuned(results_dir: Path, results_set: str, run: Run) -> Run:
    """``run`` with the parameters its study chose (an untuned run as it is); SpecError if the
    run is tuned and its study has not finished."""
    if run.tune is None:
        return run
    best = chosen(results_dir, results_set, run)
    if best is None:
        raise SpecError(
            f"{run.spec_file}: run {run.name!r} is tuned and its study has not "
            f"finished: make tune QUESTION={run.question} (or run it without "
            "--task; after Slurm tasks: collect)"
        )
    return replace(run, config=apply_params(run.config, best["params"]))


def _check_run(run: Run, builders: bool = True) -> list[str]:
    cfg = run.config
    errors = [
        f"key {k!r} is not set (put it in [defaults])" for k in REQUIRED_CONFIG if k not in cfg
    ]
    if "builder" in cfg and builders:
        try:
            fn = resolve_builder(cfg["builder"])
        except SpecError as exc:
            return errors + [f"key 'builder': {exc}"]
        kwargs = {**cfg["model"], **penalties(cfg)}
        if run.tune is not None:
            kwargs.update({k[6:]: None for k in run.tune.params if k.startswith("model.")})
        params = inspect.signature(fn).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            for k in kwargs:
                if k not in params or k in ("input_shape", "num_classes"):
                    tuned_arg = run.tune is not None and f"model.{k}" in run.tune.params
                    where = f"model.{k}" if k in cfg["model"] or tuned_arg else f"{k}_lambda"
                    takes = list(params)[2:]
                    errors.append(
                        f"key {where!r}: builder {cfg['builder']} takes no argument "
                        f"{k!r}" + (_hint(k, takes) or f" (it takes: {', '.join(takes)})")
                    )
    return errors


def resolve_builder(ref: str):
    """``"conv:build"`` -> the function ``models.conv.build``."""
    module, _, func = ref.partition(":")
    if not module or not func:
        raise SpecError(f"builder {ref!r} must look like 'module:function' (a module in models/)")
    try:
        mod = importlib.import_module(f"models.{module}")
    except ModuleNotFoundError as exc:
        raise SpecError(f"builder {ref!r}: no module models/{module}.py ({exc})") from exc
    fn = getattr(mod, func, None)
    if not callable(fn):
        raise SpecError(f"builder {ref!r}: models/{module}.py has no function {func!r}")
    return fn


def _merge(*tables: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in tables:
        for k, v in t.items():
            if k == "model":
                out["model"] = {**out.get("model", {}), **copy.deepcopy(v)}
            else:
                out[k] = copy.deepcopy(v)
    return out
