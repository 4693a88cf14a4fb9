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
from coursework.runtime import backend

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
    """What training one run needs: the model, the network it trains (the model behind its
    augmentation layers), the compiled epoch program and the validation split."""

    model: keras.Model
    net: keras.Model
    program: loop.EpochProgram
    num_train: int
    x_val: np.ndarray
    y_val: np.ndarray
    x_train: np.ndarray  # as the program trains on them (expanded where asked), stored form
    y_train: np.ndarray


def prepare(cfg: TrainConfig, seed: int, ds: data.Dataset) -> Session:
    """Seed everything, build and compile the model and its epoch program."""
    keras.utils.set_random_seed(seed)
    x_train, y_train = ds.x_train, ds.y_train
    if cfg.augment == "expand":
        x_train, y_train = augment.expand(x_train, y_train)
    model = build_model(cfg, ds.info)
    adapt(model, ds.x_train)  # input preprocessing: fitted on the training split only
    net = with_augmentation(model, cfg.augment, seed)
    compile_model(net, cfg)
    one_hot = cfg.loss == "mse"
    assert cfg.batch_size is not None  # a spec's config always has one (validate.py)
    program = loop.epoch_program(
        net,
        x_train,
        y_train,
        batch_size=cfg.batch_size,
        num_classes=ds.num_classes,
        one_hot=one_hot,
        deterministic=backend.settings()["deterministic"],
        on_gpu=bool(backend.accelerators()),
    )
    return Session(
        model,
        net,
        program,
        len(y_train),
        data.scale(ds.x_val),
        labels(ds.y_val, ds.num_classes, one_hot),
        x_train,
        y_train,
    )


def labels(y: np.ndarray, num_classes: int, one_hot: bool) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[y] if one_hot else y
