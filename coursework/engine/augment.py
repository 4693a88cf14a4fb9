"""Training-data augmentation. Applied to the training split only, never to validation or test.

- ``expand``: Nielsen's expand_mnist: every image plus its four 1-pixel shifts (up, down, left,
  right; the vacated row or column is zero). Fixed, 5x the data, computed once in numpy.
- ``affine``: random rotation, translation and zoom (Keras' preprocessing layers).
- ``elastic``: Simard et al. (2003): a random displacement field per image, uniform in
  [-1, 1], smoothed by a Gaussian (sigma 4 pixels for 28x28) and scaled by alpha (34 pixels),
  applied with bilinear interpolation (:class:`ElasticDistortion`).

``affine`` and ``elastic`` are Keras layers placed in front of the network while it trains
(:func:`layers`) and inactive otherwise, so they run inside the compiled training step on any
backend. Their random seeds are reset from (seed, epoch) at the start of every epoch, so a
resumed run sees exactly the same images as an uninterrupted one.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops


def expand(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each image followed by its shifts up, down, left, right: (N, H, W, C) -> (5N, H, W, C)."""
    shifts = [x]
    for axis, step in ((1, -1), (1, 1), (2, -1), (2, 1)):  # up, down, left, right
        s = np.roll(x, step, axis=axis)
        edge = 0 if step == 1 else -1  # the row/column that wrapped around
        index: list[slice | int] = [slice(None)] * x.ndim
        index[axis] = edge
        s[tuple(index)] = 0
        shifts.append(s)
    return np.stack(shifts, axis=1).reshape(-1, *x.shape[1:]), np.repeat(y, 5)


def layers(name: str | None, seed: int) -> list[keras.layers.Layer]:
    """The augmentation layers for ``name`` (``affine`` or ``elastic``; none for the others)."""
    if name == "affine":
        return affine_layers(seed)
    if name == "elastic":
        return [ElasticDistortion(seed=seed)]
    return []


def affine_layers(
    seed: int, rotation_deg: float = 10.0, shift: float = 0.1, zoom: float = 0.1
) -> list[keras.layers.Layer]:
    """Random rotation (degrees), translation and zoom (fractions of the image size)."""
    return [
        keras.layers.RandomRotation(rotation_deg / 360.0, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed + 1),
        keras.layers.RandomZoom(zoom, fill_mode="constant", seed=seed + 2),
    ]


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A normalised 1-D Gaussian of radius ``3 sigma`` (at least 1)."""
    radius = max(1, int(round(3 * sigma)))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def smoothing_matrix(size: int, sigma: float) -> np.ndarray:
    """(size, size) ``S`` with ``(f @ S)[i] = sum_j f[j] k[j - i]``: 1-D Gaussian smoothing
    of a length-``size`` signal, zero outside it (what a 'SAME' convolution does)."""
    k = gaussian_kernel(sigma)
    r = (len(k) - 1) // 2
    offset = np.arange(size)[:, None] - np.arange(size)[None, :]  # j - i
    return np.where(np.abs(offset) <= r, k[np.clip(offset + r, 0, 2 * r)], 0).astype(np.float32)


@keras.saving.register_keras_serializable(package="coursework")
class ElasticDistortion(keras.layers.Layer):
    """Simard et al.'s elastic distortion of a float batch (B, H, W, C), in training only.

    Output has the same shape; values stay within the input range (bilinear interpolation,
    zero outside the image). The Gaussian smoothing is separable and done as two small matrix
    products (a 1-channel convolution is several times slower on a CPU).
    """

    def __init__(
        self, alpha: float = 34.0, sigma: float = 4.0, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.alpha, self.sigma, self.seed = alpha, sigma, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        h, w = images.shape[1], images.shape[2]
        field = keras.random.uniform(
            (ops.shape(images)[0], h, w, 2), -1.0, 1.0, seed=self.seed_generator
        )
        field = ops.einsum("bhwc,hi->biwc", field, smoothing_matrix(h, self.sigma))
        field = ops.einsum("bhwc,wi->bhic", field, smoothing_matrix(w, self.sigma)) * self.alpha
        gy, gx = ops.meshgrid(
            ops.arange(h, dtype="float32"), ops.arange(w, dtype="float32"), indexing="ij"
        )
        return bilinear(images, gy[None] + field[..., 0], gx[None] + field[..., 1])

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "sigma": self.sigma, "seed": self.seed}


def bilinear(images, ys, xs):
    """Sample ``images`` (B, H, W, C) at float coordinates ``ys, xs`` (B, H, W); zero outside."""
    b, c = ops.shape(images)[0], images.shape[3]
    h, w = images.shape[1], images.shape[2]
    padded = ops.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])  # a zero border for outside
    flat = ops.reshape(padded, (-1, c))
    ys = ops.clip(ys + 1.0, 0.0, float(h + 1))
    xs = ops.clip(xs + 1.0, 0.0, float(w + 1))
    y0, x0 = ops.floor(ys), ops.floor(xs)
    wy, wx = ops.expand_dims(ys - y0, -1), ops.expand_dims(xs - x0, -1)
    y0, x0 = ops.cast(y0, "int32"), ops.cast(x0, "int32")
    y1, x1 = ops.minimum(y0 + 1, h + 1), ops.minimum(x0 + 1, w + 1)
    base = ops.reshape(ops.arange(b, dtype="int32") * ((h + 2) * (w + 2)), (-1, 1, 1))

    def at(yi, xi):
        return ops.take(flat, base + yi * (w + 2) + xi, axis=0)

    top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
    return top * (1 - wy) + bottom * wy
