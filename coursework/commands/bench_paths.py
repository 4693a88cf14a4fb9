"""``make bench``'s Keras paths: the project's epoch program and ``model.fit``, each writing a
run's files after every epoch.

A real run writes ``history.csv`` (a row per epoch), its gradient flow (``gradients.csv``: the
probe's gradient on 256 images) and its checkpoint (``backup/state.npz``: weights, optimizer
state) after each epoch whichever loop trains it, so each path here does the same
(:class:`EpochFiles`, from :mod:`coursework.engine.history` and
:mod:`coursework.engine.gradients`): ``fit`` through a callback's ``on_epoch_end``, the epoch
program after each call. Validation is left out of both: it is the same ``evaluate`` whichever
loop trains. ``fit`` runs at any ``steps_per_execution`` (Keras' own remedy for small batches:
one compiled call runs that many steps); PyTorch refuses more than 1.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from coursework.data.arrays import scale
from coursework.records import layout
from coursework.records.config import TrainConfig
from coursework.runtime import backend

if TYPE_CHECKING:
    import keras

LEARNING_RATE = 0.03


def nielsen_net(seed: int, steps_per_execution: int = 1) -> keras.Model:
    """Nielsen's two-conv-pool ReLU network, compiled as a run compiles it (SGD, eta 0.03)."""
    import keras

    from coursework.engine.network import compile_model
    from coursework.records.builders import resolve_builder

    build = resolve_builder("conv:build")

    keras.utils.set_random_seed(seed)
    model = build(
        (28, 28, 1),
        10,
        conv_maps=[20, 40],
        kernel_size=5,
        pool="max",
        hidden=[100],
        activation="relu",
    )
    config = {"loss": "crossentropy", "optimizer": "sgd", "learning_rate": LEARNING_RATE}
    # a config has every setting a run has; compiling reads only the optimizer and the loss
    run = {"dataset": "mnist", "builder": "conv:build", "batch_size": 1, "epochs": 1, "seeds": [0]}
    compile_model(model, TrainConfig.from_dict(run | config))
    model.steps_per_execution = steps_per_execution  # what compile(steps_per_execution=) sets
    return model


class EpochFiles:
    """After each epoch, a run's files in ``folder``: the ``history.csv`` row, the gradient
    flow's rows (``gradients.csv``, :mod:`coursework.engine.gradients`) and the checkpoint,
    written as a run writes them (validation columns empty). ``probe_seconds``: each epoch's
    gradient probe, timed apart."""

    def __init__(self, model: keras.Model, split: Any, folder: Path):
        from coursework.engine.gradients import GradientLog, Probe
        from coursework.engine.history import History

        self.model, self.folder = model, Path(folder)
        self.history = History(self.folder / layout.HISTORY, keep=0)
        self.probe = Probe(model, model.loss, split, seed=0)
        self.gradients = GradientLog(self.folder / layout.GRADIENTS, keep=0)
        self.probe_seconds: list[float] = []
        self.checkpoint: Any = None  # made after the first epoch: fit builds the optimizer late

    def write(self, epoch: int, logs: dict[str, Any], seconds: float) -> None:
        import keras

        from coursework.engine.history import Checkpoint

        if self.checkpoint is None:
            self.checkpoint = Checkpoint(layout.checkpoint_file(self.folder), self.model)
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row = {"epoch": epoch + 1, "loss": float(logs["loss"]), "learning_rate": lr}
        row |= {"accuracy": float(logs["accuracy"]), "epoch_seconds": round(seconds, 3)}
        self.history.append(row)
        t0 = time.perf_counter()
        self.gradients.append(self.probe.rows(epoch + 1))
        self.probe_seconds.append(time.perf_counter() - t0)
        self.checkpoint.save(epoch + 1)


def project_ips(
    x: np.ndarray, y: np.ndarray, batch: int, epochs: int, folder: Path
) -> tuple[list[float], list[float]]:
    """Images per second per epoch through the project's epoch program, files included; and
    per epoch the gradient probe's share of it."""
    from coursework.engine import loop

    model = nielsen_net(0)
    split = loop.Split(x, y, batch, 10)
    program = loop.epoch_program(model, split, loop.Placement.here())
    files = EpochFiles(model, split, folder)
    out, probe = [], []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        logs = program(loop.epoch_order(0, epoch, len(y)))  # host floats: the work is done
        files.write(epoch, logs, time.perf_counter() - t0)
        seconds = time.perf_counter() - t0
        out.append(len(y) / seconds)
        probe.append(files.probe_seconds[-1] / seconds)
    return out, probe


def epoch_steps(n: int, batch: int, steps_per_execution: int) -> int:
    """``steps_per_execution`` as ``fit`` is given it: 0 means a whole epoch per call."""
    return steps_per_execution or math.ceil(n / batch)


def fit_ips(
    x: np.ndarray,
    y: np.ndarray,
    batch: int,
    epochs: int,
    folder: Path,
    steps_per_execution: int = 1,
) -> list[float]:
    """Images per second per epoch through ``model.fit(x, y, batch_size=batch,
    shuffle=True)`` on float32 arrays, files included (``steps_per_execution``: 0 for a
    whole epoch per call)."""
    import keras

    from coursework.engine import loop

    model = nielsen_net(0, epoch_steps(len(y), batch, steps_per_execution))
    files = EpochFiles(model, loop.Split(x, y, batch, 10), folder)
    seconds: list[float] = []

    class Files(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            files.write(epoch, logs or {}, time.perf_counter() - self.start)
            seconds.append(time.perf_counter() - self.start)

    model.fit(
        scale(x),
        y,
        batch_size=batch,
        epochs=epochs,
        shuffle=True,
        callbacks=[Files()],
        verbose=0,
    )
    return [len(y) / s for s in seconds]


def measure(
    path: str, x: np.ndarray, y: np.ndarray, batch: int, epochs: int, steps_per_execution: int = 1
) -> dict:
    """Images/s per epoch of ``path`` (``project`` or ``fit``) on this process's backend,
    its files written in a scratch folder."""
    probe: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        if path == "project":
            ips, probe = project_ips(x, y, batch, epochs, Path(tmp))
        else:
            ips = fit_ips(x, y, batch, epochs, Path(tmp), steps_per_execution)
    from coursework.engine.estimate import device_name

    return {
        "ips": ips,
        "probe": probe,
        "backend": backend.current(),
        "version": backend.version(),
        "device": device_name(),
    }
