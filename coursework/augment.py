"""Training-data augmentation. Applied to the training split only, never to validation or test.

- ``expand``: Nielsen's expand_mnist: every image plus its four 1-pixel shifts (up, down, left,
  right; the vacated row or column is zero). Fixed, 5x the data, computed once in numpy.
- ``affine``: random rotation, translation and zoom with Keras preprocessing layers, drawn
  afresh for every batch.
- ``elastic``: Simard et al. (2003): a random displacement field per image, smoothed by a
  Gaussian (sigma ~4 pixels for 28x28) and scaled by alpha (~34 pixels), applied with bilinear
  interpolation. Drawn afresh every epoch from a stateless seed (seed, epoch, batch), so a
  resumed run sees exactly the same images as an uninterrupted one.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def expand(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each image followed by its shifts up, down, left, right: (N, H, W, C) -> (5N, H, W, C)."""
    shifts = [x]
    for axis, step in ((1, -1), (1, 1), (2, -1), (2, 1)):  # up, down, left, right
        s = np.roll(x, step, axis=axis)
        edge = 0 if step == 1 else -1  # the row/column that wrapped around
        index = [slice(None)] * x.ndim
        index[axis] = edge
        s[tuple(index)] = 0
        shifts.append(s)
    return np.stack(shifts, axis=1).reshape(-1, *x.shape[1:]), np.repeat(y, 5)


def affine_layers(seed: int, rotation_deg: float = 10.0, shift: float = 0.1,
                  zoom: float = 0.1) -> list:
    """Keras preprocessing layers for random rotation (degrees), translation and zoom (fractions
    of the image size); each has its own seed generator, reseeded every epoch by the runner."""
    import keras

    return [
        keras.layers.RandomRotation(rotation_deg / 360.0, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed + 1),
        keras.layers.RandomZoom(zoom, fill_mode="constant", seed=seed + 2),
    ]


def gaussian_kernel(sigma: float) -> tf.Tensor:
    radius = max(1, int(round(3 * sigma)))
    t = tf.range(-radius, radius + 1, dtype=tf.float32)
    k = tf.exp(-0.5 * (t / sigma) ** 2)
    return k / tf.reduce_sum(k)


def smoothing_matrix(size, sigma: float) -> tf.Tensor:
    """(size, size) ``S`` with ``(f @ S)[i] = sum_j f[j] k[j - i]``: 1-D Gaussian smoothing
    of a length-``size`` signal, zero outside it (what a 'SAME' convolution does)."""
    k = gaussian_kernel(sigma)
    r = (tf.shape(k)[0] - 1) // 2
    idx = tf.range(size)
    offset = idx[:, None] - idx[None, :]  # j - i
    inside = tf.abs(offset) <= r
    return tf.where(inside, tf.gather(k, tf.clip_by_value(offset + r, 0, 2 * r)), 0.0)


def elastic(images: tf.Tensor, seed: tf.Tensor, alpha: float = 34.0, sigma: float = 4.0
            ) -> tf.Tensor:
    """Elastically distort a float batch (B, H, W, C); ``seed`` is a stateless seed of shape (2,).

    Output has the same shape; values stay within the input range (bilinear interpolation,
    zero outside the image).
    """
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    field = tf.random.stateless_uniform(tf.stack([b, h, w, 2]), seed, minval=-1.0, maxval=1.0)
    # separable Gaussian smoothing of both displacement channels, zero outside the image, as
    # two small matrix products (a 1-channel conv2d is ~10x slower on CPU)
    field = tf.einsum("bhwc,hi->biwc", field, smoothing_matrix(h, sigma))
    fields = tf.einsum("bhwc,wi->bhic", field, smoothing_matrix(w, sigma)) * alpha
    gy, gx = tf.meshgrid(tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32),
                         indexing="ij")
    return bilinear(images, gy[None] + fields[..., 0], gx[None] + fields[..., 1])


def bilinear(images: tf.Tensor, ys: tf.Tensor, xs: tf.Tensor) -> tf.Tensor:
    """Sample ``images`` (B, H, W, C) at float coordinates ``ys, xs`` (B, H, W); zero outside."""
    shape = tf.shape(images)
    h, w = shape[1], shape[2]
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])  # a zero border for outside
    ys = tf.clip_by_value(ys + 1.0, 0.0, tf.cast(h + 1, tf.float32))
    xs = tf.clip_by_value(xs + 1.0, 0.0, tf.cast(w + 1, tf.float32))
    y0, x0 = tf.floor(ys), tf.floor(xs)
    wy, wx = (ys - y0)[..., None], (xs - x0)[..., None]
    y0 = tf.cast(y0, tf.int32)
    x0 = tf.cast(x0, tf.int32)
    y1 = tf.minimum(y0 + 1, h + 1)
    x1 = tf.minimum(x0 + 1, w + 1)

    def at(yi, xi):
        return tf.gather_nd(padded, tf.stack([yi, xi], axis=-1), batch_dims=1)

    top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
    return top * (1 - wy) + bottom * wy
