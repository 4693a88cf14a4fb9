"""The results of a set as tables (``summary.csv``, a question's finished seeds, a history's
columns), and the one name callers import for everything about results.

Where things are is :mod:`coursework.records.layout` (the only module that knows the layout
of a results folder), writing and reading :mod:`coursework.records.storage`, locks
:mod:`coursework.records.locks`, a run folder's life :mod:`coursework.records.runs`; their
names are importable from here too (``results.ResultsSet``, ``results.write_json``), as every
caller reads them today.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from coursework.records.errors import ResultsError as ResultsError
from coursework.records.layout import (
    BACKUP as BACKUP,
)
from coursework.records.layout import (
    BENCH as BENCH,
)
from coursework.records.layout import (
    BEST as BEST,
)
from coursework.records.layout import (
    BEST_WEIGHTS as BEST_WEIGHTS,
)
from coursework.records.layout import (
    CALIBRATION as CALIBRATION,
)
from coursework.records.layout import (
    ENSEMBLES as ENSEMBLES,
)
from coursework.records.layout import (
    HISTORY as HISTORY,
)
from coursework.records.layout import (
    MANIFEST as MANIFEST,
)
from coursework.records.layout import (
    MODEL as MODEL,
)
from coursework.records.layout import (
    PREDICTIONS as PREDICTIONS,
)
from coursework.records.layout import (
    PROVENANCE as PROVENANCE,
)
from coursework.records.layout import (
    RECORD as RECORD,
)
from coursework.records.layout import (
    SPEC as SPEC,
)
from coursework.records.layout import (
    STATS as STATS,
)
from coursework.records.layout import (
    STUDY as STUDY,
)
from coursework.records.layout import (
    SUMMARY as SUMMARY,
)
from coursework.records.layout import (
    TUNE as TUNE,
)
from coursework.records.layout import (
    VERIFICATION as VERIFICATION,
)
from coursework.records.layout import (
    ResultsSet as ResultsSet,
)
from coursework.records.layout import (
    bench_file as bench_file,
)
from coursework.records.layout import (
    calibration_file as calibration_file,
)
from coursework.records.layout import (
    checkpoint_file as checkpoint_file,
)
from coursework.records.layout import (
    checkpoint_key_file as checkpoint_key_file,
)
from coursework.records.layout import (
    profile_had as profile_had,
)
from coursework.records.layout import (
    profile_of as profile_of,
)
from coursework.records.layout import (
    retired_run_dir as retired_run_dir,
)
from coursework.records.layout import (
    run_of as run_of,
)
from coursework.records.layout import (
    set_name as set_name,
)
from coursework.records.layout import (
    sets as sets,
)
from coursework.records.layout import (
    staging_dir as staging_dir,
)
from coursework.records.locks import (
    file_lock as file_lock,
)
from coursework.records.locks import (
    locked as locked,
)
from coursework.records.locks import (
    run_claim as run_claim,
)
from coursework.records.record import SCHEMA_VERSION as SCHEMA_VERSION
from coursework.records.record import Status
from coursework.records.runs import (
    in_progress as in_progress,
)
from coursework.records.runs import (
    is_complete as is_complete,
)
from coursework.records.runs import (
    recover_run as recover_run,
)
from coursework.records.runs import (
    replace_run as replace_run,
)
from coursework.records.storage import (
    atomic as atomic,
)
from coursework.records.storage import (
    ensure_writable as ensure_writable,
)
from coursework.records.storage import (
    fmt as fmt,
)
from coursework.records.storage import (
    read_csv as read_csv,
)
from coursework.records.storage import (
    read_json as read_json,
)
from coursework.records.storage import (
    write_bytes as write_bytes,
)
from coursework.records.storage import (
    write_csv as write_csv,
)
from coursework.records.storage import (
    write_json as write_json,
)
from coursework.records.storage import (
    write_text as write_text,
)

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


@dataclass(frozen=True)
class SeedResult:
    """One finished seed of a run: its ``run.json`` record, ``history.csv`` rows, folder."""

    seed: int
    record: dict[str, Any]
    history: list[dict[str, str]]
    dir: Path

    @property
    def metrics(self) -> dict[str, Any]:
        found: dict[str, Any] = self.record["metrics"]
        return found


def load_question(
    rs: ResultsSet, question: str, order: list[str] | None = None
) -> dict[str, list[SeedResult]]:
    """Run name -> its complete seeds (by seed), runs in ``order`` (the spec's) first."""
    runs: dict[str, list[SeedResult]] = {}
    for path in rs.record_paths(question):
        rec = read_json(path)
        if rec["status"] == Status.COMPLETE:
            runs.setdefault(rec["run"], []).append(
                SeedResult(rec["seed"], rec, read_csv(path.parent / HISTORY), path.parent)
            )
    order = [r for r in (order or []) if r in runs]
    ranked = order + sorted(r for r in runs if r not in order)
    return {r: sorted(runs[r], key=lambda s: s.seed) for r in ranked}


def test_accuracies(seeds: list[SeedResult]) -> np.ndarray:
    return np.array([s.metrics["test_accuracy"] for s in seeds])


def column(rows: list[dict[str, Any]], key: str) -> list[float]:
    """One column of ``history.csv`` rows as floats (NaN where empty)."""
    return [float(r[key]) if r.get(key) not in ("", None) else math.nan for r in rows]


def best_epoch(val_accuracy: list[float]) -> int | None:
    """0-based index of the best validation accuracy (the first, on ties), None if no epoch
    has a finite one: Nielsen's protocol takes the test accuracy there."""
    if not any(math.isfinite(v) for v in val_accuracy):
        return None
    return int(np.nanargmax(val_accuracy))


def summary_rows(rs: ResultsSet) -> list[dict[str, Any]]:
    """One row per run.json under ``results/<profile>/``, sorted by question, run, seed; none
    for a run in progress (:func:`in_progress`: its run.json, if any, is no result yet)."""
    rows = []
    for path in rs.record_paths():
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


def write_summary(rs: ResultsSet) -> Path:
    path = rs.aggregate(SUMMARY)
    write_csv(path, SUMMARY_COLUMNS, summary_rows(rs))
    return path
