"""Data augmentation: the network stays fixed, the training data changes (spec key ``augment``).

The augmentation itself lives in ``coursework/engine/augment.py`` and the training input
pipeline, so that it touches training data only; this builder is the fixed network it is
applied to.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from models.conv import build as convnet


def build(
    input_shape: Sequence[int],
    num_classes: int,
    conv_maps: Sequence[int] = (20, 40),
    hidden: Sequence[int] = (100,),
    activation: str = "relu",
    l1: float = 0.0,
    l2: float = 0.0,
) -> keras.Model:
    return convnet(
        input_shape,
        num_classes,
        conv_maps=conv_maps,
        hidden=hidden,
        activation=activation,
        l1=l1,
        l2=l2,
    )
