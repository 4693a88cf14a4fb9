"""Every Keras backend: no TensorFlow needed on JAX, PyTorch trains, and `--jobs N` gives the
same results as one run at a time."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coursework.commands import cli
from coursework.records import storage
from coursework.records.layout import ResultsSet
from coursework.runtime import backend
from coursework.verify import integrity as verify
from tests.helpers import toy_spec

ROOT = Path(__file__).resolve().parents[2]

NO_TENSORFLOW = """
import sys

class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError("No module named 'tensorflow' (hidden by the test)")

sys.meta_path.insert(0, NoTensorFlow())
"""

RUNS = """
    [[runs]]
    name = "fc"
    model = { conv_maps = [], hidden = [16] }
    [[runs]]
    name = "conv"
    augment = "elastic"
    model = { conv_maps = [4], hidden = [16], activation = "relu", dropout = 0.2 }
"""


def history_metrics(path: Path) -> list[str]:
    """history.csv without epoch_seconds (wall-clock time)."""
    return [line.rsplit(",", 1)[0] for line in path.read_text().splitlines()]


def cli_in(env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coursework", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow  # every command in a new process, verify's re-run included
@pytest.mark.long  # CI: scripts/ci-without-tensorflow.sh runs quick, report, verify without it
@pytest.mark.skipif(backend.current() != "jax", reason="runs in the JAX pass (BACKEND=jax)")
def test_jax_backend_needs_no_tensorflow(tmp_path, tiny_npz):
    """Every command works on JAX where `import tensorflow` fails."""
    (tmp_path / "block").mkdir()
    (tmp_path / "block" / "sitecustomize.py").write_text(NO_TENSORFLOW)
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "block"), str(ROOT)]),
    }
    check = subprocess.run(
        [sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, text=True
    )
    assert "No module named 'tensorflow'" in check.stderr
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", runs=RUNS)
    r = tmp_path / "r"
    for args in (
        ["run", spec],
        ["plots", "--profile", "quick"],
        ["report", "--profile", "quick"],
        ["verify", "--profile", "quick"],
        ["describe", "conv"],
        [
            "bench",
            "--backends",
            "jax",
            "--no-torch",
            "--images",
            "256",
            "--epochs",
            "2",
            "--batch-sizes",
            "64",
        ],
    ):
        proc = cli_in(env, "--results", r, *args)
        assert proc.returncode == 0, f"{args}: {proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    rec = json.loads((r / "quick/toy/conv/seed-0/run.json").read_text())
    assert rec["status"] == "complete" and rec["environment"]["backend"] == "jax"
    assert json.loads((r / "bench.json").read_text())["results"][0]["backend"] == "jax"


@pytest.mark.slow  # trains
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed")
def test_torch_backend_trains_a_conv_question_run(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(ROOT)}
    proc = cli_in(
        env,
        "--results",
        tmp_path,
        "run",
        "conv",
        "--profile",
        "quick",
        "--only",
        "conv2",
        "--seeds",
        "0",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rec = json.loads((tmp_path / "quick/conv/conv2/seed-0/run.json").read_text())
    assert rec["status"] == "complete" and rec["environment"]["backend"] == "torch"
    assert rec["metrics"]["test_accuracy"] > 0.9


@pytest.mark.slow
def test_jobs_give_the_same_results_as_one_at_a_time(tmp_path, tiny_npz):
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", runs=RUNS, seeds="[0, 1]")
    assert cli.main(["--results", str(tmp_path / "one"), "run", str(spec)]) == 0
    assert cli.main(["--results", str(tmp_path / "two"), "run", str(spec), "--jobs", "2"]) == 0
    for run in ("fc", "conv"):
        for seed in (0, 1):
            a, b = (tmp_path / r / f"quick/toy/{run}/seed-{seed}" for r in ("one", "two"))
            assert history_metrics(a / "history.csv") == history_metrics(b / "history.csv")
            ma = json.loads((a / "run.json").read_text())["metrics"]
            mb = json.loads((b / "run.json").read_text())["metrics"]
            assert ma["test_accuracy"] == mb["test_accuracy"]
    rows = storage.read_csv(tmp_path / "two/quick/summary.csv")
    assert len(rows) == 4 and {r["status"] for r in rows} == {"complete"}


OTHER = next((b for b in backend.installed() if b not in (backend.current(), "torch")), None)


@pytest.mark.slow
@pytest.mark.skipif(OTHER is None, reason="needs a second backend (tensorflow or jax)")
def test_verify_retrains_with_the_backend_the_runs_recorded(tmp_path, tiny_npz):
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", runs=RUNS)
    env = {**os.environ, "KERAS_BACKEND": OTHER, "PYTHONPATH": str(ROOT)}
    proc = cli_in(env, "--results", tmp_path / "r", "run", spec)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = verify.verify(ResultsSet(tmp_path / "r", "quick"), sample=1)
    reruns = [r for r in rows if r.check.startswith("re-run")]
    assert reruns and all(r.ok for r in rows)
    assert reruns[0].check == (
        f"re-run history: byte-identical ({OTHER}, same hardware and versions)"
    )


def test_missing_backend_is_one_clear_error(tmp_path, tiny_npz, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_BACKEND", "theano")
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}")
    assert cli.main(["--results", str(tmp_path / "r"), "run", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: KERAS_BACKEND='theano' is not supported")
    assert not (tmp_path / "r").exists()
