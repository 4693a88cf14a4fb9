"""A network's measured speed (:class:`Speed`: the estimates of a run's time drawn from it)
and what a finished run's epochs say of it (:class:`Observation`); what
:mod:`.calibrate` caches and corrects, without Keras."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Speed:
    """The measured speed of one network on this machine and backend."""

    train_ips: float
    eval_ips: float
    setup_seconds: float
    eval_call_seconds: float = 0.0  # absent from calibrations of before it was measured

    def evaluate_seconds(self, images: int) -> float:
        """Estimated seconds of one ``evaluate`` (or ``predict``) call on ``images``."""
        return self.eval_call_seconds + images / self.eval_ips

    def epoch_seconds(self, epoch_images: int, sizes: dict[str, int]) -> float:
        """Estimated seconds of one epoch after the first: training, then validation (what
        ``history.csv``'s ``epoch_seconds`` measures)."""
        return epoch_images / self.train_ips + self.evaluate_seconds(sizes["val"])

    def seconds(self, epochs: int, epoch_images: int, sizes: dict[str, int]) -> float:
        """Estimated seconds for one run and seed: ``epochs`` epochs of ``epoch_images``, then
        the test split evaluated and predicted."""
        return (
            self.setup_seconds
            + epochs * self.epoch_seconds(epoch_images, sizes)
            + 2 * self.evaluate_seconds(sizes["test"])
        )

    def scaled(self, factor: float) -> Speed:
        """This speed ``factor`` times as fast, in training and evaluation alike."""
        return Speed(
            round(self.train_ips * factor, 1),
            round(self.eval_ips * factor, 1),
            self.setup_seconds,
            round(self.eval_call_seconds / factor, 4),
        )


def steady_epoch_seconds(history: Sequence[dict]) -> list[float]:
    """The ``epoch_seconds`` of a run's history rows after the first (which also compiles)."""
    return [
        float(r["epoch_seconds"]) for r in history[1:] if r.get("epoch_seconds") not in (None, "")
    ]


def fast_epoch(seconds: Sequence[float]) -> float:
    """The lower quartile of a run's epoch times: near what the epochs take on this machine
    alone, as the median is not where other work shared the machine for part of the run
    (measured: 2.76 s against 1.55 s alone, in a run whose fastest epochs took 1.58 s)."""
    if len(seconds) < 2:
        return float(seconds[0])
    return statistics.quantiles(seconds, n=4, method="inclusive")[0]


@dataclass(frozen=True)
class Observation:
    """What :func:`.calibrate.observe` found: the seconds of a run's epochs as the cached
    speed predicted them (setup and its epochs) and as the run measured them (the first
    epoch's extra, which compiles, and its epochs at :func:`fast_epoch`), and whether it
    replaced the speed."""

    predicted: float
    measured: float
    epoch: float  # the run's fast epoch
    setup: float  # the run's first epoch less its fast epoch
    replaced: bool

    @property
    def miss(self) -> float:
        """How far the prediction was off, as a fraction of the measured time."""
        return abs(self.predicted - self.measured) / self.measured
