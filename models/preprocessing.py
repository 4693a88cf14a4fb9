"""Input preprocessing: the same network on raw pixels, standardised pixels, or whitened images.

The preprocessing is a layer at the network's input, fitted to the training split before
training (the engine calls ``adapt`` on every layer that has one, with the training images as
float32 in [0, 1]; validation and test images are never seen), and saved inside
``model.keras``, so a loaded model preprocesses new images as it did in training.

- ``raw``: pixels in [0, 1] as they are.
- ``standardise``: each pixel (and channel) minus its training mean, over its training
  standard deviation (Keras' ``Normalization`` layer, one mean and variance per pixel).
- ``pca``: whitening in the basis of the principal components: the centred image projected on
  the eigenvectors of the training covariance, each divided by the square root of its
  eigenvalue (plus ``epsilon``): uncorrelated inputs of unit variance, optionally only the
  first ``components``. The result is no longer an image.
- ``zca``: PCA whitening rotated back to pixel space (Bell and Sejnowski 1997; Krizhevsky
  2009): also uncorrelated and of unit variance, but the closest such transform to the
  original image, so edges are enhanced and the image layout is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from models.common import ImageSizeError, dense_head, regularizer

METHODS = ("raw", "standardise", "pca", "zca")
MAX_WHITENED = 4096  # values per image: the whitening matrix is that squared (64 MiB)


@keras.saving.register_keras_serializable(package="coursework")
class Standardisation(layers.Normalization):
    """Per-pixel standardisation: Keras' ``Normalization`` with one mean and variance for each
    pixel and channel, fitted by ``adapt``. A pixel that hardly varies in training (MNIST's
    border is always 0) is divided by at least ``min_std`` rather than by almost nothing, so
    one stray test pixel there cannot dominate the input."""

    def __init__(self, min_std: float = 0.1, **kwargs: Any) -> None:
        kwargs["axis"] = (-3, -2, -1)
        super().__init__(**kwargs)
        self.min_std = min_std

    def adapt(self, data: np.ndarray) -> None:
        super().adapt(data)
        self.adapt_variance.assign(ops.maximum(self.adapt_variance, self.min_std**2))
        self.finalize_state()

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("axis", "mean", "variance", "invert"):
            config.pop(key, None)
        return {**config, "min_std": self.min_std}


@keras.saving.register_keras_serializable(package="coursework")
class Whitening(layers.Layer):
    """PCA or ZCA whitening of the flattened image, fitted by ``adapt`` (mean and whitening
    matrix kept as non-trainable weights). Output: ``(components,)`` for PCA, the input's
    shape for ZCA."""

    def __init__(
        self, mode: str = "zca", components: int | None = None, epsilon: float = 0.01, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if mode not in ("pca", "zca"):
            raise ValueError(f"whitening mode must be 'pca' or 'zca', got {mode!r}")
        if mode == "zca" and components:
            raise ValueError("ZCA whitening keeps every component: give components for PCA only")
        self.mode, self.components, self.epsilon = mode, components, epsilon

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.size = int(np.prod(np.asarray(input_shape[1:])))
        if self.size > MAX_WHITENED:
            raise ImageSizeError(
                f"whitening needs images of at most {MAX_WHITENED} values, these "
                f"have {self.size} ({'x'.join(map(str, input_shape[1:]))}): set a "
                "smaller image_size in the spec"
            )
        self.out = (self.components or self.size) if self.mode == "pca" else self.size
        self.mean = self.add_weight(
            shape=(self.size,), initializer="zeros", trainable=False, name="mean"
        )
        self.matrix = self.add_weight(
            shape=(self.size, self.out), initializer="identity", trainable=False, name="matrix"
        )

    def adapt(self, data: np.ndarray) -> None:
        """Fit the mean and the whitening matrix to ``data`` (N, H, W, C), float in [0, 1]."""
        x = np.asarray(data, dtype=np.float64).reshape(len(data), -1)
        if not self.built:
            self.build((None, *np.shape(data)[1:]))
        mean = x.mean(axis=0)
        centred = x - mean
        values, vectors = np.linalg.eigh(centred.T @ centred / len(x))
        order = np.argsort(values)[::-1]  # largest variance first
        values, vectors = values[order], vectors[:, order]
        vectors *= np.where(vectors[np.abs(vectors).argmax(axis=0), range(self.size)] < 0, -1, 1)
        pca = vectors / np.sqrt(values.clip(min=0) + self.epsilon)
        matrix = pca[:, : self.out] if self.mode == "pca" else pca @ vectors.T
        self.mean.assign(mean.astype("float32"))
        self.matrix.assign(matrix.astype("float32"))

    def call(self, x: keras.KerasTensor) -> keras.KerasTensor:
        flat = ops.reshape(x, (-1, self.size)) - self.mean
        out = ops.matmul(flat, self.matrix)
        return out if self.mode == "pca" else ops.reshape(out, ops.shape(x))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (input_shape[0], self.out) if self.mode == "pca" else input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "mode": self.mode,
            "components": self.components,
            "epsilon": self.epsilon,
        }


def preprocessing_layer(method: str, components: int | None, epsilon: float) -> layers.Layer:
    if method == "standardise":
        return Standardisation(name="standardise")
    if method in ("pca", "zca"):
        return Whitening(method, components, epsilon, name=method)
    if method == "raw":
        return layers.Identity(name="raw")
    raise ValueError(f"preprocessing must be one of {', '.join(METHODS)}, got {method!r}")


def build(
    input_shape: Sequence[int],
    num_classes: int,
    preprocessing: str = "raw",
    components: int | None = None,
    epsilon: float = 0.01,
    hidden: Sequence[int] = (100,),
    activation: str = "relu",
    l1: float = 0.0,
    l2: float = 0.0,
) -> keras.Model:
    """``preprocessing`` at the input, then fully connected ``hidden`` layers and softmax."""
    inputs = keras.Input(shape=tuple(input_shape))
    x = preprocessing_layer(preprocessing, components, epsilon)(inputs)
    outputs = dense_head(x, hidden, num_classes, activation, 0.0, regularizer(l1, l2))
    return keras.Model(inputs, outputs, name=preprocessing)
