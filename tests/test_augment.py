"""Augmentation: Nielsen's expansion, elastic distortion, and that it never touches val/test."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from coursework import augment, data
from coursework.ensemble import vote
from coursework.train import eval_dataset, train_dataset


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


def test_elastic_keeps_shape_and_range_and_differs_per_seed(mnist5k):
    images = data.scale(tf.constant(mnist5k.x_train[:8]))
    a = augment.elastic(images, tf.constant([0, 1], tf.int64)).numpy()
    b = augment.elastic(images, tf.constant([0, 2], tf.int64)).numpy()
    again = augment.elastic(images, tf.constant([0, 1], tf.int64)).numpy()
    assert a.shape == images.shape
    assert a.min() >= 0.0 and a.max() <= 1.0 + 1e-6
    np.testing.assert_array_equal(a, again)
    assert not np.allclose(a, b)
    assert not np.allclose(a, images.numpy())
    assert np.abs(a - images.numpy()).mean() < 0.2  # distorted, still a digit


def first_batch(ds):
    return next(iter(ds))


def test_training_data_is_augmented_per_epoch_and_eval_data_never(mnist5k):
    x, y = mnist5k.x_train[:64], mnist5k.y_train[:64]
    epoch = tf.Variable(0, dtype=tf.int64)
    for name in ("elastic", "affine"):
        affine = augment.affine_layers(0) if name == "affine" else []
        ds = train_dataset(x, y, batch_size=64, seed=0, epoch=epoch, num_classes=10,
                           augment_name=name, affine=affine)
        epoch.assign(0)
        xa, ya = first_batch(ds)
        epoch.assign(1)
        xb, yb = first_batch(ds)
        plain = data.scale(x)
        # the same images in a different order; recover the order from the labels' batch index
        assert sorted(ya.numpy().tolist()) == sorted(y.tolist())
        assert not np.allclose(np.sort(xa.numpy().ravel()), np.sort(plain.ravel()))
        assert not np.allclose(xa.numpy(), xb.numpy())
    xv, yv = next(iter(eval_dataset(mnist5k.x_val, mnist5k.y_val, 10)))
    np.testing.assert_array_equal(xv.numpy(), data.scale(mnist5k.x_val[:len(xv)]))
    np.testing.assert_array_equal(yv.numpy(), mnist5k.y_val[:len(yv)])


def test_unaugmented_epochs_shuffle_deterministically(mnist5k):
    x, y = mnist5k.x_train[:50], mnist5k.y_train[:50]
    epoch = tf.Variable(0, dtype=tf.int64)
    ds = train_dataset(x, y, batch_size=50, seed=3, epoch=epoch, num_classes=10)
    a = first_batch(ds)[1].numpy()
    b = first_batch(ds)[1].numpy()
    epoch.assign(1)
    c = first_batch(ds)[1].numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert sorted(a.tolist()) == sorted(y.tolist())


def test_vote_breaks_ties_by_probability():
    probs = np.array([
        [[0.9, 0.1, 0.0], [0.6, 0.4, 0.0]],
        [[0.2, 0.8, 0.0], [0.0, 0.3, 0.7]],
        [[0.6, 0.4, 0.0], [0.0, 0.45, 0.55]],
    ])  # 3 members, 2 examples
    assert vote(probs).tolist() == [0, 2]
    tie = np.array([[[0.9, 0.1]], [[0.4, 0.6]]])  # one vote each: higher total prob wins
    assert vote(tie).tolist() == [0]


def test_matrix_smoothing_equals_a_same_padded_gaussian_convolution():
    rng = np.random.default_rng(0)
    field = tf.constant(rng.uniform(-1, 1, (3, 28, 20, 1)), tf.float32)
    k = augment.gaussian_kernel(4.0)
    n = int(k.shape[0])
    ref = tf.nn.conv2d(field, tf.reshape(k, [n, 1, 1, 1]), 1, "SAME")
    ref = tf.nn.conv2d(ref, tf.reshape(k, [1, n, 1, 1]), 1, "SAME")
    got = tf.einsum("bhwc,hi->biwc", field, augment.smoothing_matrix(28, 4.0))
    got = tf.einsum("bhwc,wi->bhic", got, augment.smoothing_matrix(20, 4.0))
    np.testing.assert_allclose(got.numpy(), ref.numpy(), atol=1e-5)
