"""Building blocks shared by the model builders.

Every builder is ``build(input_shape, num_classes, **hparams) -> keras.Model`` and works for any
image shape ``(height, width, channels)`` and any number of classes. Regularisation arrives as
Keras penalties ``l1`` and ``l2`` (already converted from Nielsen's lambda by the runner, see
:func:`keras_penalty`) and applies to every weight matrix and kernel, as in network3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers, ops
from keras.regularizers import Regularizer


class ImageSizeError(ValueError):
    """The images are of a size this network cannot take; the message says what to set
    (``image_size``). Training reports it as a data error before any run starts."""


def keras_penalty(lam: float, num_training_batches: int, kind: str = "l2") -> float:
    """Convert Nielsen's regularisation lambda into Keras' per-batch penalty coefficient.

    network3 adds ``0.5 * lambda * sum(w**2) / num_training_batches`` to the mean mini-batch
    cost; Keras adds ``coef * sum(w**2)`` to it, so ``coef = 0.5 * lambda / num_batches``.
    For L1 (Nielsen ch. 3, ``lambda / n * sum|w|`` over the whole set) the same reasoning gives
    ``coef = lambda / num_batches``.
    """
    if num_training_batches < 1:
        raise ValueError("num_training_batches must be at least 1")
    factor = 0.5 if kind == "l2" else 1.0
    return factor * lam / num_training_batches


def regularizer(l1: float = 0.0, l2: float = 0.0) -> keras.regularizers.Regularizer | None:
    """A Keras weight penalty, or None when both coefficients are zero."""
    if l1 and l2:
        return keras.regularizers.L1L2(l1=l1, l2=l2)
    if l2:
        return keras.regularizers.L2(l2)
    if l1:
        return keras.regularizers.L1(l1)
    return None


def initializer_for(activation: str) -> str:
    """Glorot for saturating units (sigmoid, tanh, softmax), He for the ReLU family."""
    saturating = ("sigmoid", "tanh", "softmax", "linear")
    return "glorot_uniform" if activation in saturating else "he_normal"


def activation_layer(name: str) -> layers.Layer:
    """An activation by name; ``leaky_relu`` uses slope 0.01 for negative inputs."""
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.01)
    return layers.Activation(name)


@keras.saving.register_keras_serializable(package="coursework")
class L2Pooling2D(layers.Layer):
    """Nielsen's L2 pooling: the square root of the sum of squares in each window."""

    def __init__(self, pool_size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = pool_size
        self._avg = layers.AveragePooling2D(pool_size)

    def call(self, x: keras.KerasTensor) -> keras.KerasTensor:
        area = float(self.pool_size * self.pool_size)
        return ops.sqrt(self._avg(ops.square(x)) * area + 1e-12)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return self._avg.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size}


POOLS = {"max": layers.MaxPooling2D, "average": layers.AveragePooling2D, "l2": L2Pooling2D}


def conv_pool(
    x: keras.KerasTensor,
    maps: int,
    kernel_size: int,
    pool: str,
    activation: str,
    reg: Regularizer | None,
    name: str,
) -> keras.KerasTensor:
    """network3's ConvPoolLayer: convolution (valid), 2x2 pooling, then the activation."""
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
    x = layers.Conv2D(
        maps,
        kernel_size,
        padding="valid",
        kernel_initializer=initializer_for(activation),
        kernel_regularizer=reg,
        name=f"{name}_conv",
    )(x)
    x = POOLS[pool](2, name=f"{name}_pool")(x)
    return activation_layer(activation)(x)


def dense_head(
    x: keras.KerasTensor,
    hidden: Sequence[int],
    num_classes: int,
    activation: str,
    dropout: float,
    reg: Regularizer | None,
) -> keras.KerasTensor:
    """Fully connected layers then softmax; dropout (if any) on the inputs of each, as network3."""
    x = layers.Flatten()(x)
    for i, width in enumerate(hidden, start=1):
        if dropout:
            x = layers.Dropout(dropout)(x)
        x = layers.Dense(
            width,
            kernel_initializer=initializer_for(activation),
            kernel_regularizer=reg,
            name=f"fc{i}",
        )(x)
        x = activation_layer(activation)(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    return softmax_head(x, num_classes, reg)


def softmax_head(
    x: keras.KerasTensor, num_classes: int, reg: Regularizer | None
) -> keras.KerasTensor:
    """The output layer of every network: dense softmax over ``num_classes``, in float32 even
    under mixed precision (a float16 softmax rounds small probabilities to 0)."""
    return layers.Dense(
        num_classes, activation="softmax", kernel_regularizer=reg, dtype="float32", name="softmax"
    )(x)


def mlp(
    input_shape: Sequence[int],
    num_classes: int,
    hidden: Sequence[int],
    activation: str = "sigmoid",
    dropout: float = 0.0,
    l1: float = 0.0,
    l2: float = 0.0,
    name: str = "mlp",
) -> keras.Model:
    """A fully connected network on the flattened image."""
    inputs = keras.Input(shape=tuple(input_shape))
    outputs = dense_head(inputs, hidden, num_classes, activation, dropout, regularizer(l1, l2))
    return keras.Model(inputs, outputs, name=name)


def dense_unit(
    x: keras.KerasTensor,
    width: int,
    activation: str,
    batchnorm: bool,
    reg: Regularizer | None,
    name: str,
    activate: bool = True,
    zero: bool = False,
) -> keras.KerasTensor:
    """Dense, then batch normalisation (if asked; the Dense then has no bias, BN's beta is
    one), then the activation (unless ``activate`` is False: a residual branch's last unit).
    ``zero``: the unit's output starts at zero (its kernel, or with BN its scale gamma)."""
    x = layers.Dense(
        width,
        use_bias=not batchnorm,
        kernel_initializer="zeros" if zero and not batchnorm else initializer_for(activation),
        kernel_regularizer=reg,
        name=name,
    )(x)
    if batchnorm:
        x = layers.BatchNormalization(
            gamma_initializer="zeros" if zero else "ones", name=f"{name}_bn"
        )(x)
    return activation_layer(activation)(x) if activate else x


def conv_unit(
    x: keras.KerasTensor,
    maps: int,
    activation: str,
    batchnorm: bool,
    reg: Regularizer | None,
    name: str,
) -> keras.KerasTensor:
    """A 3x3 convolution ('same' padding), batch normalisation if asked, the activation."""
    x = layers.Conv2D(
        maps,
        3,
        padding="same",
        use_bias=not batchnorm,
        kernel_initializer=initializer_for(activation),
        kernel_regularizer=reg,
        name=name,
    )(x)
    if batchnorm:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return activation_layer(activation)(x)
