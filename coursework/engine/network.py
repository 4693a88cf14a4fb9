"""From a run's config to a compiled Keras model, and what is recorded about its architecture.

A run's ``builder`` (``module:function`` in ``models/``) builds the network for the dataset's
image shape and number of classes; Nielsen's L1 / L2 lambdas arrive as Keras penalties. For
training the network sits behind the augmentation layers of the run, if any.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from coursework.data import arrays as data
from coursework.engine import augment
from coursework.records.builders import models_module, penalties, resolve_builder
from coursework.records.config import TrainConfig


def make_optimizer(cfg: TrainConfig) -> keras.optimizers.Optimizer:
    """The run's optimizer (``sgd``, ``momentum``, ``adam``, else RMSprop) at its learning
    rate."""
    assert cfg.learning_rate is not None  # a spec's config always has one (validate.py)
    lr = float(cfg.learning_rate)
    name = cfg.optimizer
    if name == "sgd":
        return keras.optimizers.SGD(lr)
    if name == "momentum":
        assert cfg.momentum is not None  # a spec's config always has one (its default: 0.0)
        return keras.optimizers.SGD(lr, momentum=float(cfg.momentum))
    if name == "adam":
        return keras.optimizers.Adam(lr)
    return keras.optimizers.RMSprop(lr)


def builder_kwargs(cfg: TrainConfig, num_train: int) -> dict[str, Any]:
    """The builder's keyword arguments: the spec's ``model`` table plus Keras penalties."""
    assert cfg.batch_size is not None  # a spec's config always has one (validate.py)
    batches = max(1, num_train // cfg.batch_size)  # network3's num_training_batches
    keras_penalty = models_module("common").keras_penalty
    return {
        **cfg.model,
        **{kind: keras_penalty(lam, batches, kind) for kind, lam in penalties(cfg).items()},
    }


def epoch_images(cfg: TrainConfig, info: data.DatasetInfo) -> int:
    """Training images in one epoch: the training split, 5x when expanded (Nielsen's 1-pixel
    shifts, :func:`coursework.engine.augment.expand`)."""
    return info.sizes["train"] * (5 if cfg.augment == "expand" else 1)


def build_model(cfg: TrainConfig, info: data.DatasetInfo) -> keras.Model:
    """The run's network for the dataset's image shape and classes, not yet compiled."""
    assert cfg.builder is not None  # a spec's config always has one (validate.py)
    return resolve_builder(cfg.builder)(
        info.input_shape, info.num_classes, **builder_kwargs(cfg, epoch_images(cfg, info))
    )


def adapt(model: keras.Model, x_train: np.ndarray) -> list[str]:
    """Fit every layer of ``model`` that has an ``adapt`` method (Keras' ``Normalization``, the
    whitening of ``models/preprocessing.py``) to the training images, as the network sees them
    (float32 in [0, 1]); validation and test images are never used. Returns their names."""
    fitted = [layer for layer in all_layers(model) if callable(getattr(layer, "adapt", None))]
    if fitted:
        x = data.scale(x_train)
        for layer in fitted:
            layer.adapt(x)
    return [layer.name for layer in fitted]


def with_augmentation(model: keras.Model, name: str | None, seed: int) -> keras.Model:
    """``model`` behind the augmentation layers of ``name`` (active in training only), or
    ``model`` itself when there are none. The two share their weights."""
    layers = augment.layers(name, seed)
    if not layers:
        return model
    inputs = keras.Input(shape=model.input_shape[1:])
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, model(x), name=f"{model.name}_{name}")


def compile_model(net: keras.Model, cfg: TrainConfig) -> None:
    """Optimizer, loss (softmax + log-likelihood, or MSE on one-hot targets) and accuracy."""
    if cfg.loss == "mse":
        loss, metric = keras.losses.MeanSquaredError(), keras.metrics.CategoricalAccuracy
    else:
        loss, metric = (
            keras.losses.SparseCategoricalCrossentropy(),
            keras.metrics.SparseCategoricalAccuracy,
        )
    net.compile(optimizer=make_optimizer(cfg), loss=loss, metrics=[metric(name="accuracy")])


def trainable_params(model: keras.Model) -> int:
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer of ``model``, nested models' layers included, in order."""
    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(layer, keras.Model):
            out += all_layers(layer)
    return out


def layer_table(model: keras.Model) -> list[dict]:
    """One row per layer: name, type, output shape (``"12x12x20"``), trainable parameters;
    recorded in ``run.json`` (``architecture``) for the report."""
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = tuple(layer.output.shape[1:])
        rows.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "output": "x".join(str(d) for d in shape),
                "params": int(sum(int(np.prod(v.shape)) for v in layer.trainable_weights)),
            }
        )
    return rows
