"""Convolutional layers: does adding conv-pool layers (and which kernel, which pooling) help?"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from models.common import conv_pool, dense_head, regularizer


def build(
    input_shape: Sequence[int],
    num_classes: int,
    conv_maps: Sequence[int] = (20,),
    kernel_size: int = 5,
    pool: str = "max",
    hidden: Sequence[int] = (100,),
    activation: str = "sigmoid",
    dropout: float = 0.0,
    l1: float = 0.0,
    l2: float = 0.0,
) -> keras.Model:
    """``len(conv_maps)`` conv-pool layers, then fully connected ``hidden`` layers and softmax.

    ``conv_maps=[]`` gives a plain fully connected network (Nielsen's FC-100 baseline).
    """
    reg = regularizer(l1, l2)
    inputs = keras.Input(shape=tuple(input_shape))
    x = inputs
    for i, maps in enumerate(conv_maps, start=1):
        x = conv_pool(x, maps, kernel_size, pool, activation, reg, name=f"convpool{i}")
    outputs = dense_head(x, hidden, num_classes, activation, dropout, reg)
    return keras.Model(inputs, outputs, name="convnet")
