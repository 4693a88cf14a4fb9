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
from coursework.records.builders import penalties, resolve_builder
from coursework.records.config import TrainConfig


class ImageSizeError(ValueError):
    """The images are of a size this network cannot take; the message says what to set
    (``image_size``). Training reports it as a data error before any run starts.

    The engine's own, so that no edit of ``models/`` changes how training reads it; a builder
    raises ``models.common.ImageSizeError``, read as this one (:func:`size_error`).
    """


def size_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a builder's word that the images do not fit its network: an
    :class:`ImageSizeError`, the engine's or one of that name (``models/common.py``'s, as
    the template and every clone of it define it)."""
    return isinstance(exc, ImageSizeError) or type(exc).__name__ == ImageSizeError.__name__


def keras_penalty(lam: float, num_training_batches: int, kind: str = "l2") -> float:
    """Convert Nielsen's regularisation lambda into Keras' per-batch penalty coefficient.

    network3 adds ``0.5 * lambda * sum(w**2) / num_training_batches`` to the mean mini-batch
    cost; Keras adds ``coef * sum(w**2)`` to it, so ``coef = 0.5 * lambda / num_batches``.
    For L1 (Nielsen ch. 3, ``lambda / n * sum|w|`` over the whole set) the same reasoning gives
    ``coef = lambda / num_batches``.

    Args:
        lam: Nielsen's lambda.
        num_training_batches: mini-batches in one epoch.
        kind: ``l2`` or ``l1``.
    """
    if num_training_batches < 1:
        raise ValueError("num_training_batches must be at least 1")
    factor = 0.5 if kind == "l2" else 1.0
    return factor * lam / num_training_batches


def make_optimizer(cfg: TrainConfig) -> keras.optimizers.Optimizer:
    """The run's optimizer (``sgd``, ``momentum``, ``adam``, else RMSprop) at its learning
    rate."""
    lr = float(cfg.learning_rate)
    name = cfg.optimizer
    if name == "sgd":
        return keras.optimizers.SGD(lr)
    if name == "momentum":
        return keras.optimizers.SGD(lr, momentum=float(cfg.momentum))
    if name == "adam":
        return keras.optimizers.Adam(lr)
    return keras.optimizers.RMSprop(lr)


def builder_kwargs(cfg: TrainConfig, num_train: int) -> dict[str, Any]:
    """The builder's keyword arguments: the spec's ``model`` table plus Keras penalties."""
    batches = max(1, num_train // cfg.batch_size)  # network3's num_training_batches
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
