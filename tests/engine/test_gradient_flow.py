"""The diagnosis gradients.csv exists for: a deep plain network's first layers receive
gradients orders of magnitude smaller than its last layers (vanishing gradients), and the same
network with batch normalisation does not (issue 44; models/vgg.py, experiments/gradients.toml).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.helpers import run_cli, write_spec

SPEC = """
question = "flow"
title = "Gradient flow"
research_question = "Do a deep plain network's first layers receive any gradient?"
hypothesis = "Orders of magnitude less than its last layers; with batch normalisation not."
builder = "vgg:build"

[defaults]
dataset = "npz:{data}"
optimizer = "adam"
learning_rate = 0.001
batch_size = 16
epochs = 1
seeds = [0]
model = {{ depth = 38, filters = 4, activation = "leaky_relu" }}

[profiles.quick]
[profiles.full]

[[runs]]
name = "plain"

[[runs]]
name = "bn"
model = {{ batchnorm = true }}
"""


def first_and_last(path: Path, layers: int = 2) -> tuple[float, float]:
    """The mean |gradient| of the kernels of the first and of the last ``layers`` convolutions
    (the softmax layer left out) at the last epoch of a gradients.csv."""
    rows = list(csv.DictReader(path.open()))
    last = max(int(r["epoch"]) for r in rows)
    grads = [
        float(r["grad_mean_abs"])
        for r in rows
        if int(r["epoch"]) == last and r["weight"] == "kernel" and r["layer"] != "softmax"
    ]
    assert len(grads) == 37  # the 38 layers less the softmax, in network order
    return sum(grads[:layers]) / layers, sum(grads[-layers:]) / layers


@pytest.mark.slow  # trains two 38-layer networks (about 40 s here)
def test_plain_network_vanishes_where_its_batch_normalised_twin_does_not(tmp_path, tiny_npz):
    spec = write_spec(tmp_path, SPEC.format(data=tiny_npz), "flow")
    assert run_cli("--results", tmp_path / "r", "run", spec) == 0
    flow = {
        run: first_and_last(tmp_path / "r/quick/flow" / run / "seed-0/gradients.csv")
        for run in ("plain", "bn")
    }
    first, last = flow["plain"]
    assert last >= 100 * first, f"plain: first layers {first:.3g}, last {last:.3g}"
    first, last = flow["bn"]
    assert 0 < last <= 10 * first, f"batch-normalised: first layers {first:.3g}, last {last:.3g}"
