"""Ensembles over seeds: a majority vote and an average of probabilities (Nielsen ch. 6).

Every run with two or more complete seeds is an ensemble of its seeds; the figures go to
``results/<profile>/ensembles.csv``, computed from the saved test predictions alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from coursework.records import layout, storage
from coursework.records.errors import ResultsError
from coursework.records.layout import ResultsSet
from coursework.records.record import Status

COLUMNS = [
    "question",
    "run",
    "members",
    "seeds",
    "vote_accuracy",
    "mean_prob_accuracy",
    "mean_member_accuracy",
    "best_member_accuracy",
]


def vote(probs: np.ndarray) -> np.ndarray:
    """Majority vote of members' predicted classes; ties go to the larger summed probability.

    ``probs``: (members, N, classes) -> (N,) predicted classes.
    """
    members, n, classes = probs.shape
    votes = np.zeros((n, classes))
    np.add.at(votes, (np.arange(n)[None, :].repeat(members, 0), probs.argmax(-1)), 1.0)
    tie_break = probs.sum(0) / (members + 1.0)  # < 1: only decides between equal vote counts
    out: np.ndarray = (votes + tie_break).argmax(-1)
    return out


def ensemble_row(question: str, run: str, members: list[tuple[int, Path]]) -> dict[str, Any]:
    """The ``ensembles.csv`` row of one run: its seeds' test predictions combined."""
    probs: list[np.ndarray] = []
    labels: np.ndarray | None = None
    for _, path in members:
        with np.load(path, allow_pickle=False) as f:
            probs.append(f["probs"].astype(np.float32))
            if labels is None:
                labels = f["y_true"]
            elif not np.array_equal(labels, f["y_true"]):
                raise ResultsError(f"{path}: test labels differ between seeds")
    if labels is None:
        raise ResultsError(f"no members of {question}/{run}")
    y_true: np.ndarray = labels
    p = np.stack(probs)
    member_acc = (p.argmax(-1) == y_true[None]).mean(1)
    return {
        "question": question,
        "run": run,
        "members": len(members),
        "seeds": " ".join(str(s) for s, _ in members),
        "vote_accuracy": float((vote(p) == y_true).mean()),
        "mean_prob_accuracy": float((p.mean(0).argmax(-1) == y_true).mean()),
        "mean_member_accuracy": float(member_acc.mean()),
        "best_member_accuracy": float(member_acc.max()),
    }


def ensemble_rows(rs: ResultsSet) -> list[dict[str, Any]]:
    """One row per run with two or more complete seeds under ``results/<profile>``."""
    groups: dict[tuple[str, str], list[tuple[int, Path]]] = {}
    for rec_path in rs.record_paths():
        rec = storage.read_record(rec_path)
        pred = rec_path.parent / layout.PREDICTIONS
        if rec.status == Status.COMPLETE and pred.exists():
            groups.setdefault((rec.question, rec.run), []).append((rec.seed, pred))
    return [ensemble_row(q, r, sorted(m)) for (q, r), m in sorted(groups.items()) if len(m) >= 2]


def write_ensembles(rs: ResultsSet) -> Path:
    """Rewrite ``ensembles.csv`` from the results set's predictions."""
    path = rs.aggregate(layout.ENSEMBLES)
    storage.write_csv(path, COLUMNS, ensemble_rows(rs))
    return path
