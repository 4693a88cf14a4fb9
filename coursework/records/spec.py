"""Experiment specs: one TOML file per research question, validated before anything trains.

A spec (``experiments/<question>.toml``) holds::

    question = "conv"                      # id: results/<profile>/<question>/
    title = "..."
    research_question = "..."
    hypothesis = "..."
    builder = "conv:build"                 # function build(input_shape, num_classes, **model)
                                           # in models/conv.py
    [defaults]                             # training config, see TrainConfig
    [profiles.quick] / [profiles.full]     # override defaults
    [[runs]]                               # name = "...", then any config key, plus
                                           # description, published, and [runs.profiles.<p>]
    [tune]                                 # optional: how tuned runs search (TuneTable);
                                           # a run is tuned by its own tune.params table

A run's config is resolved as defaults < profile < run < the run's own profile table; the
``model`` tables (builder keyword arguments) are merged key by key.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from coursework.records import layout, storage
from coursework.records.config import CONFIG_FIELDS, TrainConfig
from coursework.records.datanames import quick_form
from coursework.records.errors import SpecError
from coursework.records.fields import BASE_CONFIG, TuneTable
from coursework.records.project import EXPERIMENTS
from coursework.records.validate import check_run, places, validate

EXPERIMENTS_DIR = EXPERIMENTS


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

    @property
    def startup_trials(self) -> int:
        """TPE's first trials, sampled at random (from the seed and the number alone)."""
        return max(2, self.size // 3)


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

    @property
    def seeds(self) -> list[int]:
        return list(self.config.seeds)


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
        profile = layout.profile_of(profile)
        return [
            Run(
                self.question,
                raw["name"],
                profile,
                TrainConfig.from_dict(self.merged(raw, profile)),
                raw.get("description", ""),
                raw.get("published"),
                str(self.path),
                self._tune(raw, profile),
            )
            for raw in self.runs_in(profile)
        ]

    def runs_in(self, profile: str) -> list[dict[str, Any]]:
        """The [[runs]] tables of ``profile`` (a profile's name), as the file holds them."""
        if profile not in self.profiles:
            raise SpecError(
                f"{self.path}: no profile {profile!r} (it has: {', '.join(self.profiles)})"
            )
        return [r for r in self.runs if "only_in" not in r or profile in r["only_in"]]

    def merged(self, raw: dict[str, Any], profile: str) -> dict[str, Any]:
        """A run's config keys under ``profile``: defaults < profile < run < the run's own
        profile table, the ``model`` tables merged key by key."""
        return _merge(
            BASE_CONFIG,
            self.defaults,
            self.profiles[profile],
            {k: v for k, v in raw.items() if k in CONFIG_FIELDS},
            raw.get("profiles", {}).get(profile, {}),
        )

    def _tune(self, raw: dict[str, Any], profile: str) -> Tune | None:
        """The run's tuning under ``profile``: the question's [tune] table, then its own."""
        table = {**self.tune, **raw.get("tune", {})}
        if not table.get("params"):
            return None

        def given(key: str) -> Any:  # as set, else the schema's default (TuneTable)
            default = TuneTable.model_fields[key].default
            value = table.get(key, default)
            return value.get(profile, default) if isinstance(value, dict) else value

        return Tune(
            dict(table["params"]),
            given("sampler"),
            given("trials"),
            given("epochs"),
            given("prune"),
            given("seed"),
        )

    def tasks(
        self,
        profile: str,
        only: list[str] | None = None,
        seeds: list[int] | None = None,
        dataset: str | None = None,
    ) -> list[tuple[Run, int]]:
        """Every (run, seed) to train, in a fixed order (runs as in the spec, then seeds): the
        ``only`` runs if given, the ``seeds`` if given, all on ``dataset`` if given. A
        Slurm array task's index is a position in this list.

        The quick profile takes a named ``dataset`` in its quick form (``fashion-mnist`` ->
        ``fashion-mnist-5k``, :func:`coursework.records.datanames.quick_form`): mnist-5k's budget,
        so that quick means minutes on any dataset; the results set is still named after
        ``dataset`` as given (:func:`coursework.records.layout.set_name`)."""
        runs = self.resolve(profile)
        if dataset:
            if layout.profile_of(profile) == "quick":
                dataset = quick_form(dataset)
            runs = [replace(r, config=r.config.with_(dataset=dataset)) for r in runs]
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
        return str(self.runs[0]["name"])


def spec_path(question_or_path: str) -> Path:
    """``conv`` -> ``experiments/conv.toml`` (in the project, wherever you run from); a path
    to a .toml file is taken as it is, relative to the current folder."""
    given = Path(question_or_path)
    if question_or_path.endswith(".toml") or len(given.parts) > 1:
        return given
    known = EXPERIMENTS_DIR / f"{question_or_path}.toml"
    return given if given.is_dir() and not known.exists() else known


def trained_spec(rs: layout.ResultsSet, question: str) -> Spec | None:
    """The spec a question's runs were trained from (recorded beside them), None if absent.
    Read without importing the model builders: plots, report and verify need no Keras."""
    path = rs.spec_copy(question)
    try:
        return load(str(path), builders=False) if path.exists() else None
    except SpecError:
        return None


def run_order(rs: layout.ResultsSet, question: str) -> list[str]:
    """The run names of a question in spec order (the baseline first), from its recorded spec."""
    s = trained_spec(rs, question)
    if s is None or rs.profile not in s.profiles:
        return []
    return [r.name for r in s.resolve(rs.name)]


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
    errors = validate(data)
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
        for raw in spec.runs_in(profile):
            tune = spec._tune(raw, profile)
            tuned = tune.params if tune is not None else {}
            for e in check_run(spec.merged(raw, profile), tuned, builders):
                found.setdefault(e, {}).setdefault(raw["name"], []).append(profile)
    if found:
        runs = {r["name"] for r in spec.runs}
        raise SpecError(
            "\n".join(
                f"{path}: {where}: {e}"
                for e, by_run in found.items()
                for where in places(by_run, runs)
            )
        )
    return spec


def apply_params(cfg: TrainConfig, params: dict[str, Any]) -> TrainConfig:
    """``cfg`` with tuned values: ``learning_rate`` sets the key, ``model.units`` the
    builder argument ``units``."""
    out = cfg.to_dict()
    for name, value in params.items():
        if name.startswith("model."):
            out["model"] = {**out.get("model", {}), name[6:]: value}
        else:
            out[name] = value
    return TrainConfig.from_dict(out)


def best_params(rs: layout.ResultsSet, run: Run) -> dict[str, Any] | None:
    """A tuned run's ``best.json`` (the parameters its study chose), None if not tuned yet."""
    path = rs.tune_dir(run.question, run.name) / layout.BEST
    return storage.read_json(path) if path.exists() else None


def with_best_params(rs: layout.ResultsSet, run: Run) -> Run:
    """``run`` with the parameters its study chose (an untuned run as it is); SpecError if the
    run is tuned and its study has not finished."""
    if run.tune is None:
        return run
    best = best_params(rs, run)
    if best is None:
        raise SpecError(
            f"{run.spec_file}: run {run.name!r} is tuned and its study has not "
            f"finished: make tune QUESTION={run.question} (or run it without "
            "--task; after Slurm tasks: collect)"
        )
    return replace(run, config=apply_params(run.config, best["params"]))


def _merge(*tables: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in tables:
        for k, v in t.items():
            if k == "model":
                out["model"] = {**out.get("model", {}), **copy.deepcopy(v)}
            else:
                out[k] = copy.deepcopy(v)
    return out
