"""``make bench``: the project's training path against ``model.fit``, per backend.

Every path trains Nielsen's two-conv-pool ReLU network (20 and 40 maps of 5x5, 2x2 max-pool,
FC-100, softmax; plain SGD, eta 0.03) on the same images, at each batch size, and writes a
run's files after every epoch (:mod:`coursework.commands.bench_paths`):

- *project*: the engine's own epoch program (:mod:`coursework.engine.loop`): the images on the
  device, a whole epoch as one compiled program;
- *plain*: ``model.fit(x, y, batch_size=B, shuffle=True)`` on float32 arrays, what a student
  would write first (one step per execution);
- *fit spe=N*: the same ``fit`` compiled with ``steps_per_execution=N`` (:data:`FIT_STEPS`),
  Keras' own remedy for small batches; not on PyTorch, where Keras refuses more than 1;
- *PyTorch eager* (when PyTorch is installed): the same network in plain PyTorch, the data on
  the device, one Python step per batch.

Each path, backend and batch size is measured in a fresh worker process, on the GPU when there
is one. The first epoch (compilation, warm-up) is left out; the figure is the median over the
remaining epochs of images per second. The project's path also times its gradient probe
(``gradients.csv``, after every epoch as in a run): its share of an epoch here, and of an epoch
of the full profile's 50,000 training images (the probe's cost does not grow with the epoch).
Writes ``results/bench.json``.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from coursework import __version__
from coursework.commands.bench_paths import LEARNING_RATE, epoch_steps, measure
from coursework.data import datasets as data
from coursework.data.arrays import scale
from coursework.data.named import mnist_candidates
from coursework.records import layout, storage
from coursework.records.record import SCHEMA_VERSION
from coursework.runtime import backend, workers

# ``fit``'s steps per execution for the third path (0: a whole epoch per call): the fastest of
# 32, 64 and a whole epoch on the 2-core CPU at batches 10, 64 and 256 (docs/performance.md).
FIT_STEPS = 64
FULL_IMAGES = 50_000  # the full profile's training split (MNIST): the probe's share there


def bench_images() -> tuple[np.ndarray, np.ndarray, str]:
    """uint8 images (N, 28, 28, 1) and int64 labels: full MNIST's 10,000 validation images
    where ``mnist.npz`` is on this machine (see :func:`coursework.data.named.mnist_candidates`;
    nothing is downloaded), else the 4,000 training images of ``mnist-5k``."""
    found = next((p for p in mnist_candidates() if p.exists()), None)
    if found is not None:
        ds = data.load("mnist")
        return ds.x_val, ds.y_val, f"mnist (validation split, from {found})"
    ds = data.load("mnist-5k")
    return ds.x_train, ds.y_train, "mnist-5k (training split)"


def measure_backend(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    batch_sizes: list[int],
    epochs: int,
    settings: dict,
    steps_per_execution: int = FIT_STEPS,
) -> list[dict]:
    """Project, plain and ``fit`` at ``steps_per_execution`` (0: a whole epoch per call;
    PyTorch: not measured, Keras refuses more than 1) at every batch size on backend
    ``name``, each measurement in a fresh worker process (a path's leftover threads never
    slow the next one)."""
    rows = []
    for batch in batch_sizes:
        spe = epoch_steps(len(y), batch, steps_per_execution)
        paths = {"project": ("project", 1), "plain": ("fit", 1), "fit": ("fit", spe)}
        if name == "torch":
            del paths["fit"]
        got = {}
        for key, (path, steps) in paths.items():
            print(f"{name}, batch {batch}: {key} ...", flush=True)
            with workers.pool(1, backend=name, settings=settings) as pool:
                got[key] = pool.submit(measure, path, x, y, batch, epochs, steps).result()
        rows.append(row(name, batch, spe, got, len(y)))
        r = rows[-1]
        fit = f"fit spe={spe} {r['fit_ips']:,.0f} img/s" if r["fit_ips"] else "fit spe>1 refused"
        print(
            f"{name}, batch {batch}: project {r['project_ips']:,.0f} img/s, plain "
            f"{r['plain_ips']:,.0f} img/s, {fit}; gradient probe {probe_words(r)}",
            flush=True,
        )
    return rows


def probe_share(shares: list[float], n: int, images: int = FULL_IMAGES) -> float:
    """The gradient probe's share of an epoch of ``images`` training images, from its shares
    ``shares`` of the measured epochs of ``n`` (the probe costs the same at any epoch's size:
    256 images)."""
    share = statistics.median(shares)
    return share / (share + (1 - share) * images / n)


def row(name: str, batch: int, spe: int, got: dict[str, dict], n: int) -> dict[str, Any]:
    """One batch size's row of ``bench.json``: each path's median after the warm-up epoch,
    its epochs, and the project's ratio to each ``fit`` (None where not measured); the
    gradient probe's share of the project's epoch, here (``n`` images) and at the full
    profile's size."""
    ips = {k: v["ips"][1:] for k, v in got.items()}
    med = {k: statistics.median(v) for k, v in ips.items()}
    fit = med.get("fit")
    shares = got["project"]["probe"][1:]
    return {
        "backend": name,
        "version": got["project"]["version"],
        "device": got["project"]["device"],
        "batch_size": batch,
        "project_ips": round(med["project"], 1),
        "plain_ips": round(med["plain"], 1),
        "ratio": round(med["project"] / med["plain"], 3),
        "steps_per_execution": spe,
        "fit_ips": None if fit is None else round(fit, 1),
        "fit_ratio": None if fit is None else round(med["project"] / fit, 3),
        "project_epochs_ips": [round(v, 1) for v in ips["project"]],
        "plain_epochs_ips": [round(v, 1) for v in ips["plain"]],
        "fit_epochs_ips": [round(v, 1) for v in ips.get("fit", [])],
        "probe_share": round(probe_share(shares, n, n), 5),
        "probe_share_full": round(probe_share(shares, n), 5),
    }


# --------------------------------------------------------------------------- PyTorch eager


def torch_eager(x: np.ndarray, y: np.ndarray, batch_sizes: list[int], epochs: int) -> list[dict]:
    """The same network and SGD in plain PyTorch, eager, data on the device."""
    import torch
    from torch import nn

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    xs = torch.as_tensor(scale(x)).permute(0, 3, 1, 2).contiguous().to(dev)
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
    steps_per_execution: int = FIT_STEPS,
) -> dict:
    """Measure every backend in ``backends`` (default: every installed one), and PyTorch
    eager when ``with_torch`` (default: when PyTorch is installed); write and return
    ``results/bench.json``. ``limit``: the first N images only. ``images``: (uint8 images,
    labels, description) instead of :func:`bench_images`. ``steps_per_execution``: the
    third path's, ``fit``'s remedy for small batches (0: a whole epoch per call)."""
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
        "files": "history.csv row and checkpoint after every epoch, validation left out",
        "results": [],
        "torch_eager": [],
    }
    for name in backends:
        out["results"] += measure_backend(
            name, x, y, batch_sizes, epochs, settings, steps_per_execution
        )
    if with_torch:
        with workers.pool(1, backend="torch") as pool:
            out["torch_eager"] = pool.submit(torch_eager, x, y, batch_sizes, epochs).result()
    storage.write_json(layout.bench_file(results_dir), out)
    return out


def probe_words(r: dict[str, Any]) -> str:
    """The gradient probe's share of an epoch, in words: here and at the full profile's size."""
    return (
        f"{r['probe_share']:.2%} of an epoch here, {r['probe_share_full']:.2%} of one of "
        f"{FULL_IMAGES:,} images"
    )


def table(out: dict) -> str:
    """``bench.json`` as the terminal shows it: a row per backend and batch size; ``fit
    spe=N``: ``fit`` at ``N`` steps per execution, with the project's ratio to it."""
    lines = [
        f"data: {out['data']}, {out['images']:,} images; {out['statistic']}",
        f"{'backend':11} {'device':28} {'batch':>5} {'project img/s':>14} "
        f"{'plain img/s':>12} {'ratio':>6} {'fit spe=N':>10} {'img/s':>8} {'ratio':>6}",
    ]
    for r in out["results"]:
        fit = (
            f"{'spe=' + str(r['steps_per_execution']):>10} {r['fit_ips']:>8,.0f} "
            f"{r['fit_ratio']:>6.2f}"
            if r["fit_ips"] is not None
            else f"{'refused':>10}"
        )
        lines.append(
            f"{r['backend']:11} {r['device'][:28]:28} {r['batch_size']:>5} "
            f"{r['project_ips']:>14,.0f} {r['plain_ips']:>12,.0f} {r['ratio']:>6.2f} {fit}"
        )
    for r in out["results"]:
        if "probe_share" in r:  # bench.json written before the probe had no share
            lines.append(
                f"gradient probe, {r['backend']} batch {r['batch_size']}: {probe_words(r)}"
            )
    for t in out["torch_eager"]:
        ours = [r for r in out["results"] if r["batch_size"] == t["batch_size"]]
        vs = ", ".join(f"{r['backend']} project {r['project_ips'] / t['ips']:.2f}x" for r in ours)
        lines.append(
            f"PyTorch eager ({t['device']}), batch {t['batch_size']}: "
            f"{t['ips']:,.0f} img/s" + (f"; {vs}" if vs else "")
        )
    return "\n".join(lines)
