"""Activation functions: the same network with sigmoid, tanh, ReLU, leaky ReLU, ELU, GELU.

Each activation gets the initialisation suited to it (see models.common.initializer_for):
Glorot for sigmoid and tanh, He for the ReLU family.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from models.common import mlp


def build(
    input_shape: Sequence[int],
    num_classes: int,
    activation: str = "sigmoid",
    hidden: Sequence[int] = (100, 100),
    l1: float = 0.0,
    l2: float = 0.0,
) -> keras.Model:
    return mlp(input_shape, num_classes, hidden, activation, l1=l1, l2=l2, name=activation)
