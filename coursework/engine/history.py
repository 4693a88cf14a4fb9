"""A run's state on disk, epoch by epoch: ``history.csv`` (:class:`History`, with the
judgements early stopping and divergence need) and the whole training state to resume from
(:class:`Checkpoint`)."""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from coursework.records import results, storage
from coursework.records.errors import ResultsError
from coursework.records.results import HISTORY_COLUMNS

log = logging.getLogger(__name__)

# When a run has diverged (History.diverged), in multiples of the loss of guessing (ln C for C
# classes): its training loss is not finite or above EXPLODED (weights that blow up take their
# penalty there), or training and validation loss were both above LOST two epochs running (a
# dead network: 7-16 against ln 2 = 0.69). A run that starts high and learns goes on: 2.34 and
# 3.98 in the first epoch with a validation loss at chance, measured on photos.
EXPLODED, LOST = 100, 3


def chance_loss(loss: str, num_classes: int) -> float:
    """The loss of predicting 1/C for every class: where an untrained network starts."""
    if loss == "mse":
        return (1 - 1 / num_classes) / num_classes
    return math.log(num_classes)


class Checkpoint:
    """The whole training state after an epoch (weights, batch-norm statistics, random-seed
    states, optimizer slots and step count) in ``backup/state.npz``, written atomically, with
    the model's weights of the best epoch so far (``best.weights.h5`` is written from them once,
    when the run ends: Keras' own format costs more than an epoch of a small network)."""

    def __init__(self, path: Path, net: keras.Model):
        self.path = Path(path)
        self.variables = [
            *net.trainable_variables,
            *net.non_trainable_variables,
            *net.optimizer.variables,
        ]
        self.best: list[np.ndarray] | None = None

    def save(self, epoch: int) -> None:
        arrays = {
            f"v{i}": keras.ops.convert_to_numpy(v.value) for i, v in enumerate(self.variables)
        }
        arrays.update({f"b{i}": a for i, a in enumerate(self.best or [])})
        buf = io.BytesIO()
        np.savez(buf, epoch=np.int64(epoch), **arrays)
        storage.write_bytes(self.path, buf.getvalue())

    def restore(self) -> int:
        """Load the saved state into the variables; return its epoch (0: nothing saved)."""
        if not self.path.exists():
            return 0
        with np.load(self.path, allow_pickle=False) as f:
            arrays = [f[f"v{i}"] for i in range(len(self.variables)) if f"v{i}" in f.files]
            best = [
                f[n]
                for n in sorted((n for n in f.files if n.startswith("b")), key=lambda n: int(n[1:]))
            ]
            if (
                len(arrays) != len(self.variables)
                or len(f.files) != len(arrays) + len(best) + 1
                or any(
                    a.shape != tuple(v.shape) for a, v in zip(arrays, self.variables, strict=True)
                )
            ):
                log.info(
                    f"    note: {self.path} does not fit this model (was the spec or code "
                    "changed?); starting the run again"
                )
                return 0
            epoch = int(f["epoch"])
        for v, a in zip(self.variables, arrays, strict=True):
            v.assign(a)
        self.best = best or None
        return epoch


OnEpoch = Callable[[int, float], bool]  # (0-based epoch, validation accuracy) -> stop now?


class History:
    """``history.csv``: one row per finished epoch, rewritten atomically after each."""

    def __init__(self, path: Path, keep: int):
        self.path = Path(path)
        old = storage.read_csv(self.path) if self.path.exists() and keep else []
        if len(old) < keep:
            raise ResultsError(
                f"{self.path} has {len(old)} rows but the checkpoint is at epoch {keep}; "
                "delete the run folder and run again"
            )
        self.rows = [{k: r[k] for k in HISTORY_COLUMNS} for r in old[:keep]]
        self.pruned = False  # stopped by a tuning study's pruner

    def append(self, row: dict) -> None:
        self.rows.append(row)
        storage.write_csv(self.path, HISTORY_COLUMNS, self.rows)

    def val_accuracy(self) -> list[float]:
        return results.column(self.rows, "val_accuracy")

    def best_epoch(self) -> int | None:
        return results.best_epoch(self.val_accuracy())

    def diverged(self, chance: float) -> bool:
        """Whether training has blown up, judged from the last two rows (see EXPLODED)."""
        loss = float(self.rows[-1]["loss"])
        if not math.isfinite(loss) or loss > EXPLODED * chance:
            return True
        lost = [
            float(r["loss"]) > LOST * chance and float(r["val_loss"]) > LOST * chance
            for r in self.rows[-2:]
        ]
        return len(lost) == 2 and all(lost)

    def should_stop(self, patience: int) -> bool:
        """Early stopping: ``patience`` epochs without a better validation accuracy."""
        best = self.best_epoch()
        return bool(patience) and best is not None and len(self.rows) - 1 - best >= patience
