"""The results of a set as tables (``summary.csv``, a question's finished seeds, a history's
columns).

Where things are is :mod:`coursework.records.layout` (the only module that knows the layout
of a results folder), writing and reading :mod:`coursework.records.storage`, locks
:mod:`coursework.records.locks`, a run folder's life :mod:`coursework.records.run_folders`: each
name is imported from the module that defines it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from coursework.records.layout import HISTORY, SUMMARY, ResultsSet
from coursework.records.record import RunRecord, Status
from coursework.records.run_folders import in_progress
from coursework.records.storage import read_csv, read_record, write_csv

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

# gradients.csv (coursework.engine.gradients): per epoch (0: at initialisation) and weight
# tensor, in the network's order, the probe's gradient and the weights: mean |x|, RMS, max |x|
GRADIENT_COLUMNS = [
    "epoch",
    "layer",
    "weight",
    "size",
    "grad_mean_abs",
    "grad_rms",
    "grad_max_abs",
    "weight_mean_abs",
    "weight_rms",
    "weight_max_abs",
]


@dataclass(frozen=True)
class SeedResult:
    """One finished seed of a run: its ``run.json`` record, ``history.csv`` rows, folder."""

    seed: int
    record: RunRecord
    history: list[dict[str, str]]
    dir: Path

    @property
    def metrics(self) -> dict[str, Any]:
        return self.record.metrics


def load_question(
    rs: ResultsSet, question: str, order: list[str] | None = None
) -> dict[str, list[SeedResult]]:
    """Run name -> its complete seeds (by seed), runs in ``order`` (the spec's) first."""
    runs: dict[str, list[SeedResult]] = {}
    for path in rs.record_paths(question):
        rec = read_record(path)
        if rec.status == Status.COMPLETE:
            runs.setdefault(rec.run, []).append(
                SeedResult(rec.seed, rec, read_csv(path.parent / HISTORY), path.parent)
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
    rows: list[dict[str, Any]] = []
    for path in rs.record_paths():
        if in_progress(path.parent):
            continue
        rec = read_record(path)
        m = rec.metrics
        rows.append(
            {
                "question": rec.question,
                "run": rec.run,
                "seed": rec.seed,
                "status": rec.status,
                "best_epoch": m.get("best_epoch"),
                "best_val_accuracy": m.get("best_val_accuracy"),
                "test_accuracy": m.get("test_accuracy"),
                "params": rec.params,
                "train_seconds": m.get("train_seconds"),
            }
        )
    rows.sort(key=lambda r: (r["question"], r["run"], int(r["seed"])))
    return rows


def write_summary(rs: ResultsSet) -> Path:
    path = rs.aggregate(SUMMARY)
    write_csv(path, SUMMARY_COLUMNS, summary_rows(rs))
    return path
