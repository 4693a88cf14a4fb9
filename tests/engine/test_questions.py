"""The preprocessing, batch-norm and skip-connection questions, and Slurm array jobs."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from coursework.commands import cli
from coursework.data.arrays import scale
from coursework.engine import network
from coursework.engine.network import trainable_params
from coursework.records.layout import ResultsSet
from models import batchnorm, preprocessing, skip
from tests.conftest import save_npz
from tests.helpers import toy_spec


def correlated(n: int, shape=(4, 4, 1), seed: int = 0) -> np.ndarray:
    """Images in [0, 1] whose pixels are strongly correlated, with unequal variances."""
    rng = np.random.default_rng(seed)
    d = int(np.prod(shape))
    mix = np.eye(d) + 0.5 * rng.normal(size=(d, d))  # variances 1e-4 to 3e-2 once scaled
    x = rng.normal(size=(n, d)) @ mix
    x = (x - x.min()) / (x.max() - x.min())
    return x.reshape(n, *shape).astype(np.float32)


def covariance(out: np.ndarray) -> np.ndarray:
    flat = out.reshape(len(out), -1).astype(np.float64)
    return np.cov(flat, rowvar=False)


@pytest.mark.parametrize("mode, components", [("zca", None), ("pca", None), ("pca", 5)])
def test_whitening_gives_uncorrelated_unit_variance_inputs(mode, components):
    x = correlated(4000)
    layer = preprocessing.Whitening(mode, components, epsilon=1e-12)
    layer.adapt(x)
    out = keras.ops.convert_to_numpy(layer(x))
    k = components or 16
    assert out.shape == ((4000, k) if mode == "pca" else x.shape)
    np.testing.assert_allclose(covariance(out), np.eye(k), atol=2e-3)
    if mode == "zca":  # the symmetric whitening matrix: the closest to the identity
        m = keras.ops.convert_to_numpy(layer.matrix)
        np.testing.assert_allclose(m, m.T, atol=1e-3)


def test_standardisation_is_per_pixel_and_floors_a_constant_pixel():
    rng = np.random.default_rng(0)
    x = (rng.random((2000, 4, 4, 1)) * np.linspace(0.5, 1.0, 16).reshape(1, 4, 4, 1)).astype(
        np.float32
    )  # standard deviations 0.14 to 0.29, above the floor of 0.1
    x[:, 0, 0, 0] = 0.0  # a border pixel that never varies in training
    layer = preprocessing.Standardisation()
    layer.adapt(x)
    out = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(out.mean(axis=0)[1:, 1:], 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=0)[1:, 1:], 1, atol=1e-3)
    stray = np.zeros((1, 4, 4, 1), np.float32)
    stray[0, 0, 0, 0] = 1.0  # a test image with ink where training had none
    assert abs(float(keras.ops.convert_to_numpy(layer(stray))[0, 0, 0, 0])) <= 10.0


def test_whitening_refuses_images_too_large_naming_image_size():
    with pytest.raises(ValueError, match="image_size"):
        preprocessing.build((64, 64, 3), 2, preprocessing="zca")


@pytest.fixture(scope="module")
def shifted_npz(tmp_path_factory) -> tuple:
    """Training images dark, validation and test images bright: statistics fitted on anything
    but the training split would show it."""
    rng = np.random.default_rng(1)

    def split(n, low, high):
        return (rng.integers(low, high, (n, 6, 6, 1)).astype(np.uint8), rng.integers(0, 2, n))

    arrays = {}
    for name, n, low, high in (
        ("train", 200, 0, 60),
        ("val", 50, 180, 255),
        ("test", 50, 180, 255),
    ):
        arrays[f"x_{name}"], arrays[f"y_{name}"] = split(n, low, high)
    path = save_npz(tmp_path_factory.mktemp("shifted") / "shifted.npz", arrays)
    return path, arrays


@pytest.mark.slow  # trains
def test_preprocessing_is_fitted_on_the_training_split_only(tmp_path, shifted_npz):
    path, arrays = shifted_npz
    spec = toy_spec(
        tmp_path,
        f"npz:{path}",
        epochs=1,
        name="pre",
        builder="preprocessing:build",
        runs="""
        [[runs]]
        name = "standardise"
        model = { preprocessing = "standardise", hidden = [8] }
        [[runs]]
        name = "zca"
        model = { preprocessing = "zca", hidden = [8] }
    """,
    )
    res = tmp_path / "r"
    assert cli.main(["--results", str(res), "run", str(spec)]) == 0
    train = scale(arrays["x_train"])
    everything = scale(np.concatenate([arrays[f"x_{s}"] for s in ("train", "val", "test")]))
    for run, layer_name in (("standardise", "standardise"), ("zca", "zca")):
        folder = ResultsSet(res, "quick").run_dir("pre", run, 0)
        model = keras.saving.load_model(folder / "model.keras", compile=False)
        layer = model.get_layer(layer_name)
        mean = keras.ops.convert_to_numpy(
            layer.mean if layer_name == "zca" else layer.adapt_mean
        ).reshape(-1)
        np.testing.assert_allclose(mean, train.reshape(len(train), -1).mean(axis=0), atol=1e-5)
        assert abs(mean.mean() - everything.mean()) > 0.2  # not the statistics of all splits
    assert network.adapt(preprocessing.build((6, 6, 1), 2, "raw"), arrays["x_train"]) == []


@pytest.mark.parametrize("depth", [10, 20, 30])
def test_plain_and_residual_networks_have_the_same_weights(depth):
    plain = skip.build((28, 28, 1), 10, depth=depth)
    res = skip.build((28, 28, 1), 10, depth=depth, residual=True)
    assert trainable_params(plain) == trainable_params(res)
    assert sum(isinstance(layer, keras.layers.Add) for layer in res.layers) == depth // 2
    assert not any(isinstance(layer, keras.layers.Add) for layer in plain.layers)
    assert sum(isinstance(layer, keras.layers.Dense) for layer in plain.layers) == depth + 2
    with pytest.raises(ValueError, match="even"):
        skip.build((28, 28, 1), 10, depth=depth + 1, residual=True)


@pytest.mark.parametrize("kind", ["fc", "conv"])
def test_batchnorm_follows_every_hidden_layer_and_only_when_asked(kind):
    with_bn = batchnorm.build((28, 28, 1), 10, kind=kind, depth=4, batchnorm=True)
    without = batchnorm.build((28, 28, 1), 10, kind=kind, depth=4)
    bns = [layer for layer in with_bn.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 4
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in without.layers)


# --------------------------------------------------------------------------- Slurm
