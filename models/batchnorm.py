"""Batch normalisation: fully connected and convolutional networks with and without it.

With ``batchnorm`` every hidden layer is Dense (or 3x3 convolution) -> BatchNormalization ->
activation (Ioffe and Szegedy 2015): each unit's input is normalised over the mini-batch in
training, and by running averages at test time. The comparison is at equal depth and width,
at a small and a large learning rate: BN is said to speed up convergence and to tolerate
larger learning rates.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from models.common import conv_unit, dense_unit, regularizer, softmax_head


def build(
    input_shape: Sequence[int],
    num_classes: int,
    kind: str = "fc",
    depth: int = 3,
    width: int = 100,
    maps: int = 16,
    batchnorm: bool = False,
    activation: str = "relu",
    l1: float = 0.0,
    l2: float = 0.0,
) -> keras.Model:
    """``kind="fc"``: ``depth`` hidden layers of ``width`` units. ``kind="conv"``: ``depth``
    3x3 convolutions in two stages (``maps`` then ``2 * maps`` maps, each stage ending in 2x2
    max-pooling), then global average pooling. Softmax on top."""
    if kind not in ("fc", "conv"):
        raise ValueError(f"kind must be 'fc' or 'conv', got {kind!r}")
    reg = regularizer(l1, l2)
    inputs = keras.Input(shape=tuple(input_shape))
    x = inputs
    if kind == "fc":
        x = layers.Flatten()(x)
        for i in range(1, depth + 1):
            x = dense_unit(x, width, activation, batchnorm, reg, f"fc{i}")
    else:
        first = (depth + 1) // 2
        for i in range(1, depth + 1):
            x = conv_unit(
                x, maps if i <= first else 2 * maps, activation, batchnorm, reg, f"conv{i}"
            )
            if i in (first, depth):
                x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        x = layers.GlobalAveragePooling2D()(x)
    outputs = softmax_head(x, num_classes, reg)
    return keras.Model(inputs, outputs, name=f"{kind}{depth}{'_bn' if batchnorm else ''}")
