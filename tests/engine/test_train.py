"""The runner end to end on tiny real data: outputs, determinism, resume, divergence."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coursework.records import locks, results, run_folders, storage
from coursework.records.layout import ResultsSet
from tests.helpers import metric_columns, run_cli, toy_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # trains
def test_run_writes_history_run_json_and_summary(tmp_path, tiny_npz):
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", epochs=3)
    assert run_cli("--results", tmp_path / "r", "run", spec, "--seeds", "0,1") == 0
    out = tmp_path / "r" / "quick" / "toy" / "fc" / "seed-1"
    lines = (out / "history.csv").read_text().splitlines()
    assert lines[0] == ",".join(results.HISTORY_COLUMNS)
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]
    rec = json.loads((out / "run.json").read_text())
    assert rec["status"] == "complete" and rec["seed"] == 1 and rec["profile"] == "quick"
    assert set(rec["metrics"]) >= {
        "best_epoch",
        "best_val_accuracy",
        "test_accuracy",
        "test_loss",
        "train_seconds",
    }
    assert rec["params"] == 784 * 32 + 32 + 32 * 10 + 10
    assert rec["dataset"]["sizes"] == {"train": 600, "val": 200, "test": 200}
    assert {"python", "backend", "backend_version", "keras", "numpy", "platform", "cpu"} <= set(
        rec["environment"]
    )
    assert rec["config"]["epochs"] == 3
    summary = storage.read_csv(tmp_path / "r" / "quick" / "summary.csv")
    assert [(r["run"], r["seed"], r["status"]) for r in summary] == [
        ("fc", "0", "complete"),
        ("fc", "1", "complete"),
    ]
    assert float(summary[1]["test_accuracy"]) == rec["metrics"]["test_accuracy"]
    # best epoch is the epoch of best validation accuracy (Nielsen's protocol)
    val = [float(line.split(",")[4]) for line in lines[1:]]
    assert rec["metrics"]["best_epoch"] == val.index(max(val)) + 1
    # a complete run is skipped; --force re-runs it
    before = (out / "run.json").stat().st_mtime_ns
    assert run_cli("--results", tmp_path / "r", "run", spec, "--seeds", "1") == 0
    assert (out / "run.json").stat().st_mtime_ns == before
    assert run_cli("--results", tmp_path / "r", "run", spec, "--seeds", "1", "--force") == 0
    assert (out / "run.json").stat().st_mtime_ns != before


@pytest.mark.slow  # trains twice
def test_same_seed_gives_identical_history(tmp_path, tiny_npz):
    spec = toy_spec(
        tmp_path,
        f"npz:{tiny_npz}",
        epochs=2,
        runs="""
        [[runs]]
        name = "net"
        model = { conv_maps = [4], hidden = [16], activation = "relu", dropout = 0.3 }
    """,
    )
    for r in ("a", "b"):
        assert run_cli("--results", tmp_path / r, "run", spec) == 0
    ha, hb = (tmp_path / r / "quick/toy/net/seed-0/history.csv" for r in ("a", "b"))
    assert metric_columns(ha) == metric_columns(hb)
    assert len(metric_columns(ha)) == 3


@pytest.mark.slow  # trains
def test_builder_trains_on_64x64x3_two_classes(tmp_path, rgb_npz):
    spec = toy_spec(
        tmp_path,
        f"npz:{rgb_npz}",
        epochs=1,
        runs="""
        [[runs]]
        name = "conv"
        model = { conv_maps = [4, 8], hidden = [16], activation = "relu" }
    """,
    )
    assert run_cli("--results", tmp_path / "r", "run", spec) == 0
    rec = json.loads((tmp_path / "r/quick/toy/conv/seed-0/run.json").read_text())
    assert rec["status"] == "complete"
    assert rec["dataset"]["input_shape"] == [64, 64, 3] and rec["dataset"]["num_classes"] == 2


@pytest.mark.slow  # trains
def test_diverging_run_is_recorded_and_the_next_completes(tmp_path, tiny_npz):
    spec = toy_spec(
        tmp_path,
        f"npz:{tiny_npz}",
        epochs=2,
        runs="""
        [[runs]]
        name = "explodes"
        learning_rate = 1e6
        model = { conv_maps = [], hidden = [32], activation = "relu" }
        [[runs]]
        name = "fine"
        model = { conv_maps = [], hidden = [32] }
    """,
    )
    assert run_cli("--results", tmp_path / "r", "run", spec) == 0  # diverged is a result
    summary = {r["run"]: r for r in storage.read_csv(tmp_path / "r/quick/summary.csv")}
    assert summary["explodes"]["status"] == "diverged"
    assert summary["fine"]["status"] == "complete"


@pytest.mark.slow  # trains
def test_failed_run_is_recorded_others_go_on_and_exit_is_nonzero(tmp_path, tiny_npz):
    spec = toy_spec(
        tmp_path,
        f"npz:{tiny_npz}",
        epochs=1,
        runs="""
        [[runs]]
        name = "bad"
        model = { conv_maps = [4], activation = "no-such-activation" }
        [[runs]]
        name = "good"
        model = { conv_maps = [], hidden = [8] }
    """,
    )
    assert run_cli("--results", tmp_path / "r", "run", spec) == 1
    bad = json.loads((tmp_path / "r/quick/toy/bad/seed-0/run.json").read_text())
    assert bad["status"] == "failed" and "error" in bad
    summary = {r["run"]: r["status"] for r in storage.read_csv(tmp_path / "r/quick/summary.csv")}
    assert summary == {"bad": "failed", "good": "complete"}


def test_bad_spec_stops_before_training(tmp_path, tiny_npz, capsys):
    spec = toy_spec(
        tmp_path,
        f"npz:{tiny_npz}",
        runs="""
        [[runs]]
        name = "a"
        learning_rat = 0.1
    """,
    )
    assert run_cli("--results", tmp_path / "r", "run", spec) == 2
    assert "learning_rat" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, mnist5k):
    spec = toy_spec(
        tmp_path,
        "mnist-5k",
        epochs=4,
        runs="""
        [[runs]]
        name = "net"
        model = { conv_maps = [8], hidden = [32], activation = "relu", dropout = 0.2 }
    """,
    )
    killed = tmp_path / "killed"
    history = killed / "quick/toy/net/seed-0/history.csv"
    cmd = [sys.executable, "-m", "coursework", "--results", str(killed), "run", str(spec)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if history.exists() and len(history.read_text().splitlines()) >= 3:  # header + 2 epochs
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    rows_at_kill = len(history.read_text().splitlines()) - 1
    assert 2 <= rows_at_kill < 4
    assert not (history.parent / "run.json").exists()

    assert run_cli("--results", killed, "run", spec) == 0  # resume
    assert run_cli("--results", tmp_path / "clean", "run", spec) == 0  # uninterrupted
    resumed = metric_columns(history)
    clean = metric_columns(tmp_path / "clean/quick/toy/net/seed-0/history.csv")
    assert [r.split(",")[0] for r in resumed[1:]] == ["1", "2", "3", "4"]
    assert resumed == clean
    flow = (p / "gradients.csv" for p in (history.parent, tmp_path / "clean/quick/toy/net/seed-0"))
    assert next(flow).read_text() == next(flow).read_text()  # the gradient flow resumes too
    a = json.loads((history.parent / "run.json").read_text())["metrics"]
    b = json.loads((tmp_path / "clean/quick/toy/net/seed-0/run.json").read_text())["metrics"]
    assert a["test_accuracy"] == b["test_accuracy"] and a["best_epoch"] == b["best_epoch"]
    assert not (history.parent / "backup").exists()


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["quick", "full"])
def test_describe_conv(profile, capsys):
    assert run_cli("describe", "conv", "--profile", profile) == 0
    out = capsys.readouterr().out
    for params in ("79,510", "289,630", "85,670"):
        assert params in out


@pytest.mark.slow  # trains
def test_a_run_another_process_is_training_is_left_alone(tmp_path, tiny_npz, capsys):
    """Two `run` commands over the same runs (or a Slurm task beside one) never train the same
    run folder at once: the second skips the run the first holds."""
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", epochs=1, seeds="[0, 1]")
    res = tmp_path / "r"
    held = ResultsSet(res, "quick").run_dir("toy", "fc", 0)
    with locks.run_claim(held) as mine:  # as another process would hold it
        assert mine
        assert run_cli("--results", res, "run", spec) == 0
    out = capsys.readouterr().out
    assert "toy/fc seed 0: another process is training it now, skipped" in out
    assert not (held / "run.json").exists() and run_folders.is_complete(held.parent / "seed-1")
    assert run_cli("--results", res, "run", spec) == 0  # released: now it trains
    assert run_folders.is_complete(held)
