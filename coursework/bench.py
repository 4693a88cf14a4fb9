"""``make bench``: the project's training path against a plain ``model.fit`` on numpy arrays.

Both train Nielsen's two-conv-pool ReLU network (20 and 40 maps of 5x5, 2x2 max-pool, FC-100,
softmax; plain SGD, eta 0.03) on the same images in one process, at each batch size:

- *project*: :func:`coursework.train.train_dataset` (uint8 images in memory, cast and scaled
  in the graph, seeded shuffle, batches, small prefetch, private thread pool) and
  ``steps_per_execution`` from :func:`coursework.train.steps_per_execution`;
- *plain*: ``model.fit(x, y, batch_size=B, shuffle=True)`` on float32 arrays, what a student
  would write first.

The first epoch (tracing, warm-up) is left out; the figure is the median over the remaining
epochs of images per second (the machine is noisy). Writes ``results/bench.json``.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from coursework import __version__, data, results
from coursework.results import SCHEMA_VERSION

SHARED_VALID = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist-valid.npz"


def bench_images() -> tuple[np.ndarray, np.ndarray, str]:
    """uint8 images (N, 28, 28, 1) and int64 labels: the real 10k MNIST validation split from
    ``../shared/data`` when present, else the 4,000 training images of ``mnist-5k``."""
    if SHARED_VALID.exists():
        with np.load(SHARED_VALID, allow_pickle=False) as f:
            x = np.rint(f["inputs"].astype(np.float32) * 256).clip(0, 255).astype(np.uint8)
            y = f["targets"].astype(np.int64)
        return x.reshape(-1, 28, 28, 1), y, f"mnist-valid ({SHARED_VALID})"
    ds = data.load("mnist-5k")
    return ds.x_train, ds.y_train, "mnist-5k (training split)"


def device_name() -> str:
    from coursework.env import environment

    env = environment()
    if env["gpus"]:
        return ", ".join(g.get("name") or g["device"] for g in env["gpus"])
    return f"CPU: {env['cpu']} ({env['cpu_count']} cores)"


class EpochTimer(keras.callbacks.Callback):
    """Wall time of every epoch of a ``fit``."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self.start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def nielsen_net(seed: int) -> keras.Model:
    from models.conv import build

    keras.utils.set_random_seed(seed)
    return build((28, 28, 1), 10, conv_maps=[20, 40], kernel_size=5, pool="max", hidden=[100],
                 activation="relu")


def compiled(model: keras.Model, steps: int = 1) -> keras.Model:
    model.compile(optimizer=keras.optimizers.SGD(0.03),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                  steps_per_execution=steps)
    return model


def project_ips(x: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> list[float]:
    """Images per second per epoch through the project's own training path."""
    from coursework.train import steps_per_execution, train_dataset

    model = compiled(nielsen_net(0), steps_per_execution(batch))
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    ds = train_dataset(x, y, batch_size=batch, seed=0, epoch=epoch, num_classes=10)
    timer = EpochTimer()
    model.fit(ds, epochs=epochs, callbacks=[timer], verbose=0, shuffle=False)
    return [len(y) / s for s in timer.seconds]


def plain_ips(x: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> list[float]:
    """Images per second per epoch through ``model.fit`` on numpy arrays."""
    model = compiled(nielsen_net(0))
    xf = x.astype("float32") / 255.0
    timer = EpochTimer()
    model.fit(xf, y, batch_size=batch, epochs=epochs, shuffle=True, callbacks=[timer],
              verbose=0)
    return [len(y) / s for s in timer.seconds]


def bench(results_dir: Path, batch_sizes: list[int], epochs: int,
          images: tuple[np.ndarray, np.ndarray, str] | None = None) -> dict:
    """Run both paths at every batch size; write and return ``results/bench.json``.

    ``images``: (uint8 images, labels, description) instead of :func:`bench_images`."""
    x, y, source = images or bench_images()
    out = {"schema_version": SCHEMA_VERSION, "coursework_version": __version__,
           "device": device_name(), "images": len(y), "data": source, "epochs": epochs,
           "statistic": "median images/s over epochs 2..N", "results": []}
    for batch in batch_sizes:
        print(f"batch {batch}: project path ...", flush=True)
        proj = project_ips(x, y, batch, epochs)[1:]
        print(f"batch {batch}: plain fit ...", flush=True)
        plain = plain_ips(x, y, batch, epochs)[1:]
        p, q = statistics.median(proj), statistics.median(plain)
        row = {"batch_size": batch, "project_ips": round(p, 1), "plain_ips": round(q, 1),
               "ratio": round(p / q, 3), "project_epochs_ips": [round(v, 1) for v in proj],
               "plain_epochs_ips": [round(v, 1) for v in plain]}
        out["results"].append(row)
        print(f"batch {batch}: project {p:,.0f} img/s, plain {q:,.0f} img/s, "
              f"ratio {p / q:.2f}", flush=True)
    results.write_json(Path(results_dir) / "bench.json", out)
    return out


def table(out: dict) -> str:
    lines = [f"device: {out['device']}; data: {out['data']}, {out['images']:,} images; "
             f"{out['statistic']}",
             f"{'batch':>6} {'project img/s':>14} {'plain img/s':>12} {'ratio':>6}"]
    for r in out["results"]:
        lines.append(f"{r['batch_size']:>6} {r['project_ips']:>14,.0f} {r['plain_ips']:>12,.0f} "
                     f"{r['ratio']:>6.2f}")
    return "\n".join(lines)
