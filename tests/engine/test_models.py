"""Model builders: published parameter counts, any input shape and class count."""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np
import pytest

from coursework.commands import cli
from coursework.commands.describe import architectures
from coursework.data.arrays import DatasetInfo
from coursework.engine.network import build_model, builder_kwargs
from coursework.records import spec
from models.common import L2Pooling2D, keras_penalty


@pytest.mark.slow
def test_nielsen_parameter_counts(capsys):
    params = {a["run"]: a["params"] for a in architectures(spec.load("nielsen"), "full")}
    assert params["fc100"] == 79_510
    assert params["conv1"] == 289_630  # one conv-pool, 20 maps: the Edinburgh lecture's figure
    assert params["conv2"] == 85_670
    assert params["dropout-fc1000"] == 1_672_570
    assert cli.main(["describe", "nielsen"]) == 0
    out = capsys.readouterr().out
    for text in ("79,510", "289,630", "85,670", "1,672,570"):
        assert text in out


def all_runs():
    """Every run of every question, once per network: runs that differ only in training
    settings (rate, epochs, seeds) build the same layers from the same builder arguments."""
    seen = set()
    for q in spec.all_questions():
        for run in spec.load(q).resolve("full"):
            cfg = run.config
            kwargs = builder_kwargs(cfg, 100 * (5 if cfg.augment == "expand" else 1))
            network = repr((cfg.builder, sorted(kwargs.items()), cfg.image_size, cfg.color))
            if network not in seen:
                seen.add(network)
                yield pytest.param(run, id=f"{q}/{run.name}")


@pytest.mark.slow
@pytest.mark.parametrize("run", list(all_runs()))
def test_every_builder_trains_a_step_on_64x64x3_two_classes(run):
    info = DatasetInfo("rgb", (64, 64, 3), 2, {"train": 100, "val": 10, "test": 10})
    keras.utils.set_random_seed(0)
    if run.config.model.get("preprocessing") in ("pca", "zca"):  # 12,288 values an image
        with pytest.raises(ValueError, match="image_size"):
            build_model(run.config, info)
        run = replace(run, config=run.config.with_(image_size=[32, 32]))
        info = replace(info, input_shape=(32, 32, 3))
    model = build_model(run.config, info)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((4, *info.input_shape), dtype=np.float32)
    loss = model.train_on_batch(x, np.array([0, 1, 0, 1]))
    assert np.isfinite(loss)
    assert model.output_shape == (None, 2)
    keras.backend.clear_session()


def test_l2_pooling_is_root_of_sum_of_squares():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    out = keras.ops.convert_to_numpy(L2Pooling2D(2)(x))[0, :, :, 0]
    expected = [
        [np.sqrt(0 + 1 + 16 + 25), np.sqrt(4 + 9 + 36 + 49)],
        [np.sqrt(64 + 81 + 144 + 169), np.sqrt(100 + 121 + 196 + 225)],
    ]
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_keras_penalty_matches_network3():
    # network3: cost + 0.5 * lambda * sum(w^2) / num_training_batches; 50,000 / 10 = 5,000
    assert keras_penalty(0.1, 5000) == pytest.approx(1e-5)
    assert keras_penalty(0.1, 5000, "l1") == pytest.approx(2e-5)
    w = np.ones((3, 3), np.float32)
    reg = keras.regularizers.L2(keras_penalty(0.1, 5000))
    assert float(reg(w)) == pytest.approx(0.5 * 0.1 * 9 / 5000)


def test_conv_pool_applies_activation_after_pooling():
    from models.conv import build

    model = build((28, 28, 1), 10, conv_maps=[20], activation="relu")
    kinds = [type(layer).__name__ for layer in model.layers[1:4]]
    assert kinds == ["Conv2D", "MaxPooling2D", "Activation"]
    assert model.layers[1].padding == "valid"


def test_training_needs_nothing_of_the_students_common_module(monkeypatch):
    # a student who edits models/common.py cannot break the penalties nor the size check
    import models.common
    from coursework.engine import network

    cfg = spec.load("nielsen").resolve("quick")[0].config.with_(l2_lambda=0.1, batch_size=10)
    builders_error = models.common.ImageSizeError("too large: set image_size")
    monkeypatch.delattr(models.common, "keras_penalty")
    monkeypatch.delattr(models.common, "ImageSizeError")
    kwargs = network.builder_kwargs(cfg, 50_000)
    assert kwargs["l2"] == pytest.approx(1e-5)
    assert network.size_error(builders_error)
    assert network.size_error(network.ImageSizeError("too large"))
    assert not network.size_error(ValueError("another builder error"))


@pytest.mark.parametrize(("shape", "classes"), [((28, 28, 1), 10), ((64, 64, 3), 2)])
def test_vgg_counts_layers_as_the_course(shape, classes):
    # the course's count: every convolution and the softmax layer (8 = no processing blocks,
    # 38 = five per stage); batch normalisation and residual connections add no convolution
    from models.vgg import build

    def weighted(model: keras.Model) -> list[tuple[str, tuple]]:
        kinds = (keras.layers.Conv2D, keras.layers.Dense)
        return [(la.name, la.kernel.shape) for la in model.layers if isinstance(la, kinds)]

    for depth in (8, 38):
        plain = weighted(build(shape, classes, depth=depth, filters=4))
        assert len(plain) == depth
        assert plain[0][0] == "entry_conv" and plain[-1] == ("softmax", (4, classes))
        for variant in ({"batchnorm": True}, {"batchnorm": True, "residual": True}):
            assert weighted(build(shape, classes, depth=depth, filters=4, **variant)) == plain
    assert "s3_b5_conv2" in dict(plain)
    with pytest.raises(ValueError, match="depth"):
        build(shape, classes, depth=10)
