"""Where results live and how they are written: atomically, never half a file.

Layout under the results folder (``results/`` by default)::

    <profile>/<question>/<run>/seed-<k>/history.csv   per-epoch metrics
    <profile>/<question>/<run>/seed-<k>/run.json      config, status, metrics, data, environment
    <profile>/summary.csv                             one row per question, run and seed
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2  # 2: run.json records the Keras backend (environment.backend)
SUMMARY_COLUMNS = ["question", "run", "seed", "status", "best_epoch", "best_val_accuracy",
                   "test_accuracy", "params", "train_seconds"]
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate",
                   "epoch_seconds"]


class ResultsError(Exception):
    """A results file cannot be written or read; the message names the file."""


def run_dir(results: Path, profile: str, question: str, run: str, seed: int) -> Path:
    return Path(results) / profile / question / run / f"seed-{seed}"


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, then rename."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
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
        raise ResultsError(f"results folder {folder} is not writable: "
                           f"{exc.strerror or exc}") from exc


@contextlib.contextmanager
def locked(results: Path, profile: str) -> Iterator[None]:
    """Hold ``results/<profile>/.lock`` while rewriting the files shared by all questions
    (summary, stats, ensembles, manifest), so that two questions run at once
    (``make -j2 a b``) never write them from stale views."""
    folder = Path(results) / profile
    ensure_writable(folder)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; run questions one at a time there
        yield
        return
    with open(folder / ".lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
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


def summary_rows(results: Path, profile: str) -> list[dict]:
    """One row per run.json under ``results/<profile>/``, sorted by question, run, seed."""
    rows = []
    for path in sorted((Path(results) / profile).glob("*/*/seed-*/run.json")):
        rec = read_json(path)
        m = rec.get("metrics", {})
        rows.append({"question": rec["question"], "run": rec["run"], "seed": rec["seed"],
                     "status": rec["status"], "best_epoch": m.get("best_epoch"),
                     "best_val_accuracy": m.get("best_val_accuracy"),
                     "test_accuracy": m.get("test_accuracy"), "params": rec.get("params"),
                     "train_seconds": m.get("train_seconds")})
    rows.sort(key=lambda r: (r["question"], r["run"], int(r["seed"])))
    return rows


def write_summary(results: Path, profile: str) -> Path:
    path = Path(results) / profile / "summary.csv"
    write_csv(path, SUMMARY_COLUMNS, summary_rows(results, profile))
    return path
