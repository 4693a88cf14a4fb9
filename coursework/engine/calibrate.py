"""How fast each network trains here: a short measured calibration, cached per machine and
backend, from which ``make plan`` and ``run`` estimate how long training will take.

A network is calibrated by the training path itself (:func:`coursework.engine.seeded.prepare`, the
epoch program of :mod:`coursework.engine.loop`) on random images of the dataset's shape: one pass of
``STEPS`` mini-batches to compile, then the same pass again, timed, a few times (``REPEATS``,
within ``BUDGET`` seconds), and the same for evaluation, on one batch and on ``EVAL_IMAGES``.
The fastest pass is kept: other work on the machine only ever slows a pass down, so the fastest
is the one nearest the machine's own speed (one pass taken while two other processes kept both
cores busy read 1.7-4 times slow). What is kept (``<results>/calibration.json``, keyed by machine,
backend and network):

- ``train_ips``: training images per second once compiled;
- ``eval_ips``: images per second of evaluation (validation after each epoch, and test);
- ``eval_call_seconds``: what one ``evaluate`` call costs besides its images (Keras' data
  adapter and callbacks: 75 ms on 2 CPU cores, half of a quick profile's epoch);
- ``setup_seconds``: building, compiling and the first pass, less the time its images take,
  and the first evaluation's compiling.

A run of E epochs on N training images (5N when expanded) is then estimated at
``setup + E * (N / train_ips + val) + 2 * test`` (validation and test each one call:
``eval_call_seconds + n / eval_ips``). Speed does not depend on what the pixels show, the
learning rate or the seed, so none of them is in the key.

A machine busy for the whole calibration still reads slow, so a finished run corrects the cache
(:func:`observe`): where its epochs (``history.csv``'s ``epoch_seconds``: the first one's
extra, compiling, and the others at their lower quartile, the run's own best-of, as other work
came and went during it) missed the cached speed's prediction by more than ``MISS``, the speed
is replaced by the one the run measured, and the entry says so (``observed``). Every write
re-reads the file under a lock beside it (``.calibration.lock``), so that several processes
(``--jobs``, two commands at once) keep each other's entries.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import numpy as np

from coursework import __version__
from coursework.data import arrays as data
from coursework.engine.network import epoch_images
from coursework.engine.seeded import EVAL_BATCH, prepare
from coursework.engine.speed import (
    Observation,
    Speed,
    fast_epoch,
    steady_epoch_seconds,
)
from coursework.records import layout, locks, storage
from coursework.records.config import TrainConfig
from coursework.records.errors import ResultsError
from coursework.records.record import SCHEMA_VERSION
from coursework.runtime import backend, env

log = logging.getLogger(__name__)

STEPS = 200  # mini-batches per timed pass ("a few hundred steps")
MAX_IMAGES = 20_000  # per timed pass, for large batches
EVAL_IMAGES = 10_000  # and one batch (EVAL_BATCH): two sizes, for the cost of a call
REPEATS = 3  # timed passes at most, the fastest kept (at least 2, the third within BUDGET)
BUDGET = 1.0  # seconds of timed passes after which no further pass starts
MISS = 0.30  # a finished run whose epochs the cached speed missed by more replaces it


def machine() -> dict:
    """What the speed depends on besides the network: hardware, backend, versions, settings."""
    hw = env.hardware()
    settings = backend.settings()
    return {
        "cpu": hw["cpu"],
        "cpu_count": hw["cpu_count"],
        "gpus": [g["name"] for g in hw["gpus"]],
        "backend": backend.current(),
        "backend_version": backend.version(),
        "keras": keras.__version__,
        "deterministic": bool(settings["deterministic"]),
        "mixed_precision": bool(settings["mixed_precision"]),
    }


def network(cfg: TrainConfig, info: data.DatasetInfo) -> dict[str, Any]:
    """The parts of a run's config that decide its speed."""
    return {
        "builder": cfg.builder,
        "model": cfg.model,
        "batch_size": cfg.batch_size,
        "optimizer": cfg.optimizer,
        "loss": cfg.loss,
        "augment": "none" if cfg.augment == "expand" else cfg.augment,
        "l1": bool(cfg.l1_lambda),
        "l2": bool(cfg.l2_lambda),
        "input_shape": list(info.input_shape),
        "num_classes": info.num_classes,
    }


def key(cfg: TrainConfig, info: data.DatasetInfo) -> str:
    """The cache key of a network's speed: this machine and :func:`network`."""
    text = json.dumps({"machine": machine(), "network": network(cfg, info)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def fastest(timed: Callable[[], object], repeats: int = REPEATS, budget: float = BUDGET) -> float:
    """Seconds of the fastest of up to ``repeats`` calls of ``timed`` (at least 2; no further
    one once ``budget`` seconds are spent): a busy machine slows a call, never speeds it up."""
    best, spent, calls = math.inf, 0.0, 0
    while calls < min(2, repeats) or (calls < repeats and spent < budget):
        t0 = time.perf_counter()
        timed()
        seconds = time.perf_counter() - t0
        best, spent, calls = min(best, seconds), spent + seconds, calls + 1
    return best


def measure(cfg: TrainConfig, info: data.DatasetInfo) -> Speed:
    """Calibrate one network (a few seconds): see the module docstring."""
    batch = cfg.batch_size
    n = max(batch, min(STEPS * batch, MAX_IMAGES) // batch * batch)
    rng = np.random.default_rng(0)
    shape = tuple(info.input_shape)

    def images(k: int) -> np.ndarray:
        return rng.integers(0, 256, (k, *shape), dtype=np.uint8)

    def labels(k: int) -> np.ndarray:
        return np.arange(k, dtype=np.int64) % info.num_classes

    k_eval = EVAL_IMAGES
    ds = data.Dataset(
        "calibration",
        images(n),
        labels(n),
        images(k_eval),
        labels(k_eval),
        images(batch),
        labels(batch),
        info.num_classes,
    )
    tc = cfg.with_(augment="none" if cfg.augment == "expand" else cfg.augment)
    order = np.arange(n, dtype=np.int32)
    try:
        t0 = time.perf_counter()
        s = prepare(tc, 0, ds)
        s.program(order)  # compiles
        first = time.perf_counter() - t0
        train_seconds = fastest(lambda: s.program(order))

        def evaluate(k: int) -> Callable[[], object]:
            return lambda: s.net.evaluate(
                s.x_val[:k], s.y_val[:k], batch_size=EVAL_BATCH, verbose=0
            )

        t1 = time.perf_counter()
        evaluate(k_eval)()  # the first call compiles
        first_eval = time.perf_counter() - t1
        big, small = fastest(evaluate(k_eval)), fastest(evaluate(EVAL_BATCH))
    finally:
        keras.backend.clear_session()
    # two sizes, one line: seconds = call + images / rate (one size alone, if noise hid it)
    rate = (k_eval - EVAL_BATCH) / (big - small) if big > small else k_eval / big
    call = max(0.0, small - EVAL_BATCH / rate)
    return Speed(
        train_ips=round(n / train_seconds, 1),
        eval_ips=round(rate, 1),
        setup_seconds=round(max(0.0, first - train_seconds) + max(0.0, first_eval - big), 3),
        eval_call_seconds=round(call, 4),
    )


class Calibrations:
    """The cache in ``<results>/calibration.json``: speeds by :func:`key`."""

    def __init__(self, results_dir: Path):
        self.path = layout.calibration_file(results_dir)
        self.entries: dict[str, dict] = self._read()

    def _read(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            return storage.read_json(self.path).get("entries", {})
        except ResultsError as exc:  # a cache: measure again rather than stop
            log.info(f"note: {exc}; calibrating again")
            return {}

    @contextmanager
    def _locked(self) -> Iterator[dict[str, dict]]:
        """The entries as on disk now, under the lock beside the file; written back
        (atomically) when the block ends, if changed, so no process drops another's entries."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with locks.file_lock(self.path.parent / ".calibration.lock"):
            entries = self._read()
            before = json.dumps(entries, sort_keys=True)
            yield entries
            if json.dumps(entries, sort_keys=True) != before:
                storage.write_json(
                    self.path,
                    {
                        "schema_version": SCHEMA_VERSION,
                        "coursework_version": __version__,
                        "entries": entries,
                    },
                )
        self.entries = entries

    def get(self, cfg: TrainConfig, info: data.DatasetInfo) -> Speed | None:
        entry = self.entries.get(key(cfg, info))
        return Speed(**entry["speed"]) if entry else None

    def ensure(self, cfg: TrainConfig, info: data.DatasetInfo) -> Speed:
        """The cached speed, or a new calibration (saved at once). Measured under the lock:
        two processes calibrating at once would each slow the other's measurement."""
        speed = self.get(cfg, info)
        if speed is not None:
            return speed
        k = key(cfg, info)
        with self._locked() as entries:
            if k not in entries:  # another process may have measured it meanwhile
                load = _load()
                entries[k] = {
                    "machine": machine(),
                    "network": network(cfg, info),
                    "speed": vars(measure(cfg, info)),
                    "measured": _now(),
                    "load": load,
                }
        return Speed(**self.entries[k]["speed"])

    def observe(
        self,
        cfg: TrainConfig,
        info: data.DatasetInfo,
        history: Sequence[dict],
        concurrent: int = 1,
    ) -> Observation | None:
        """Compare a finished run's epochs with its network's cached speed; where they missed
        by more than ``MISS``, replace the speed by the run's (training and evaluation scaled
        alike, so that it predicts the run's :func:`fast_epoch`; the setup, the first epoch's
        extra) and record that in the entry's ``observed``. None (nothing learnt) without a
        cached speed, with fewer than two epochs, or when ``concurrent`` runs shared the
        machine (each is slower than alone, and the plan's times are one at a time)."""
        seconds = steady_epoch_seconds(history)
        cached = self.get(cfg, info)
        if concurrent > 1 or not seconds or cached is None:
            return None
        epoch = fast_epoch(seconds)
        if epoch <= 0:
            return None
        setup = max(0.0, float(history[0]["epoch_seconds"]) - epoch)
        n, sizes, k = epoch_images(cfg, info), info.sizes, key(cfg, info)

        def check(speed: Speed, replaced: bool = False) -> Observation:
            predicted = speed.setup_seconds + len(history) * speed.epoch_seconds(n, sizes)
            return Observation(predicted, setup + len(history) * epoch, epoch, setup, replaced)

        found = check(cached)
        if found.miss <= MISS:
            return found
        with self._locked() as entries:
            entry = entries.get(k)
            if entry is None:  # removed meanwhile: nothing to correct
                return None
            old = Speed(**entry["speed"])
            found = check(old)
            if found.miss > MISS:  # another process may have corrected it meanwhile
                factor = old.epoch_seconds(n, sizes) / epoch
                new = replace(old.scaled(factor), setup_seconds=round(setup, 3))
                entry["speed"] = vars(new)
                entry["observed"] = {
                    "at": _now(),
                    "epochs": len(history),
                    "epoch_images": n,
                    "epoch_seconds": round(epoch, 3),
                    "setup_seconds": round(setup, 3),
                    "predicted_seconds": round(found.predicted, 3),
                    "measured_seconds": round(found.measured, 3),
                    "previous": vars(old),
                }
                found = Observation(found.predicted, found.measured, epoch, setup, True)
        return found


def observe(
    results_dir: Path,
    cfg: TrainConfig,
    info: data.DatasetInfo,
    history: Sequence[dict] | Path,
    concurrent: int = 1,
) -> Observation | None:
    """After a finished run: correct its network's cached speed from the run's own epochs
    (:meth:`Calibrations.observe`). ``history``: its rows, or its run folder (``history.csv``
    read from it). Never fails the run: a cache it cannot read or write is a note."""
    try:
        if isinstance(history, Path):
            path = history / layout.HISTORY if history.is_dir() else history
            history = storage.read_csv(path) if path.exists() else []
        return Calibrations(results_dir).observe(cfg, info, history, concurrent)
    except (OSError, ResultsError) as exc:
        log.info(f"note: speed cache not updated: {exc}")
        return None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _load() -> float | None:
    """The 1-minute load average when a calibration starts (where the system has one): a
    record of how busy the machine was."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None
