"""The gradient-flow probe (engine/gradients.py): the same weights give the same numbers on
every backend, it moves nothing that training reads, and its layer names do not depend on the
process.

The numbers of :data:`RECORDED` were taken on TensorFlow from the weights beside them
(``python -m tests.engine.test_probe`` takes them again); each backend's pass checks its own
against them: JAX's in CI's JAX pass.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from coursework.data import datasets
from coursework.engine import gradients, seeded
from coursework.records import storage
from coursework.records.config import TrainConfig
from coursework.records.results import GRADIENT_COLUMNS
from coursework.runtime import backend
from tests.helpers import CONFIG

RECORDED = Path(__file__).parent / "probe"
# batch normalisation (batch statistics in the probe), convolutions, an L2 penalty in the loss
MODEL = {"kind": "conv", "depth": 2, "maps": 4, "batchnorm": True, "l2": 0.001}
CFG = TrainConfig.from_dict({**CONFIG, "builder": "batchnorm:build", "model": MODEL})


def session() -> seeded.Session:
    """The recorded network on mnist-5k's first 600 training images, its weights set."""
    backend.configure()
    ds = datasets.load("mnist-5k")
    ds = replace(ds, x_train=ds.x_train[:600], y_train=ds.y_train[:600])
    s = seeded.prepare(CFG, 0, ds)
    with np.load(RECORDED / "weights.npz") as f:
        s.model.set_weights([f[f"w{i}"] for i in range(len(f.files))])
    return s


def numbers(rows: list[dict]) -> np.ndarray:
    return np.array([[float(r[c]) for c in GRADIENT_COLUMNS[4:]] for r in rows])


def test_the_same_weights_give_the_recorded_numbers_on_this_backend():
    s = session()
    got = gradients.Probe.of(s, 0).rows(3)
    want = storage.read_csv(RECORDED / "gradients.csv")
    assert [(r["layer"], r["weight"], int(r["size"])) for r in want] == [
        (r["layer"], r["weight"], r["size"]) for r in got
    ]
    assert {r["epoch"] for r in got} == {3}
    # JAX against TensorFlow: up to 0.23% apart here (float32 sums in other orders through
    # batch normalisation's statistics): the same to the two digits a log-scale figure shows
    np.testing.assert_allclose(numbers(got), numbers(want), rtol=1e-2, atol=1e-9)


def test_the_probe_moves_nothing_training_reads():
    """Batch-norm statistics and seed states as they were; the weights untouched."""
    s = session()
    before = [np.array(v.value) for v in s.net.variables]
    gradients.Probe.of(s, 0).rows(1)
    for a, v in zip(before, s.net.variables, strict=True):
        np.testing.assert_array_equal(a, np.array(v.value), err_msg=v.path)


def test_layer_names_do_not_depend_on_the_layers_made_before():
    """Keras numbers the names it makes (dense_7 after six others in the process); the probe
    numbers them in the network's order, so a re-run in another process writes the same."""
    inputs = keras.Input((4,))
    keras.layers.Dense(3)  # one made before: Keras' next name is one further on
    h = keras.layers.Dense(3)(inputs)
    h = keras.layers.Dense(3, name="middle")(h)
    out = keras.layers.Dense(2)(keras.layers.BatchNormalization()(h))
    names = gradients.layer_names(keras.Model(inputs, out))
    assert names == [
        ("dense_1", "kernel"),
        ("dense_1", "bias"),
        ("middle", "kernel"),
        ("middle", "bias"),
        ("batch_normalization_1", "gamma"),
        ("batch_normalization_1", "beta"),
        ("dense_2", "kernel"),
        ("dense_2", "bias"),
    ]


def test_the_probe_batch_is_the_same_for_every_seed_and_at_most_256_images():
    a, b = gradients.probe_indices(600), gradients.probe_indices(600)
    assert len(a) == 256 and list(a) == list(b) and list(a) == sorted(set(a))
    assert len(gradients.probe_indices(100)) == 100


def record() -> None:
    """Take the recorded numbers again (TensorFlow): weights from the seeded network, moved
    off their initial values so that biases and batch-norm scales are not 0 and 1."""
    if keras.backend.backend() != "tensorflow":
        raise SystemExit("record on TensorFlow (KERAS_BACKEND=tensorflow)")
    ds = datasets.load("mnist-5k")
    s = seeded.prepare(CFG, 0, ds)
    rng = np.random.default_rng(0)
    weights = [
        w + 0.1 * rng.standard_normal(w.shape).astype(w.dtype) for w in s.model.get_weights()
    ]
    RECORDED.mkdir(exist_ok=True)
    np.savez(RECORDED / "weights.npz", **{f"w{i}": w for i, w in enumerate(weights)})
    rows = gradients.Probe.of(session(), 0).rows(3)
    storage.write_csv(RECORDED / "gradients.csv", GRADIENT_COLUMNS, rows)
    print(f"wrote {RECORDED}: {len(weights)} weight arrays, {len(rows)} rows")


if __name__ == "__main__":
    backend.configure()
    record()
