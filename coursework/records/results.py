"""Where results live, how they are found and read, and how they are written: atomically,
never half a file. The only module that knows the layout of a results folder.

A *results set* is the folder of one spec profile's results: ``quick``, ``full``, or
``quick@bees-1a2b3c`` for a profile run on another dataset (:func:`set_name`)::

    <results>/<set>/<question>/spec.toml                      the spec the runs were trained from
    <results>/<set>/<question>/<run>/seed-<k>/history.csv     per-epoch metrics
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
    <results>/bench.json                                      ``make bench``
    <results>/calibration.json                                ``make plan``: measured speeds
    <results>/slurm-logs/<set>/                               Slurm array tasks' output
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import io
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from coursework.records.errors import ResultsError
from coursework.records.record import SCHEMA_VERSION

SUMMARY_COLUMNS = [
    "question",
    "run",
    "seed",
    "status",
    "best_epoch",
    "best_val_accuracy",
    "test_accuracy",
    "params",
    "train_seconds",
]
HISTORY_COLUMNS = [
    "epoch",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "learning_rate",
    "epoch_seconds",
]


# The file names of a results folder (see the module docstring); no other module spells them
RECORD, HISTORY, SPEC = "run.json", "history.csv", "spec.toml"
PREDICTIONS, MODEL, BEST_WEIGHTS = "predictions.npz", "model.keras", "best.weights.h5"
BACKUP = "backup"  # a run in progress: its training state after the last finished epoch
SUMMARY, STATS, ENSEMBLES = "summary.csv", "stats.csv", "ensembles.csv"
MANIFEST, VERIFICATION = "MANIFEST.json", "verification.csv"
BENCH, CALIBRATION = "bench.json", "calibration.json"
TUNE, STUDY, BEST = "tune", "study.journal", "best.json"
PROVENANCE = "provenance.json"  # in figures/: what each figure was drawn from


# --------------------------------------------------------------------------- paths


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
        if record_paths(results, set_name(profile, dataset)):
            return profile
    return "full"


def profile_of(results_set: str) -> str:
    """The spec profile of a results set (``quick@bees-1a2b3c`` -> ``quick``)."""
    return results_set.split("@", 1)[0]


def set_dir(results: Path, results_set: str) -> Path:
    return Path(results) / results_set


def question_dir(results: Path, results_set: str, question: str) -> Path:
    return set_dir(results, results_set) / question


def run_dir(results: Path, results_set: str, question: str, run: str, seed: int) -> Path:
    return question_dir(results, results_set, question) / run / f"seed-{seed}"


def tune_dir(results: Path, results_set: str, question: str, run: str) -> Path:
    """A tuned run's study: its journal, its trials and the parameters chosen."""
    return question_dir(results, results_set, question) / run / TUNE


def study_key_file(results: Path, results_set: str, question: str, run: str) -> Path:
    """The key of the settings a study searches with (:func:`coursework.engine.keys
    .study_key`): a study made with other settings is stale."""
    return tune_dir(results, results_set, question, run) / "key"


def retired_study_dir(results: Path, results_set: str, question: str, run: str) -> Path:
    """Where a stale study is kept (hidden) until the new one has chosen."""
    return question_dir(results, results_set, question) / run / f".{TUNE}.stale"


def trial_dir(results: Path, results_set: str, question: str, run: str, number: int) -> Path:
    return tune_dir(results, results_set, question, run) / f"trial-{number:03d}"


def spec_copy(results: Path, results_set: str, question: str) -> Path:
    """Where the spec a question's runs were trained from is recorded."""
    return question_dir(results, results_set, question) / SPEC


def figures_dir(results: Path, results_set: str) -> Path:
    return set_dir(results, results_set) / "figures"


def provenance_file(results: Path, results_set: str) -> Path:
    """``figures/provenance.json``: per figure, the digest of the results it was drawn from
    and the sha256 of its files."""
    return figures_dir(results, results_set) / PROVENANCE


def figure_files(results: Path, results_set: str) -> list[Path]:
    """The figure files (``.pdf``, ``.png``) in ``figures/``, sorted."""
    folder = figures_dir(results, results_set)
    return (
        sorted(p for p in folder.iterdir() if p.suffix in (".pdf", ".png"))
        if folder.is_dir()
        else []
    )


def report_dir(results: Path, results_set: str) -> Path:
    return set_dir(results, results_set) / "report"


def relative(path: Path, results: Path, results_set: str) -> str:
    """``path`` relative to ``<results>/<set>``, with '/' (as manifests and checks name
    files)."""
    return Path(path).relative_to(set_dir(results, results_set)).as_posix()


def run_of(rel: str) -> tuple[str, str]:
    """``q/run/seed-3/history.csv`` -> (``q/run``, ``3``); other files -> (``-``, ``-``)."""
    parts = rel.split("/")
    if len(parts) >= 4 and parts[2].startswith("seed-"):
        return f"{parts[0]}/{parts[1]}", parts[2][5:]
    return "-", "-"


# --------------------------------------------------------------------------- finding runs


def record_paths(results: Path, results_set: str, question: str | None = None) -> list[Path]:
    """Every ``run.json`` under ``<results>/<set>`` (of one question), sorted."""
    base = set_dir(results, results_set)
    pattern = f"{question or '*'}/*/seed-*/{RECORD}"
    return sorted(base.glob(pattern)) if base.is_dir() else []


def trial_paths(
    results: Path, results_set: str, question: str | None = None, run: str | None = None
) -> list[Path]:
    """Every trial's ``run.json`` of the tuned runs (of one question, one run), sorted."""
    base = set_dir(results, results_set)
    pattern = f"{question or '*'}/{run or '*'}/{TUNE}/trial-*/{RECORD}"
    return sorted(base.glob(pattern)) if base.is_dir() else []


def tuned_questions(results: Path, results_set: str) -> list[str]:
    """The questions with a tuning study under ``<results>/<set>``, sorted."""
    base = set_dir(results, results_set)
    found = base.glob(f"*/*/{TUNE}/{STUDY}") if base.is_dir() else []
    return sorted({p.relative_to(base).parts[0] for p in found})


def calibration_file(results: Path) -> Path:
    """``<results>/calibration.json``: each network's measured speed, per machine and backend
    (``make plan``; outside every profile folder, so in no manifest)."""
    return Path(results) / CALIBRATION


def bench_file(results: Path) -> Path:
    return Path(results) / BENCH


def aggregate(results: Path, results_set: str, name: str) -> Path:
    """A file of the whole profile folder: SUMMARY, STATS, ENSEMBLES, MANIFEST, VERIFICATION."""
    return set_dir(results, results_set) / name


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


def _retired_dir(run_folder: Path) -> Path:
    run_folder = Path(run_folder)
    return run_folder.parent / f".{run_folder.name}.old"


def replace_run(run_folder: Path) -> None:
    """Put the completed run in :func:`staging_dir` in the place of the old one: the old is
    renamed aside, the new renamed in, then the old deleted. A kill between the steps is
    mended by :func:`recover_run`."""
    run_folder = Path(run_folder)
    staged, old = staging_dir(run_folder), _retired_dir(run_folder)
    try:
        if old.exists():
            shutil.rmtree(old)
        if run_folder.exists():
            os.replace(run_folder, old)
        os.replace(staged, run_folder)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise ResultsError(f"cannot replace {run_folder}: {exc.strerror or exc}") from exc


def recover_run(run_folder: Path) -> None:
    """Finish a :func:`replace_run` that a kill interrupted: a completed new run goes in,
    or else the old one goes back (a new one still training stays, to resume)."""
    run_folder = Path(run_folder)
    staged, old = staging_dir(run_folder), _retired_dir(run_folder)
    if is_complete(staged):
        replace_run(run_folder)
    elif old.exists():
        if run_folder.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, run_folder)


def is_complete(run_folder: Path) -> bool:
    """Whether a run folder holds a finished run (its ``run.json`` says ``complete``); an
    unreadable record is not one."""
    path = Path(run_folder) / RECORD
    try:
        return path.exists() and read_json(path).get("status") == "complete"
    except ResultsError:
        return False


def in_progress(run_folder: Path) -> bool:
    """Whether ``run_folder`` (a seed's, its :func:`staging_dir`, a tuning trial's) holds a run
    in progress: training now, or stopped part-way, to be resumed. Its ``backup/`` (the
    training state and its key) is there from the start until the run ends; a ``run.json``
    newer than everything in it is the end of that run (a failed run keeps its backup to
    resume from), an older one a run's earlier end, before it was started again."""
    backup = Path(run_folder) / BACKUP
    if not backup.is_dir():
        return False
    record = Path(run_folder) / RECORD
    if not record.exists():
        return True
    try:  # a record of no end ("running"), or one half-written, is no end either
        if json.loads(record.read_text(encoding="utf-8")).get("status") not in (
            "complete",
            "failed",
            "pruned",
        ):
            return True
    except (OSError, ValueError, AttributeError):
        return True
    newest = max((p.stat().st_mtime_ns for p in backup.iterdir()), default=0)
    return newest > record.stat().st_mtime_ns


def in_progress_dirs(results: Path, results_set: str) -> list[Path]:
    """The folders of the runs in progress under ``<results>/<set>`` (:func:`in_progress`):
    seeds', seeds' trained again beside them (``.seed-0.next``), tuning trials'; sorted."""
    base = set_dir(results, results_set)
    if not base.is_dir():
        return []
    found = [
        *base.glob(f"*/*/seed-*/{BACKUP}"),
        *base.glob(f"*/*/.seed-*.next/{BACKUP}"),
        *base.glob(f"*/*/{TUNE}/trial-*/{BACKUP}"),
    ]
    return sorted(p.parent for p in found if p.is_dir())


def slurm_logs(results: Path, results_set: str) -> Path:
    """``<results>/slurm-logs/<set>/``: the output of a question's Slurm array tasks (not
    part of the results: outside ``<results>/<set>/``)."""
    return Path(results) / "slurm-logs" / results_set


def files(results: Path, results_set: str) -> list[Path]:
    """Every file of ``<results>/<set>`` that belongs to the results, sorted: not hidden
    files (locks, temporary files), a killed run's ``backup/`` or LaTeX's ``report/build/``."""
    base = set_dir(results, results_set)
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


def sets(results: Path) -> list[str]:
    """The results sets under ``<results>``: its folders, sorted (``full``, ``quick``, ...)."""
    base = Path(results)
    return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def questions(results: Path, results_set: str) -> list[str]:
    """The questions with at least one run record, sorted."""
    return sorted({p.parent.parent.parent.name for p in record_paths(results, results_set)})


@dataclass(frozen=True)
class SeedResult:
    """One finished seed of a run: its ``run.json`` record, ``history.csv`` rows, folder."""

    seed: int
    record: dict
    history: list[dict]
    dir: Path

    @property
    def metrics(self) -> dict:
        return self.record["metrics"]


def load_question(
    results: Path, results_set: str, question: str, order: list[str] | None = None
) -> dict[str, list[SeedResult]]:
    """Run name -> its complete seeds (by seed), runs in ``order`` (the spec's) first."""
    runs: dict[str, list[SeedResult]] = {}
    for path in record_paths(results, results_set, question):
        rec = read_json(path)
        if rec["status"] == "complete":
            runs.setdefault(rec["run"], []).append(
                SeedResult(rec["seed"], rec, read_csv(path.parent / HISTORY), path.parent)
            )
    order = [r for r in (order or []) if r in runs]
    ranked = order + sorted(r for r in runs if r not in order)
    return {r: sorted(runs[r], key=lambda s: s.seed) for r in ranked}


def test_accuracies(seeds: list[SeedResult]) -> np.ndarray:
    return np.array([s.metrics["test_accuracy"] for s in seeds])


# --------------------------------------------------------------------------- history


def column(rows: list[dict], key: str) -> list[float]:
    """One column of ``history.csv`` rows as floats (NaN where empty)."""
    return [float(r[key]) if r.get(key) not in ("", None) else math.nan for r in rows]


def best_epoch(val_accuracy: list[float]) -> int | None:
    """0-based index of the best validation accuracy (the first, on ties), None if no epoch
    has a finite one: Nielsen's protocol takes the test accuracy there."""
    if not any(math.isfinite(v) for v in val_accuracy):
        return None
    return int(np.nanargmax(val_accuracy))


@functools.cache
def _umask() -> int:
    """The process's umask (read once, when a results file is first written: never at
    import, and os.umask can only be read by setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """The one way results are written: yields a temporary path beside ``path`` (its suffixes
    kept, as Keras wants ``.keras`` or ``.weights.h5``) for the caller to write; then the file
    is synced, given an ordinary file's mode and renamed to ``path``, so a kill mid-write never
    leaves half a file. On an error the temporary file is removed; the caller's own errors
    pass through, a storage error of these steps is a ResultsError naming ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=f".tmp{''.join(path.suffixes)}", dir=path.parent
        )
        os.close(fd)
    except OSError as exc:
        raise ResultsError(f"cannot write {path}: {exc.strerror or exc}") from exc
    tmp = Path(name)
    try:
        yield tmp
        try:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary file, not mkstemp's 0600
            os.replace(tmp, path)
        except OSError as exc:
            raise ResultsError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic`)."""
    with atomic(path) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            raise ResultsError(f"cannot write {path}: {exc.strerror or exc}") from exc


def ensure_writable(folder: Path) -> None:
    """Fail early, with one clear message, if ``folder`` cannot be created or written."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".write-test.", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise ResultsError(
            f"results folder {folder} is not writable: {exc.strerror or exc}"
        ) from exc


@contextlib.contextmanager
def locked(results: Path, results_set: str) -> Iterator[None]:
    """Hold ``results/<profile>/.lock`` while rewriting the files shared by all questions
    (summary, stats, ensembles, manifest), so that two questions run at once
    (``make -j2 a b``) never write them from stale views."""
    folder = Path(results) / results_set
    ensure_writable(folder)
    with file_lock(folder / ".lock"):
        yield


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (a hidden file, created if missing) until
    the block ends; released when the process ends, also when it is killed. Windows has no
    advisory locks: there, nothing is held (run one process at a time)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def run_claim(run_folder: Path) -> Iterator[bool]:
    """Claim a run folder for this process while it trains it: True if claimed, False if
    another process (a second ``run`` of the same question, a Slurm task) is training it now.
    An advisory lock on a hidden file beside the folder, released when the process ends, also
    when it is killed."""
    run_folder = Path(run_folder)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks
        yield True
        return
    ensure_writable(run_folder.parent)
    with open(run_folder.parent / f".{run_folder.name}.lock", "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_jsonable) + "\n")


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: fmt(row.get(k)) for k in columns})
    write_text(path, buf.getvalue())


def read_json(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise ResultsError(
            f"{path} was written with results schema version {version}, this project reads "
            f"version {SCHEMA_VERSION} (written by coursework {data.get('coursework_version', '?')}"
            "); re-run with --force or use the matching version of the project"
        )
    return data


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def fmt(value: Any) -> str:
    """One text form for every number written: shortest round-trip repr, '' for missing."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _jsonable(obj: Any):
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def summary_rows(results: Path, results_set: str) -> list[dict]:
    """One row per run.json under ``results/<profile>/``, sorted by question, run, seed; none
    for a run in progress (:func:`in_progress`: its run.json, if any, is no result yet)."""
    rows = []
    for path in record_paths(results, results_set):
        if in_progress(path.parent):
            continue
        rec = read_json(path)
        m = rec.get("metrics", {})
        rows.append(
            {
                "question": rec["question"],
                "run": rec["run"],
                "seed": rec["seed"],
                "status": rec["status"],
                "best_epoch": m.get("best_epoch"),
                "best_val_accuracy": m.get("best_val_accuracy"),
                "test_accuracy": m.get("test_accuracy"),
                "params": rec.get("params"),
                "train_seconds": m.get("train_seconds"),
            }
        )
    rows.sort(key=lambda r: (r["question"], r["run"], int(r["seed"])))
    return rows


def write_summary(results: Path, results_set: str) -> Path:
    path = aggregate(results, results_set, SUMMARY)
    write_csv(path, SUMMARY_COLUMNS, summary_rows(results, results_set))
    return path
