"""The GPU's epoch programs, run on a CPU against the CPU's: the same weights and metrics.

On a CPU the engine trains JAX one jitted step at a time and TensorFlow without XLA; a GPU
gets the whole epoch as one ``lax.scan`` (JAX) or an XLA program (TensorFlow). Asking
:func:`coursework.engine.loop.epoch_program` for those here is the only way CI runs them.
"""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np
import pytest

from coursework.data.arrays import DatasetInfo
from coursework.engine import loop
from coursework.engine.network import build_model, compile_model
from coursework.engine.seeded import reseed
from coursework.records.config import TrainConfig
from coursework.runtime import backend
from tests.helpers import assert_same_flow, run_cli, toy_spec

on_jax = pytest.mark.skipif(backend.current() != "jax", reason="runs in the JAX pass")
on_tensorflow = pytest.mark.skipif(
    backend.current() != "tensorflow", reason="runs in the TensorFlow pass"
)
N, BATCH, SEED = 100, 32, 3  # 3 full batches and an odd last one of 4
NETS = {  # each compiles four programs (two per program, for the odd last batch): two a pass
    "mlp": {"conv_maps": [], "hidden": [16]},
    "conv": {"conv_maps": [4], "hidden": [16], "activation": "relu"},
    "conv-dropout": {"conv_maps": [4], "hidden": [16], "activation": "relu", "dropout": 0.3},
}


def train(mnist5k, net: str, **program: bool) -> tuple[list[np.ndarray], list[dict]]:
    """Two epochs of a tiny network on ``N`` images, built and seeded as ``session.prepare`` does,
    through the epoch program that ``program`` (``scan=`` or ``jit_compile=``) asks for."""
    cfg = TrainConfig.from_dict(
        {"builder": "conv:build", "model": NETS[net], "optimizer": "momentum", "momentum": 0.5}
        | {"learning_rate": 0.1, "batch_size": BATCH}
        | {"dataset": "mnist-5k", "epochs": 2, "seeds": [SEED]}
    )
    info = DatasetInfo("tiny", (28, 28, 1), 10, {"train": N, "val": 0, "test": 0})
    keras.utils.set_random_seed(SEED)
    model = build_model(cfg, info)
    compile_model(model, cfg)
    split = loop.Split(mnist5k.x_train[:N], mnist5k.y_train[:N], BATCH, 10)
    fn = loop.epoch_program(model, split, loop.Placement(True, False, **program))
    assert all(getattr(fn, key) == value for key, value in program.items())  # as asked
    logs = []
    for epoch in range(2):
        reseed(model, SEED, epoch)
        logs.append(fn(loop.epoch_order(SEED, epoch, N)))
    return [np.array(w) for w in model.get_weights()], logs


def assert_same(a: tuple[list[np.ndarray], list[dict]], b: tuple[list[np.ndarray], list[dict]]):
    """Every weight within 1e-5, the losses to float precision, the accuracies exactly."""
    (wa, la), (wb, lb) = a, b
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb, strict=True):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-5)
    assert [r["accuracy"] for r in la] == [r["accuracy"] for r in lb]
    np.testing.assert_allclose([r["loss"] for r in la], [r["loss"] for r in lb], rtol=1e-5)


@on_jax
@pytest.mark.slow  # about 6 s each: JAX compiles the scan slowly on a CPU
@pytest.mark.parametrize("net", ["mlp", "conv-dropout"])
def test_jax_scan_program_trains_as_the_per_step_program(mnist5k, net):
    scanned = train(mnist5k, net, scan=True)
    assert_same(scanned, train(mnist5k, net, scan=False))
    assert scanned[1][0]["loss"] != scanned[1][1]["loss"]  # it trained: epoch 2 differs


@pytest.fixture
def no_op_determinism():
    """XLA runs only where determinism is off (loop.epoch_program); op determinism is global
    to the process, and another test in this worker may have turned it on. TensorFlow has no
    public way back, so its own switch is used, and put back after."""
    from tensorflow.python.framework import config

    was = config.is_op_determinism_enabled()
    config.disable_op_determinism()
    yield
    if was:
        config.enable_op_determinism()


@pytest.mark.slow  # trains twice
@on_tensorflow
@pytest.mark.parametrize("net", ["mlp", "conv"])
def test_tensorflow_xla_program_trains_as_the_plain_program(mnist5k, net, no_op_determinism):
    """No dropout: TensorFlow's stateless random ops draw other numbers under XLA from the same
    seed (its own algorithm), so dropout's masks, and the weights, differ with XLA."""
    assert_same(train(mnist5k, net, jit_compile=True), train(mnist5k, net, jit_compile=False))


@on_jax
@pytest.mark.slow
def test_a_whole_run_through_the_scan_program_matches_the_per_step_one(
    tmp_path, tiny_npz, monkeypatch
):
    """``run`` end to end (600 images: 18 batches of 32 and one of 24), scan against steps."""
    spec = toy_spec(
        tmp_path,
        f"npz:{tiny_npz}",
        epochs=2,
        runs="""
        [[runs]]
        name = "net"
        model = { conv_maps = [], hidden = [16], dropout = 0.3 }
    """,
    )
    real, used = loop.epoch_program, []
    histories = {}
    for scan in (True, False):

        def forced(model, split, where, _scan=scan):
            used.append(real(model, split, replace(where, scan=_scan)))
            return used[-1]

        monkeypatch.setattr(loop, "epoch_program", forced)
        assert run_cli("--results", tmp_path / str(scan), "run", spec) == 0
        path = tmp_path / str(scan) / "quick/toy/net/seed-0/history.csv"
        histories[scan] = np.genfromtxt(path, delimiter=",", names=True)
    seeds = [tmp_path / str(scan) / "quick/toy/net/seed-0" for scan in (True, False)]
    assert_same_flow(*seeds, rtol=1e-4)
    assert [p.scan for p in used] == [True, False]
    a, b = histories[True], histories[False]
    for column in ("epoch", "accuracy", "val_accuracy"):
        assert list(a[column]) == list(b[column]), column
    for column in ("loss", "val_loss"):
        np.testing.assert_allclose(a[column], b[column], rtol=1e-5, err_msg=column)
