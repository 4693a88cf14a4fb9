"""Augmentation: Nielsen's expansion, elastic distortion, and that it never touches val/test."""

from __future__ import annotations

import keras
import numpy as np
from scipy.ndimage import convolve1d

from coursework.data.arrays import scale
from coursework.engine import augment, loop, network, seeded
from tests.helpers import slow_on_jax


def test_expansion_is_five_times_with_pixels_shifted_right():
    x = np.zeros((2, 5, 5, 1), np.uint8)
    x[0, 2, 2, 0] = 200  # a single bright pixel in the middle
    x[1, 0, 4, 0] = 100  # one in the top-right corner
    y = np.array([3, 7])
    ex, ey = augment.expand(x, y)
    assert ex.shape == (10, 5, 5, 1) and ey.tolist() == [3] * 5 + [7] * 5
    centre = [tuple(np.argwhere(ex[i, ..., 0])[0]) for i in range(5)]
    assert centre == [(2, 2), (1, 2), (3, 2), (2, 1), (2, 3)]  # same, up, down, left, right
    corner = [ex[5 + i, ..., 0].sum() for i in range(5)]
    assert corner == [100, 0, 100, 100, 0]  # shifting up or right pushes it off the image
    assert ex[7, 1, 4, 0] == 100 and ex[8, 0, 3, 0] == 100


@slow_on_jax
def test_elastic_keeps_shape_and_range_and_differs_per_seed(mnist5k):
    images = scale(mnist5k.x_train[:8])

    def distort(seed):
        out = augment.ElasticDistortion(seed=seed)(images, training=True)
        return keras.ops.convert_to_numpy(out)

    a, b, again = distort(1), distort(2), distort(1)
    assert a.shape == images.shape
    assert a.min() >= 0.0 and a.max() <= 1.0 + 1e-6
    np.testing.assert_array_equal(a, again)
    assert not np.allclose(a, b)
    assert not np.allclose(a, images)
    assert np.abs(a - images).mean() < 0.2  # distorted, still a digit


@slow_on_jax
def test_training_data_is_augmented_per_epoch_and_eval_data_never(mnist5k):
    x = scale(mnist5k.x_train[:64])
    plain = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Identity()])
    for name in ("elastic", "affine"):
        net = network.with_augmentation(plain, name, seed=0)

        def batch(epoch, training=True, net=net):
            seeded.reseed(net, 0, epoch)
            return keras.ops.convert_to_numpy(net(x, training=training))

        xa, xb, xa_again = batch(0), batch(1), batch(0)
        assert not np.allclose(xa, x)  # augmented in training
        assert not np.allclose(xa, xb)  # differently every epoch
        np.testing.assert_array_equal(xa, xa_again)  # the same for the same (seed, epoch)
        np.testing.assert_array_equal(batch(0, training=False), x)  # never at evaluation


def test_unaugmented_epochs_shuffle_deterministically():
    a, b = loop.epoch_order(3, 0, 50), loop.epoch_order(3, 0, 50)
    c = loop.epoch_order(3, 1, 50)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert sorted(a.tolist()) == list(range(50))


def test_matrix_smoothing_equals_a_same_padded_gaussian_convolution():
    rng = np.random.default_rng(0)
    field = rng.uniform(-1, 1, (3, 28, 20)).astype(np.float32)
    k = augment.gaussian_kernel(4.0)
    ref = convolve1d(convolve1d(field, k, axis=1, mode="constant"), k, axis=2, mode="constant")
    got = np.einsum("bhw,hi->biw", field, augment.smoothing_matrix(28, 4.0))
    got = np.einsum("bhw,wi->bhi", got, augment.smoothing_matrix(20, 4.0))
    np.testing.assert_allclose(got, ref, atol=1e-5)
