"""What training one seed of a run needs, built the same way wherever it is trained: the
model (seeded), the network it trains (behind its augmentation layers), the compiled epoch
program (:mod:`coursework.engine.loop`) and the validation split; and the seed's random
draws per epoch (:func:`reseed`)."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from coursework.data import arrays as data
from coursework.engine import augment, loop
from coursework.engine.network import adapt, build_model, compile_model, with_augmentation
from coursework.records.config import TrainConfig

EVAL_BATCH = 1000


def reseed(model: keras.Model, seed: int, epoch: int) -> None:
    """Set every random-seed state in the model (dropout, augmentation) from (seed, epoch):
    each epoch's random draws depend on nothing else, so a resumed run repeats them."""
    states = [v for v in model.non_trainable_variables if v.name == "seed_generator_state"]
    for i, v in enumerate(states):
        v.assign(np.array([seed * 7919 + i, epoch], dtype=v.dtype))


def duration(seconds: float) -> str:
    """``4 s``, ``3m 05s``, ``2h 10m``: a time as a person reads it."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


@dataclass
class Session:
    """What training one seed needs, built by :func:`prepare`.

    Args:
        model: the run's model.
        net: the network it trains (the model behind its augmentation layers).
        program: the compiled epoch program.
        split: the training split as the program trains on it (expanded where asked).
        x_val: validation images, scaled.
        y_val: validation labels (one-hot rows for ``mse``).
    """

    model: keras.Model
    net: keras.Model
    program: loop.EpochProgram
    split: loop.Split
    x_val: np.ndarray
    y_val: np.ndarray

    @property
    def num_train(self) -> int:
        """Training images in one epoch."""
        return len(self.split.y)


def prepare(cfg: TrainConfig, seed: int, ds: data.Dataset) -> Session:
    """Seed everything, build and compile the model and its epoch program.

    Args:
        cfg: the run's config.
        seed: the seed.
        ds: the dataset.
    """
    keras.utils.set_random_seed(seed)
    x_train, y_train = ds.x_train, ds.y_train
    if cfg.augment == "expand":
        x_train, y_train = augment.expand(x_train, y_train)
    model = build_model(cfg, ds.info)
    adapt(model, ds.x_train)  # input preprocessing: fitted on the training split only
    net = with_augmentation(model, cfg.augment, seed)
    compile_model(net, cfg)
    one_hot = cfg.loss == "mse"
    split = loop.Split(x_train, y_train, cfg.batch_size, ds.num_classes, one_hot)
    program = loop.epoch_program(net, split, loop.Placement.here())
    x_val, y_val = data.scale(ds.x_val), labels(ds.y_val, ds.num_classes, one_hot)
    return Session(model, net, program, split, x_val, y_val)


def labels(y: np.ndarray, num_classes: int, one_hot: bool) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[y] if one_hot else y
