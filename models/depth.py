"""Depth: fully connected networks with more hidden layers at equal width."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from models.common import mlp


def build(
    input_shape: Sequence[int],
    num_classes: int,
    layers: int = 1,
    width: int = 100,
    widths: Sequence[int] | None = None,
    activation: str = "relu",
    l1: float = 0.0,
    l2: float = 0.0,
) -> keras.Model:
    """``layers`` hidden layers of ``width`` units, or explicit ``widths`` (e.g. Ciresan's
    2500-2000-1500-1000-500)."""
    hidden = list(widths) if widths else [width] * layers
    return mlp(input_shape, num_classes, hidden, activation, l1=l1, l2=l2, name="deep")
