"""How fast each network trains here: a short measured calibration, cached per machine and
backend, from which ``make plan`` and ``run`` estimate how long training will take.

A network is calibrated by the training path itself (:func:`coursework.engine.run.prepare`, the
epoch program of :mod:`coursework.engine.loop`) on random images of the dataset's shape: one pass of
``STEPS`` mini-batches to compile, then the same pass again, timed, and the same for evaluation.
What is kept (``<results>/calibration.json``, keyed by machine, backend and network):

- ``train_ips``: training images per second once compiled;
- ``eval_ips``: images per second of evaluation (validation after each epoch, and test);
- ``setup_seconds``: building, compiling and the first pass, less the time its images take.

A run of E epochs on N training images (5N when expanded) is then estimated at
``setup + E * (N / train_ips + n_val / eval_ips) + 2 * n_test / eval_ips``. Speed does not
depend on what the pixels show, the learning rate or the seed, so none of them is in the key.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from coursework import __version__
from coursework.engine.run import EVAL_BATCH, prepare
from coursework.records import data, results
from coursework.records.errors import ResultsError
from coursework.records.results import SCHEMA_VERSION
from coursework.runtime import backend, env

STEPS = 200  # mini-batches per timed pass ("a few hundred steps")
MAX_IMAGES = 20_000  # per timed pass, for large batches
EVAL_IMAGES = 5_000


@dataclass(frozen=True)
class Speed:
    """The measured speed of one network on this machine and backend."""

    train_ips: float
    eval_ips: float
    setup_seconds: float

    def seconds(self, epochs: int, epoch_images: int, sizes: dict[str, int]) -> float:
        """Estimated seconds for one run and seed: ``epochs`` epochs of ``epoch_images``."""
        per_epoch = epoch_images / self.train_ips + sizes["val"] / self.eval_ips
        return self.setup_seconds + epochs * per_epoch + 2 * sizes["test"] / self.eval_ips


def machine() -> dict:
    """What the speed depends on besides the network: hardware, backend, versions, settings."""
    hw = env.hardware()
    settings = backend.settings()
    return {"cpu": hw["cpu"], "cpu_count": hw["cpu_count"],
            "gpus": [g["name"] for g in hw["gpus"]], "backend": backend.chosen(),
            "backend_version": backend.version(), "keras": keras.__version__,
            "deterministic": bool(settings["deterministic"]),
            "mixed_precision": bool(settings["mixed_precision"])}


def network(cfg: dict, info: data.DatasetInfo) -> dict:
    """The parts of a run's config that decide its speed."""
    return {"builder": cfg["builder"], "model": cfg["model"], "batch_size": cfg["batch_size"],
            "optimizer": cfg["optimizer"], "loss": cfg["loss"],
            "augment": "none" if cfg["augment"] == "expand" else cfg["augment"],
            "l1": bool(cfg.get("l1_lambda")), "l2": bool(cfg.get("l2_lambda")),
            "input_shape": list(info.input_shape), "num_classes": info.num_classes}


def key(cfg: dict, info: data.DatasetInfo) -> str:
    text = json.dumps({"machine": machine(), "network": network(cfg, info)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def measure(cfg: dict, info: data.DatasetInfo) -> Speed:
    """Calibrate one network (a few seconds): see the module docstring."""
    batch = cfg["batch_size"]
    n = max(batch, min(STEPS * batch, MAX_IMAGES) // batch * batch)
    rng = np.random.default_rng(0)
    shape = tuple(info.input_shape)

    def images(k: int) -> np.ndarray:
        return rng.integers(0, 256, (k, *shape), dtype=np.uint8)

    def labels(k: int) -> np.ndarray:
        return np.arange(k, dtype=np.int64) % info.num_classes

    k_eval = EVAL_IMAGES
    ds = data.Dataset("calibration", images(n), labels(n), images(k_eval), labels(k_eval),
                      images(batch), labels(batch), info.num_classes)
    cfg = {**cfg, "augment": "none" if cfg["augment"] == "expand" else cfg["augment"]}
    order = np.arange(n, dtype=np.int32)
    try:
        t0 = time.perf_counter()
        s = prepare(cfg, 0, ds)
        s.program(order)  # compiles
        t1 = time.perf_counter()
        s.program(order)
        t2 = time.perf_counter()
        for _ in range(2):  # the first call compiles
            t3 = time.perf_counter()
            s.net.evaluate(s.x_val, s.y_val, batch_size=EVAL_BATCH, verbose=0)
        t4 = time.perf_counter()
    finally:
        keras.backend.clear_session()
    train_seconds = t2 - t1
    return Speed(train_ips=round(n / train_seconds, 1), eval_ips=round(k_eval / (t4 - t3), 1),
                 setup_seconds=round(max(0.0, (t1 - t0) - train_seconds), 3))


class Calibrations:
    """The cache in ``<results>/calibration.json``: speeds by :func:`key`."""

    def __init__(self, results_dir: Path):
        self.path = results.calibration_file(results_dir)
        self.entries: dict[str, dict] = {}
        if self.path.exists():
            try:
                self.entries = results.read_json(self.path).get("entries", {})
            except ResultsError as exc:  # a cache: measure again rather than stop
                print(f"note: {exc}; calibrating again", flush=True)

    def get(self, cfg: dict, info: data.DatasetInfo) -> Speed | None:
        entry = self.entries.get(key(cfg, info))
        return Speed(**entry["speed"]) if entry else None

    def ensure(self, cfg: dict, info: data.DatasetInfo) -> Speed:
        """The cached speed, or a new calibration (saved at once)."""
        speed = self.get(cfg, info)
        if speed is None:
            speed = measure(cfg, info)
            self.entries[key(cfg, info)] = {
                "machine": machine(), "network": network(cfg, info),
                "speed": vars(speed),
                "measured": time.strftime("%Y-%m-%dT%H:%M:%S")}
            results.write_json(self.path, {"schema_version": SCHEMA_VERSION,
                                           "coursework_version": __version__,
                                           "entries": self.entries})
        return speed
