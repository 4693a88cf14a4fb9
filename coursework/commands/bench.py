"""``make bench``: the project's training path against a plain ``model.fit``, per backend.

Every path trains Nielsen's two-conv-pool ReLU network (20 and 40 maps of 5x5, 2x2 max-pool,
FC-100, softmax; plain SGD, eta 0.03) on the same images, at each batch size:

- *project*: the engine's own epoch program (:mod:`coursework.engine.loop`): the images on the
  device, a whole epoch as one compiled program;
- *plain*: ``model.fit(x, y, batch_size=B, shuffle=True)`` on float32 arrays, what a student
  would write first;
- *PyTorch eager* (when PyTorch is installed): the same network in plain PyTorch, the data on
  the device, one Python step per batch.

Each path, backend and batch size is measured in a fresh worker process, on the GPU when there
is one. The first epoch (compilation, warm-up) is left out; the figure is the median over the
remaining epochs of images per second. Writes ``results/bench.json``.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from coursework import __version__
from coursework.data import datasets as data
from coursework.engine.estimate import device_name
from coursework.records import layout, storage
from coursework.records.config import TrainConfig
from coursework.records.record import SCHEMA_VERSION
from coursework.runtime import backend, workers

if TYPE_CHECKING:
    import keras

LEARNING_RATE = 0.03


def bench_images() -> tuple[np.ndarray, np.ndarray, str]:
    """uint8 images (N, 28, 28, 1) and int64 labels: full MNIST's 10,000 validation images
    where ``mnist.npz`` is on this machine (see :func:`coursework.data.datasets.mnist_candidates`;
    nothing is downloaded), else the 4,000 training images of ``mnist-5k``."""
    found = next((p for p in data.mnist_candidates() if p.exists()), None)
    if found is not None:
        ds = data.load("mnist")
        return ds.x_val, ds.y_val, f"mnist (validation split, from {found})"
    ds = data.load("mnist-5k")
    return ds.x_train, ds.y_train, "mnist-5k (training split)"


# --------------------------------------------------------------------------- Keras paths


def nielsen_net(seed: int) -> keras.Model:
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
    run = {
        "dataset": "mnist",
        "builder": "conv:build",
        "batch_size": 1,
        "epochs": 1,
        "seeds": [seed],
    }
    compile_model(model, TrainConfig.from_dict(run | config))
    return model


def project_ips(x: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> list[float]:
    """Images per second per epoch through the project's own training path."""
    from coursework.engine import loop

    model = nielsen_net(0)
    program = loop.epoch_program(model, loop.Split(x, y, batch, 10), loop.Placement.here())
    out = []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        program(loop.epoch_order(0, epoch, len(y)))  # returns host floats: the work is done
        out.append(len(y) / (time.perf_counter() - t0))
    return out


def plain_ips(x: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> list[float]:
    """Images per second per epoch through ``model.fit`` on numpy arrays."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    nielsen_net(0).fit(
        data.scale(x),
        y,
        batch_size=batch,
        epochs=epochs,
        shuffle=True,
        callbacks=[timer],
        verbose=0,
    )
    return [len(y) / s for s in timer.seconds]


def measure(path: str, x: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> dict:
    """Images/s per epoch of ``path`` (``project`` or ``plain``) on this process's backend."""
    ips = (project_ips if path == "project" else plain_ips)(x, y, batch, epochs)
    return {
        "ips": ips,
        "backend": backend.current(),
        "version": backend.version(),
        "device": device_name(),
    }


def measure_backend(
    name: str, x: np.ndarray, y: np.ndarray, batch_sizes: list[int], epochs: int, settings: dict
) -> list[dict]:
    """Project and plain paths at every batch size on backend ``name``, each measurement in
    a fresh worker process (a path's leftover threads never slow the next one)."""
    rows = []
    for batch in batch_sizes:
        got = {}
        for path in ("project", "plain"):
            print(f"{name}, batch {batch}: {path} ...", flush=True)
            with workers.pool(1, backend=name, settings=settings) as pool:
                got[path] = pool.submit(measure, path, x, y, batch, epochs).result()
        proj, plain = got["project"]["ips"][1:], got["plain"]["ips"][1:]
        p, q = statistics.median(proj), statistics.median(plain)
        rows.append(
            {
                "backend": name,
                "version": got["project"]["version"],
                "device": got["project"]["device"],
                "batch_size": batch,
                "project_ips": round(p, 1),
                "plain_ips": round(q, 1),
                "ratio": round(p / q, 3),
                "project_epochs_ips": [round(v, 1) for v in proj],
                "plain_epochs_ips": [round(v, 1) for v in plain],
            }
        )
        print(
            f"{name}, batch {batch}: project {p:,.0f} img/s, plain {q:,.0f} img/s, "
            f"ratio {p / q:.2f}",
            flush=True,
        )
    return rows


# --------------------------------------------------------------------------- PyTorch eager


def torch_eager(x: np.ndarray, y: np.ndarray, batch_sizes: list[int], epochs: int) -> list[dict]:
    """The same network and SGD in plain PyTorch, eager, data on the device."""
    import torch
    from torch import nn

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    xs = torch.as_tensor(data.scale(x)).permute(0, 3, 1, 2).contiguous().to(dev)
    ys = torch.as_tensor(y).to(dev)
    rows = []
    for batch in batch_sizes:
        torch.manual_seed(0)
        net = nn.Sequential(
            nn.Conv2d(1, 20, 5),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Conv2d(20, 40, 5),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(640, 100),
            nn.ReLU(),
            nn.Linear(100, 10),
        ).to(dev)
        opt = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)
        loss_fn = nn.CrossEntropyLoss()
        ips = []
        for _ in range(epochs):
            t0 = time.perf_counter()
            order = torch.randperm(len(ys), device=dev)
            for i in range(0, len(ys), batch):
                idx = order[i : i + batch]
                opt.zero_grad(set_to_none=True)
                loss_fn(net(xs[idx]), ys[idx]).backward()
                opt.step()
            if dev == "cuda":
                torch.cuda.synchronize()
            ips.append(len(ys) / (time.perf_counter() - t0))
        med = statistics.median(ips[1:])
        rows.append(
            {
                "batch_size": batch,
                "ips": round(med, 1),
                "version": torch.__version__,
                "device": torch.cuda.get_device_name(0) if dev == "cuda" else "CPU",
                "epochs_ips": [round(v, 1) for v in ips[1:]],
            }
        )
        print(f"PyTorch eager, batch {batch}: {med:,.0f} img/s", flush=True)
    return rows


# --------------------------------------------------------------------------- driver


def bench(
    results_dir: Path,
    batch_sizes: list[int],
    epochs: int,
    backends: list[str] | None = None,
    with_torch: bool | None = None,
    deterministic: bool | None = None,
    limit: int | None = None,
    images: tuple[np.ndarray, np.ndarray, str] | None = None,
) -> dict:
    """Measure every backend in ``backends`` (default: every installed one), and PyTorch
    eager when ``with_torch`` (default: when PyTorch is installed); write and return
    ``results/bench.json``. ``limit``: the first N images only. ``images``: (uint8 images,
    labels, description) instead of :func:`bench_images`."""
    x, y, source = images or bench_images()
    x, y = x[:limit], y[:limit]
    backends = backends or backend.installed()
    for name in backends:
        backend.check_installed(name)
    if with_torch is None:
        with_torch = importlib.util.find_spec("torch") is not None
    settings = {"deterministic": deterministic, "mixed_precision": False}
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "coursework_version": __version__,
        "images": len(y),
        "data": source,
        "epochs": epochs,
        "statistic": "median images/s over epochs 2..N",
        "results": [],
        "torch_eager": [],
    }
    for name in backends:
        out["results"] += measure_backend(name, x, y, batch_sizes, epochs, settings)
    if with_torch:
        with workers.pool(1, backend="torch") as pool:
            out["torch_eager"] = pool.submit(torch_eager, x, y, batch_sizes, epochs).result()
    storage.write_json(layout.bench_file(results_dir), out)
    return out


def table(out: dict) -> str:
    lines = [
        f"data: {out['data']}, {out['images']:,} images; {out['statistic']}",
        f"{'backend':11} {'device':28} {'batch':>5} {'project img/s':>14} "
        f"{'plain img/s':>12} {'ratio':>6}",
    ]
    for r in out["results"]:
        lines.append(
            f"{r['backend']:11} {r['device'][:28]:28} {r['batch_size']:>5} "
            f"{r['project_ips']:>14,.0f} {r['plain_ips']:>12,.0f} {r['ratio']:>6.2f}"
        )
    for t in out["torch_eager"]:
        ours = [r for r in out["results"] if r["batch_size"] == t["batch_size"]]
        vs = ", ".join(f"{r['backend']} project {r['project_ips'] / t['ips']:.2f}x" for r in ours)
        lines.append(
            f"PyTorch eager ({t['device']}), batch {t['batch_size']}: "
            f"{t['ips']:,.0f} img/s" + (f"; {vs}" if vs else "")
        )
    return "\n".join(lines)
