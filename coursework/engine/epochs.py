"""One seed's epochs, whoever trains them: everything around an epoch's training program.

Before an epoch: seed its random draws (dropout, augmentation) from (seed, epoch) and give
the order of its images. After it: validate, append the row to ``history.csv`` (and emit it)
and the gradient flow's rows to ``gradients.csv`` (:mod:`.gradients`; at the start too: epoch
0), keep the best weights, save the checkpoint, print the progress line, and judge whether the
run goes on (divergence, early stopping, a study's pruning). A seed trained alone
(:func:`coursework.engine.seed_run.fit`) and seeds trained together as one program
(:mod:`coursework.engine.pack`) go through the same steps, so their records are the same.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from coursework.engine import events, loop
from coursework.engine.context import RunContext
from coursework.engine.gradients import GradientLog, Probe
from coursework.engine.history import Checkpoint, History, chance_loss
from coursework.engine.seeded import EVAL_BATCH, Session, duration, reseed
from coursework.records import layout, storage

log = logging.getLogger(__name__)


class SeedEpochs:
    """One seed's training, epoch by epoch, from its last checkpoint on.

    Args:
        s: the seed's session (model, program, validation split).
        ctx: the run and seed (its settings, folder, label, time after it, study callback).
    """

    def __init__(self, s: Session, ctx: RunContext) -> None:
        cfg = ctx.cfg
        self.s, self.ctx, self.seed, self.out = s, ctx, ctx.seed, ctx.out
        self.log = ctx.log(log)
        self.epochs = cfg.epochs
        self.patience = cfg.early_stopping
        self.chance = chance_loss(str(cfg.loss), ctx.ds.num_classes)
        self.checkpoint = Checkpoint(layout.checkpoint_file(ctx.out), s.net)
        self.epoch = self.checkpoint.restore()  # the next epoch to train (0-based)
        self.history = History(ctx.out / layout.HISTORY, keep=self.epoch)
        self.probe = Probe.of(s, ctx.seed)
        self.gradients = GradientLog(ctx.out / layout.GRADIENTS, keep=self.epoch)
        self.diverged = False
        self.done = self.epoch >= self.epochs
        self.times: list[float] = []  # seconds of the epochs trained by this process
        if self.epoch:
            self.log.info("    resuming after epoch %d", self.epoch)
        if self.done:  # killed after its last epoch, before its record
            save_best(s.model, self.checkpoint.best, ctx.out)
        elif not self.epoch:  # the gradient flow at initialisation: epoch 0
            self.gradients.append(self.probe.rows(0))

    def order(self) -> np.ndarray:
        """Seed the epoch's random draws; the order of its training images."""
        reseed(self.s.net, self.seed, self.epoch)
        return loop.epoch_order(self.seed, self.epoch, self.s.num_train)

    def finish(self, logs: dict[str, float], trained: float) -> None:
        """After the epoch's training (``logs``: its loss and accuracy; ``trained``: its
        seconds, this seed's share where seeds train together): validate, record,
        checkpoint, say so, and judge whether to go on."""
        t0 = time.perf_counter() - trained
        row = self._record(logs, t0)
        self.times.append(time.perf_counter() - t0)
        self._progress(row)
        self.epoch += 1
        if self.history.diverged(self.chance):
            self.diverged = self.done = True  # training blew up: no later epoch can mend it
        elif self.history.should_stop(self.patience) or self.epoch >= self.epochs:
            self.done = True
        elif self.ctx.on_epoch is not None and self.ctx.on_epoch(
            self.epoch - 1, row["val_accuracy"]
        ):
            self.history.pruned = self.done = True
            self.log.info("    pruned after epoch %d", self.epoch)
        if self.done:
            save_best(self.s.model, self.checkpoint.best, self.out)

    def _record(self, logs: dict[str, float], t0: float) -> dict[str, Any]:
        s = self.s
        val = s.net.evaluate(s.x_val, s.y_val, batch_size=EVAL_BATCH, verbose=0, return_dict=True)
        seconds = time.perf_counter() - t0
        lr = float(keras.ops.convert_to_numpy(s.net.optimizer.learning_rate))
        row = {
            "epoch": self.epoch + 1,
            "loss": logs["loss"],
            "accuracy": logs["accuracy"],
            "val_loss": float(val["loss"]),
            "val_accuracy": float(val["accuracy"]),
            "learning_rate": lr,
            "epoch_seconds": round(seconds, 3),
        }
        self.history.append(row)
        self.gradients.append(self.probe.rows(self.epoch + 1))
        events.emit(
            "epoch",
            seed=self.seed,
            epoch=row["epoch"],
            **{k: float(v) for k, v in row.items() if k != "epoch"},
        )
        if self.history.best_epoch() == self.epoch:
            self.checkpoint.best = [np.array(w) for w in s.model.get_weights()]
        self.checkpoint.save(self.epoch + 1)
        return {**row, "epoch_seconds_exact": seconds}

    def _progress(self, row: dict[str, Any]) -> None:
        steady = self.times[1:] or self.times  # the first epoch also compiles
        left = sum(steady) / len(steady) * (self.epochs - self.epoch - 1)
        after = self.ctx.after
        eta = f"; left {duration(left)}" + (
            f", all {duration(left + after)}" if after is not None else ""
        )
        seconds = row["epoch_seconds_exact"]
        self.log.info(
            f"    epoch {self.epoch + 1}/{self.epochs}: loss {row['loss']:.4f}, "
            f"accuracy {100 * row['accuracy']:.2f}%, val_accuracy "
            f"{100 * row['val_accuracy']:.2f}% ({seconds:.1f} s, "
            f"{self.s.num_train / seconds:,.0f} img/s{eta})"
        )


def save_best(model: keras.Model, best: list[np.ndarray] | None, out: Path) -> None:
    """``best.weights.h5``: the model's weights of the best epoch (the model keeps its own)."""
    if best is None:
        return
    current = model.get_weights()
    model.set_weights(best)
    with storage.atomic(out / layout.BEST_WEIGHTS) as tmp:
        model.save_weights(tmp)
    model.set_weights(current)
