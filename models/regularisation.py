"""Regularisation: none vs L2 vs L1 vs dropout (vs early stopping, set in the spec)."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from models.common import mlp


def build(
    input_shape: Sequence[int],
    num_classes: int,
    hidden: Sequence[int] = (100,),
    activation: str = "sigmoid",
    dropout: float = 0.0,
    l1: float = 0.0,
    l2: float = 0.0,
) -> keras.Model:
    """A fully connected network; the penalties come from the spec's l1_lambda / l2_lambda."""
    return mlp(input_shape, num_classes, hidden, activation, dropout, l1, l2, name="regularised")
