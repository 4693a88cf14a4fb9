"""Skip connections: deep plain networks against residual ones of the same depth and size.

Both start with a Dense layer of ``width`` units on the flattened image and end with softmax;
in between are ``depth`` hidden layers of ``width`` units. In the plain network they are
stacked; in the residual network they are paired into blocks ``h -> act(h + F(h))`` with
``F`` two of those layers (He et al. 2016): the identity shortcut adds no parameters, so both
have exactly the same weights. He et al. found that deeper plain networks train worse, not
only test worse (degradation), and that residual ones do not.

Without batch normalisation the sum ``h + F(h)`` grows with every block, so the last layer of
each branch starts at zero (``zero_init``: its kernel, or with batch normalisation its scale;
Goyal et al. 2017, Zhang et al. 2019 "Fixup"): the
network starts as the stem alone and learns what each block adds. With He's initialisation
there instead, 10 blocks already diverged in the first epoch (measured, quick profile).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from models.common import activation_layer, dense_unit, regularizer, softmax_head


def build(
    input_shape: Sequence[int],
    num_classes: int,
    depth: int = 10,
    width: int = 64,
    residual: bool = False,
    batchnorm: bool = False,
    zero_init: bool = True,
    activation: str = "relu",
    l1: float = 0.0,
    l2: float = 0.0,
) -> keras.Model:
    """``depth`` (even, for residual blocks of two) hidden layers of ``width`` units."""
    if residual and depth % 2:
        raise ValueError(
            f"a residual network has blocks of two layers: depth must be even, got {depth}"
        )
    reg = regularizer(l1, l2)
    inputs = keras.Input(shape=tuple(input_shape))
    h = dense_unit(layers.Flatten()(inputs), width, activation, batchnorm, reg, "stem")
    if residual:
        for b in range(1, depth // 2 + 1):
            branch = dense_unit(h, width, activation, batchnorm, reg, f"block{b}_a")
            branch = dense_unit(
                branch,
                width,
                activation,
                batchnorm,
                reg,
                f"block{b}_b",
                activate=False,
                zero=zero_init,
            )
            h = activation_layer(activation)(layers.Add(name=f"block{b}_add")([h, branch]))
    else:
        for i in range(1, depth + 1):
            h = dense_unit(h, width, activation, batchnorm, reg, f"fc{i}")
    outputs = softmax_head(h, num_classes, reg)
    return keras.Model(inputs, outputs, name=f"{'res' if residual else 'plain'}{depth}")
