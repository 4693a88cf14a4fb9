"""VGG-style networks of 8 and 38 layers: why the deep one fails to train, and two fixes.

The network of the Edinburgh MLP course's coursework 2 (2024-25), after Simonyan and
Zisserman (2015): an entry 3x3 convolution, then ``stages`` stages, each of ``blocks``
processing blocks (two 3x3 convolutions, ``filters`` maps, 'same' padding) and one
dimensionality-reduction block (a convolution, 2x2 average pooling, a convolution), then global
average pooling and a softmax layer. Layers are counted as the course counts them: the
convolutions and the softmax layer, so ``depth = 2 + stages * (2 * blocks + 2)``; with three
stages 8 layers are no processing blocks and 38 layers five per stage.

With Keras' default initialisation (Glorot and Bengio 2010: the weights' variance is
``1 / fan_in`` for a square layer) each ReLU halves the variance of the signal, forward and
backward: through 36 convolutions the output hardly depends on the input, every gradient is
tiny (about 1e-10 at initialisation, quick profile), and once the last layers start to learn
the first layers' gradients fall orders of magnitude below theirs. The network does not train.
``batchnorm`` puts BatchNormalization between every convolution and its activation (Ioffe
and Szegedy 2015), which restores the scale at each layer; ``residual`` makes each processing
block ``h -> act(h + F(h))`` (He et al. 2016), an identity path for the gradient. The
reduction blocks stay plain, as their shapes change.

Deviations from the course's PyTorch code: its entry convolution has batch normalisation even
in the plain network, its activation is the leaky ReLU, its initialisation PyTorch's default;
here the plain network is plain throughout and ``activation`` and ``initializer`` are
arguments (Keras' defaults: ReLU and Glorot uniform).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from models.common import ImageSizeError, activation_layer, regularizer, softmax_head


def build(
    input_shape: Sequence[int],
    num_classes: int,
    depth: int = 38,
    stages: int = 3,
    filters: int = 32,
    batchnorm: bool = False,
    residual: bool = False,
    activation: str = "relu",
    initializer: str = "glorot_uniform",
    l1: float = 0.0,
    l2: float = 0.0,
) -> keras.Model:
    """A VGG-style network of ``depth`` layers (8, 14, ..., 38 with three stages)."""
    blocks, rest = divmod(depth - 2 - 2 * stages, 2 * stages)
    if rest or blocks < 0:
        raise ValueError(
            f"depth must be 2 + {stages} stages x (2 x blocks + 2) layers "
            f"({2 + 2 * stages}, {4 + 4 * stages}, ...), got {depth}"
        )
    if min(input_shape[:2]) < 2**stages:
        raise ImageSizeError(
            f"{stages} stages halve the image {stages} times: it needs at least "
            f"{2**stages}x{2**stages} pixels, got {input_shape[0]}x{input_shape[1]} (image_size)"
        )
    reg = regularizer(l1, l2)

    def conv(x: keras.KerasTensor, name: str, activate: bool = True) -> keras.KerasTensor:
        x = layers.Conv2D(
            filters,
            3,
            padding="same",
            use_bias=not batchnorm,  # BN's beta is the bias
            kernel_initializer=initializer,
            kernel_regularizer=reg,
            name=name,
        )(x)
        if batchnorm:
            x = layers.BatchNormalization(name=f"{name}_bn")(x)
        return activation_layer(activation)(x) if activate else x

    inputs = keras.Input(shape=tuple(input_shape))
    h = conv(inputs, "entry_conv")
    for s in range(1, stages + 1):
        for b in range(1, blocks + 1):
            branch = conv(conv(h, f"s{s}_b{b}_conv1"), f"s{s}_b{b}_conv2", activate=not residual)
            if residual:
                branch = layers.Add(name=f"s{s}_b{b}_add")([h, branch])
                branch = activation_layer(activation)(branch)
            h = branch
        h = layers.AveragePooling2D(2, name=f"s{s}_pool")(conv(h, f"s{s}_reduce_conv1"))
        h = conv(h, f"s{s}_reduce_conv2")
    h = layers.GlobalAveragePooling2D(name="global_pool")(h)
    kind = "_bn" if batchnorm else ""
    kind += "_res" if residual else ""
    return keras.Model(inputs, softmax_head(h, num_classes, reg), name=f"vgg{depth}{kind}")
