"""Datasets: the embedded split, user npz files, clear errors for missing or corrupt data."""

from __future__ import annotations

import numpy as np
import pytest

from coursework.data import datasets as data
from coursework.data.arrays import ARRAY_KEYS, scale
from coursework.records.errors import DataError
from tests.conftest import SHARED, save_npz


def test_mnist_5k_split_is_stratified_and_fixed(mnist5k):
    assert mnist5k.sizes == {"train": 4000, "val": 500, "test": 500}
    assert mnist5k.input_shape == (28, 28, 1) and mnist5k.num_classes == 10
    assert np.bincount(mnist5k.y_train).tolist() == [400] * 10
    assert np.bincount(mnist5k.y_val).tolist() == [50] * 10
    assert mnist5k.x_train.dtype == np.uint8 and mnist5k.x_train.max() == 255
    assert data.load("mnist-5k").fingerprint() == mnist5k.fingerprint()
    assert data.info("mnist-5k") == mnist5k.info


def test_scale_is_the_same_on_the_host_and_in_the_compiled_step(mnist5k):
    import keras

    from coursework.engine import loop

    x = mnist5k.x_train[:5]
    a = scale(x)
    b = keras.ops.convert_to_numpy(loop.pixels(keras.ops.convert_to_tensor(x)))
    assert a.dtype == np.float32 and a.max() == 1.0
    np.testing.assert_array_equal(a, b)
    f = np.full((2, 2, 2, 1), 0.5, np.float32)
    np.testing.assert_array_equal(scale(f), f)  # floats are taken as already scaled
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loop.pixels(f)), f)


def test_custom_npz_any_shape_and_classes(rgb_npz):
    ds = data.load(f"npz:{rgb_npz}")
    assert ds.input_shape == (64, 64, 3)
    assert ds.num_classes == 2
    assert ds.sizes == {"train": 160, "val": 40, "test": 40}
    assert len(ds.fingerprint()) == 64


def test_missing_npz_names_the_file(tmp_path):
    with pytest.raises(DataError, match="nothere.npz: no such dataset file"):
        data.load(f"npz:{tmp_path / 'nothere.npz'}")


def test_corrupt_npz_names_the_file(tmp_path):
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip file")
    with pytest.raises(DataError, match="corrupt.npz: not a readable .npz"):
        data.load(f"npz:{bad}")


def test_npz_with_missing_array_names_the_field(tmp_path):
    path = save_npz(
        tmp_path / "partial.npz", {"x_train": np.zeros((4, 8, 8)), "y_train": np.zeros(4)}
    )
    with pytest.raises(DataError, match="partial.npz: missing array.*x_val"):
        data.load(f"npz:{path}")


def test_npz_with_mismatched_labels(tmp_path, mnist5k):
    arrays = {k: getattr(mnist5k, k)[:10] for k in ARRAY_KEYS}
    arrays["y_val"] = arrays["y_val"][:3]
    path = save_npz(tmp_path / "mismatch.npz", arrays)
    with pytest.raises(DataError, match="x_val has 10 images but y_val 3 labels"):
        data.load(f"npz:{path}")


def test_pickled_object_arrays_are_refused(tmp_path, mnist5k):
    arrays = {k: getattr(mnist5k, k)[:10] for k in ARRAY_KEYS}
    arrays["y_test"] = np.array([object()] * 10, dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match="pickled.npz"):
        data.load(f"npz:{path}")


def test_full_mnist_offline_gives_one_clear_error(tmp_path, monkeypatch):
    import keras

    monkeypatch.setenv("COURSEWORK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def offline():
        raise OSError("network unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError) as exc:
        data.load("mnist")
    msg = str(exc.value)
    assert str(tmp_path / "data" / "mnist.npz") in msg and "make quick" in msg


def test_full_mnist_from_data_dir(tmp_path, monkeypatch, mnist5k):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 60000)
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=x[:10000], y_test=y[:10000])
    monkeypatch.setenv("COURSEWORK_DATA_DIR", str(tmp_path))
    ds = data.load("mnist")
    assert ds.sizes == {"train": 50000, "val": 10000, "test": 10000}
    np.testing.assert_array_equal(ds.x_val[0, ..., 0], x[50000])  # Nielsen's validation split


@pytest.mark.skipif(not (SHARED / "mnist-valid.npz").exists(), reason="../shared absent")
def test_shared_validation_split_matches_scale():
    with np.load(SHARED / "mnist-valid.npz", allow_pickle=False) as f:
        pixels = np.rint(f["inputs"].astype(np.float32) * 256)
    assert pixels.max() <= 255 and pixels.min() >= 0


@pytest.mark.skipif(not (SHARED / "mnist.npz").exists(), reason="../shared absent")
def test_full_mnist_is_nielsens_split(monkeypatch):
    """The real file: 50,000 / 10,000 / 10,000, validation = training images 50,000-59,999
    (the same images as mnist-valid.npz), test = the official test set, the label counts."""
    monkeypatch.setenv("COURSEWORK_DATA_DIR", str(SHARED))
    ds = data.load("mnist")
    assert ds.sizes == {"train": 50000, "val": 10000, "test": 10000}
    assert ds.x_train.shape == (50000, 28, 28, 1) and ds.x_train.dtype == np.uint8
    assert ds.num_classes == 10
    for name, x, y in (("valid", ds.x_val, ds.y_val), ("test", ds.x_test, ds.y_test)):
        with np.load(SHARED / f"mnist-{name}.npz", allow_pickle=False) as f:
            pixels = np.rint(f["inputs"].astype(np.float32) * 256).astype(np.uint8)
            np.testing.assert_array_equal(x.reshape(-1, 784), pixels)
            np.testing.assert_array_equal(y, f["targets"])
    # the label counts of shared/data/README.md: all 60,000 training images, and test
    train = np.bincount(np.concatenate([ds.y_train, ds.y_val]), minlength=10)
    assert train.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(ds.y_test, minlength=10).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    assert data.info("mnist").sizes == ds.sizes
