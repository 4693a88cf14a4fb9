"""Seeds trained together as one program (JAX, engine/pack.py) agree with the same seeds
trained one by one: every history row, the best epoch, the weights, the gradient flow and the
test accuracy, with dropout, augmentation and early stopping (a seed that stops leaves the
pack)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from coursework.engine import job, trainer
from coursework.engine.claimed import How
from coursework.records import layout, spec, storage
from coursework.runtime import backend
from tests.helpers import assert_same_flow, toy_spec

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="runs in the JAX pass (BACKEND=jax)"
)
ROWS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")
RUNS = """
    [[runs]]
    name = "conv"
    model = { conv_maps = [4], hidden = [16], activation = "relu", dropout = 0.3 }
    augment = "affine"
    early_stopping = 1
    learning_rate = 0.6
"""


def _jobs(tmp_path, tiny_npz, folder: str) -> list[job.Job]:
    spec_file = toy_spec(tmp_path, f"npz:{tiny_npz}", RUNS, epochs=5, seeds="[0, 1]")
    return job.plan(spec.load(str(spec_file)), "quick", tmp_path / folder)


def _history(j: job.Job) -> list[dict]:
    return storage.read_csv(j.out / layout.HISTORY)


@pytest.mark.slow
def test_packed_seeds_agree_with_the_seeds_trained_one_by_one(tmp_path, tiny_npz):
    backend.configure()
    alone = _jobs(tmp_path, tiny_npz, "alone")
    for j in alone:
        trainer.run_job(j, How(shared=False))
    packed = _jobs(tmp_path, tiny_npz, "packed")
    recs = trainer.run_pack(packed, How(shared=False))
    assert [(r.packed or {}).get("seeds") for r in recs] == [[0, 1]] * 2
    stopped_early = 0
    for a, p, rec in zip(alone, packed, recs, strict=True):
        want, got = _history(a), _history(p)
        assert len(got) == len(want), (a.seed, len(want), len(got))
        stopped_early += len(got) < 5
        for w, g in zip(want, got, strict=True):
            for k in ROWS:
                assert float(g[k]) == pytest.approx(float(w[k]), rel=1e-4, abs=1e-5), (a.seed, k)
        assert_same_flow(a.out, p.out, rtol=1e-3)  # the probe as the weights: to tolerance
        mine = storage.read_record(a.out / layout.RECORD).metrics
        assert rec.metrics["best_epoch"] == mine["best_epoch"]
        assert rec.metrics["test_accuracy"] == pytest.approx(mine["test_accuracy"], abs=0.006)
        model = keras.saving.load_model(a.out / layout.MODEL)
        other = keras.saving.load_model(p.out / layout.MODEL)
        for w, g in zip(model.get_weights(), other.get_weights(), strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
    assert stopped_early, "no seed stopped early: the test does not see the pack shrink"


@pytest.mark.slow
def test_plan_marks_packed_runs_and_verify_retrains_a_packed_seed_packed(
    tmp_path, tiny_npz, capsys
):
    from coursework.commands import cli

    spec_file = toy_spec(tmp_path, f"npz:{tiny_npz}", RUNS, epochs=2, seeds="[0, 1]")
    res = str(tmp_path / "r")
    assert cli.main(["--results", res, "plan", str(spec_file), "--pack-seeds"]) == 0
    out = capsys.readouterr().out
    assert "  2p " in out and "'p': the run's seeds train together" in out
    assert cli.main(["--results", res, "run", str(spec_file), "--pack-seeds"]) == 0
    assert "packed with seeds 0, 1" in capsys.readouterr().out
    args = ["--results", res, "verify", "--profile", "quick", "--sample", "1"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "re-run history: byte-identical (jax, packed with seeds 0, 1" in out
