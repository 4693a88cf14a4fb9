"""One seed of a run being trained, as one value: what every step of its training reads.

A :class:`RunContext` is made where a seed starts training (:mod:`.claimed`, a tuning trial,
a re-run through :func:`coursework.engine.trainer.train`) and handed down, instead of the run,
seed, dataset, folder and label that each function took one by one. :meth:`RunContext.log` is
how its training speaks: a module's logger whose records carry the run's label (the prefix of
its progress lines, as printed before) and its question, run and seed.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coursework.data import arrays as data
from coursework.engine.history import OnEpoch
from coursework.records.config import TrainConfig
from coursework.records.spec import Run


@dataclass(frozen=True)
class RunContext:
    """One run and seed to train into one folder, and how.

    Args:
        run: the run (its question, name, profile and config).
        seed: the seed.
        ds: the dataset it trains on.
        out: the folder it trains into (history, checkpoint, weights, predictions).
        label: prefixes its progress lines (``[conv/conv1 seed 0]`` beside other runs).
        after: estimated seconds of the runs after this one, for the time left in all.
        on_epoch: ``(epoch, val_accuracy) -> stop now?`` (a study pruning its trial).
        evaluate: test the best weights at the end (a tuning trial: validation only).
    """

    run: Run
    seed: int
    ds: data.Dataset
    out: Path
    label: str = ""
    after: float | None = None
    on_epoch: OnEpoch | None = None
    evaluate: bool = True

    @property
    def cfg(self) -> TrainConfig:
        """The run's training config."""
        return self.run.config

    @property
    def one_hot(self) -> bool:
        """Whether its targets are one-hot rows (the ``mse`` loss)."""
        return self.run.config.loss == "mse"

    @property
    def fields(self) -> dict[str, Any]:
        """What its log records and events say of it: question, run and seed."""
        return {"question": self.run.question, "run": self.run.name, "seed": self.seed}

    def log(self, logger: logging.Logger) -> RunLog:
        """``logger`` (a module's) speaking for this run: each line prefixed with its label."""
        return RunLog(logger, {"label": self.label, **self.fields})


class RunLog(logging.LoggerAdapter):
    """A module's logger for one run: the run's label prefixes the message, and the label,
    question, run and seed are attributes of every record (``extra``)."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        extra = dict(self.extra or {})
        kwargs["extra"] = {**extra, **kwargs.get("extra", {})}
        return f"{extra.get('label', '')}{msg}", kwargs
