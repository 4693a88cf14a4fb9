"""Where results live and how they are found: the only module that knows the layout of a
results folder (:mod:`coursework.records.storage` writes and reads the files).

A *results set* is the folder of one spec profile's results: ``quick``, ``full``, or
``quick@bees-1a2b3c`` for a profile run on another dataset (:func:`set_name`)::

    <results>/<set>/<question>/spec.toml                      the spec the runs were trained from
    <results>/<set>/<question>/<run>/seed-<k>/history.csv     per-epoch metrics
    <results>/<set>/<question>/<run>/seed-<k>/gradients.csv   gradient flow per epoch and layer
    <results>/<set>/<question>/<run>/seed-<k>/run.json        config, status, metrics, data,
                                                              architecture, environment
    <results>/<set>/<question>/<run>/seed-<k>/best.weights.h5, model.keras, predictions.npz
    <results>/<set>/<question>/<run>/tune/study.journal       a tuned run's Optuna study
    <results>/<set>/<question>/<run>/tune/trial-<n>/          a trial: history.csv, run.json
    <results>/<set>/<question>/<run>/tune/best.json           the parameters chosen
    <results>/<set>/summary.csv, stats.csv, ensembles.csv     one row per run (and seed)
    <results>/<set>/MANIFEST.json, verification.csv           provenance and checks
    <results>/<set>/figures/, report/                         plots and the LaTeX report
    <results>/<set>/figures/provenance.json                   what each figure was drawn from
    <results>/<set>/index.html                                every run on one page (``make page``)
    <results>/bench.json                                      ``make bench``
    <results>/calibration.json                                ``make plan``: measured speeds
    <results>/slurm-logs/<set>/                               Slurm array tasks' output
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

# The file names of a results folder (see the module docstring); no other module spells them
RECORD, HISTORY, SPEC = "run.json", "history.csv", "spec.toml"

GRADIENTS = "gradients.csv"  # the gradient flow per epoch and weight tensor

PREDICTIONS, MODEL, BEST_WEIGHTS = "predictions.npz", "model.keras", "best.weights.h5"

BACKUP = "backup"  # a run in progress: its training state after the last finished epoch

SUMMARY, STATS, ENSEMBLES = "summary.csv", "stats.csv", "ensembles.csv"

MANIFEST, VERIFICATION = "MANIFEST.json", "verification.csv"

BENCH, CALIBRATION = "bench.json", "calibration.json"

TUNE, STUDY, BEST = "tune", "study.journal", "best.json"

PROVENANCE = "provenance.json"  # in figures/: what each figure was drawn from

PAGE = "index.html"  # the results page: drawn from the results, listed in no manifest


def set_name(profile: str, dataset: str | None = None) -> str:
    """The results set of a spec profile: its folder under ``results/``, ``quick``, or for a
    profile run on another dataset (``--dataset``) ``quick@bees-1a2b3c`` (the data's name and a
    hash of its full name), so that results on different data never mix."""
    if not dataset:
        return profile
    stem = Path(dataset.split(":", 1)[-1]).stem or dataset
    slug = re.sub(r"[^A-Za-z0-9_.-]", "", stem)[:40] or "data"
    return f"{profile}@{slug}-{hashlib.sha256(dataset.encode()).hexdigest()[:6]}"


def profile_had(results: Path, dataset: str | None = None) -> str:
    """The profile of the results a student has, for the commands that read results (``report``,
    ``verify``, ``submission``, ``plots``) when none is given: ``full`` where it has runs, else
    ``quick`` where that has, else ``full``."""
    for profile in ("full", "quick"):
        if ResultsSet(Path(results), set_name(profile, dataset)).record_paths():
            return profile
    return "full"


def profile_of(results_set: str) -> str:
    """The spec profile of a results set (``quick@bees-1a2b3c`` -> ``quick``)."""
    return results_set.split("@", 1)[0]


def trial_dir_in(study: Path, number: int) -> Path:
    """Trial ``number``'s folder in a study's folder (:meth:`ResultsSet.tune_dir`)."""
    return study / f"trial-{number:03d}"


def run_of(rel: str) -> tuple[str, str]:
    """``q/run/seed-3/history.csv`` -> (``q/run``, ``3``); other files -> (``-``, ``-``)."""
    parts = rel.split("/")
    if len(parts) >= 4 and parts[2].startswith("seed-"):
        return f"{parts[0]}/{parts[1]}", parts[2][5:]
    return "-", "-"


def calibration_file(results: Path) -> Path:
    """``<results>/calibration.json``: each network's measured speed, per machine and backend
    (``make plan``; outside every profile folder, so in no manifest)."""
    return Path(results) / CALIBRATION


def bench_file(results: Path) -> Path:
    return Path(results) / BENCH


def checkpoint_file(run_folder: Path) -> Path:
    """The training state of a run in progress (removed when the run ends)."""
    return Path(run_folder) / BACKUP / "state.npz"


def checkpoint_key_file(run_folder: Path) -> Path:
    """The key (:mod:`coursework.engine.keys`) of the run whose training state is saved: a
    state saved for other settings is not resumed."""
    return Path(run_folder) / BACKUP / "key"


def staging_dir(run_folder: Path) -> Path:
    """Where a complete run that is trained again (stale, or forced) is trained, hidden
    beside it (``.seed-0.next``): the old run stays in place until the new one completes."""
    run_folder = Path(run_folder)
    return run_folder.parent / f".{run_folder.name}.next"


def retired_run_dir(run_folder: Path) -> Path:
    """Where the old run is put aside while :func:`coursework.records.run_folders.replace_run` puts
    the new one in its place (``.seed-0.old``)."""
    run_folder = Path(run_folder)
    return run_folder.parent / f".{run_folder.name}.old"


def sets(results: Path) -> list[str]:
    """The results sets under ``<results>``: its folders, sorted (``full``, ``quick``, ...)."""
    base = Path(results)
    return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp(\.[^.]+)*$")  # storage.atomic()'s


def is_temporary(path: Path) -> bool:
    """Whether ``path`` is a temporary file of :func:`coursework.records.storage.atomic`."""
    return bool(TEMPORARY.match(Path(path).name))


def temporaries(folder: Path) -> list[Path]:
    """The temporary files (:func:`is_temporary`) anywhere under ``folder``."""
    return [p for p in Path(folder).rglob(".*") if is_temporary(p)] if folder.is_dir() else []


@dataclass(frozen=True)
class ResultsSet:
    """One results set: ``root`` (the results folder) and ``name`` (``quick``, ``full``,
    ``quick@bees-1a2b3c``), with the paths of its files. What needs a results set takes one
    of these: only this class joins the two into paths."""

    root: Path
    name: str

    @property
    def profile(self) -> str:
        """The spec profile of the set (``quick@bees-1a2b3c`` -> ``quick``)."""
        return profile_of(self.name)

    @property
    def on_other_data(self) -> bool:
        """Whether the set is a profile run on other data (``quick@bees-1a2b3c``)."""
        return "@" in self.name

    def dir(self) -> Path:
        return Path(self.root) / self.name

    def question_dir(self, question: str) -> Path:
        return self.dir() / question

    def run_dir(self, question: str, run: str, seed: int) -> Path:
        return self.question_dir(question) / run / f"seed-{seed}"

    def tune_dir(self, question: str, run: str) -> Path:
        """A tuned run's study: its journal, its trials and the parameters chosen."""
        return self.question_dir(question) / run / TUNE

    def study_key_file(self, question: str, run: str) -> Path:
        """The key of the settings a study searches with (:func:`coursework.engine.keys
        .study_key`): a study made with other settings is stale."""
        return self.tune_dir(question, run) / "key"

    def retired_study_dir(self, question: str, run: str) -> Path:
        """Where a stale study is kept (hidden) until the new one has chosen."""
        return self.question_dir(question) / run / f".{TUNE}.stale"

    def trial_dir(self, question: str, run: str, number: int) -> Path:
        return trial_dir_in(self.tune_dir(question, run), number)

    def spec_copy(self, question: str) -> Path:
        """Where the spec a question's runs were trained from is recorded."""
        return self.question_dir(question) / SPEC

    def figures_dir(self) -> Path:
        return self.dir() / "figures"

    def provenance_file(self) -> Path:
        """``figures/provenance.json``: per figure, the digest of the results it was drawn
        from and the sha256 of its files."""
        return self.figures_dir() / PROVENANCE

    def figure_files(self) -> list[Path]:
        """The figure files (``.pdf``, ``.png``) in ``figures/``, sorted; hidden files (a
        temporary one a killed ``make plots`` left among them) are none, as in every other
        listing of the results."""
        folder = self.figures_dir()
        if not folder.is_dir():
            return []
        return sorted(
            p
            for p in folder.iterdir()
            if p.suffix in (".pdf", ".png") and not p.name.startswith(".")
        )

    def leftovers(self) -> list[Path]:
        """Temporary files of :func:`coursework.records.storage.atomic` among the figures
        (``.NAME.XXXX.tmp.EXT``): what a drawing killed while it saved left."""
        folder = self.figures_dir()
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if is_temporary(p))

    def report_dir(self) -> Path:
        return self.dir() / "report"

    def report_files(self) -> list[Path]:
        """The files at the top of the report's folder (its sources, PDF, numbers), sorted."""
        folder = self.report_dir()
        return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []

    def page_file(self) -> Path:
        """``index.html``: every run of the set on one page, drawn from its files."""
        return self.dir() / PAGE

    def aggregate(self, name: str) -> Path:
        """A file of the whole set: SUMMARY, STATS, ENSEMBLES, MANIFEST, VERIFICATION."""
        return self.dir() / name

    def slurm_logs(self) -> Path:
        """``<results>/slurm-logs/<set>/``: the output of a question's Slurm array tasks (not
        part of the results: outside ``<results>/<set>/``)."""
        return Path(self.root) / "slurm-logs" / self.name

    def relative(self, path: Path) -> str:
        """``path`` relative to ``<results>/<set>``, with '/' (as manifests and checks name
        files)."""
        return Path(path).relative_to(self.dir()).as_posix()

    def record_paths(self, question: str | None = None) -> list[Path]:
        """Every ``run.json`` under ``<results>/<set>`` (of one question), sorted."""
        base = self.dir()
        pattern = f"{question or '*'}/*/seed-*/{RECORD}"
        return sorted(base.glob(pattern)) if base.is_dir() else []

    def trial_paths(self, question: str | None = None, run: str | None = None) -> list[Path]:
        """Every trial's ``run.json`` of the tuned runs (of one question, one run), sorted."""
        base = self.dir()
        pattern = f"{question or '*'}/{run or '*'}/{TUNE}/trial-*/{RECORD}"
        return sorted(base.glob(pattern)) if base.is_dir() else []

    def study_choices(self) -> list[Path]:
        """Every study's ``best.json`` (the parameters it chose), sorted."""
        base = self.dir()
        return sorted(base.glob(f"*/*/{TUNE}/{BEST}")) if base.is_dir() else []

    def tuned_questions(self) -> list[str]:
        """The questions with a tuning study under ``<results>/<set>``, sorted."""
        base = self.dir()
        found = base.glob(f"*/*/{TUNE}/{STUDY}") if base.is_dir() else []
        return sorted({p.relative_to(base).parts[0] for p in found})

    def questions(self) -> list[str]:
        """The questions with at least one run record, sorted."""
        return sorted({p.parent.parent.parent.name for p in self.record_paths()})

    def in_progress_dirs(self) -> list[Path]:
        """The folders of the runs in progress under ``<results>/<set>``
        (:func:`coursework.records.run_folders.in_progress`): seeds', seeds' trained again beside
        them (``.seed-0.next``), tuning trials'; sorted."""
        base = self.dir()
        if not base.is_dir():
            return []
        found = [
            *base.glob(f"*/*/seed-*/{BACKUP}"),
            *base.glob(f"*/*/.seed-*.next/{BACKUP}"),
            *base.glob(f"*/*/{TUNE}/trial-*/{BACKUP}"),
        ]
        return sorted(p.parent for p in found if p.is_dir())

    def files(self) -> list[Path]:
        """Every file of ``<results>/<set>`` that belongs to the results, sorted: not hidden
        files (locks, temporary files), a killed run's ``backup/`` or LaTeX's
        ``report/build/``."""
        base = self.dir()
        out = []
        for path in sorted(base.rglob("*")) if base.is_dir() else []:
            parts = path.relative_to(base).parts
            if (
                path.is_file()
                and not any(p.startswith(".") or p == BACKUP for p in parts)
                and parts[:2] != ("report", "build")
            ):
                out.append(path)
        return out
