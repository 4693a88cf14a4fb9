"""Slurm array scripts: every task in turn, then collect, gives what run gives."""

from __future__ import annotations

import os
import subprocess

import pytest

from coursework.commands import cli, cluster
from coursework.records import locks, storage
from coursework.records.layout import ResultsSet
from tests.helpers import FC_AND_CONV, toy_spec


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch):
    """These scripts are written as on a laptop: no sinfo to ask (tests/cluster has one)."""
    monkeypatch.setattr(cluster, "partition", lambda name="": None)


def summary_without_times(path) -> list[dict]:
    return [
        {k: v for k, v in row.items() if k != "train_seconds"} for row in storage.read_csv(path)
    ]


@pytest.mark.slow
def test_slurm_array_tasks_give_the_same_results_as_run(tmp_path, tiny_npz, capsys):
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", FC_AND_CONV, seeds="[0, 1]")
    script = tmp_path / "toy.sbatch"
    assert (
        cli.main(
            [
                "--results",
                str(tmp_path / "cluster"),
                "slurm",
                str(spec),
                "--profile",
                "quick",
                "--gpus",
                "0",
                "--time",
                "00:10:00",
                "--partition",
                "short",
                "--setup",
                "echo setting up",
                "--out",
                str(script),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"sbatch {script}" in out and "make collect PROFILE=quick" in out
    text = script.read_text()
    assert "#SBATCH --array=0-3" in text and "#SBATCH --partition=short" in text
    assert "--gres" not in text  # --gpus 0: a CPU job
    # the job id in the log's name: two submissions of one script never share a file
    assert (
        f"#SBATCH --output={(tmp_path / 'cluster').resolve()}/slurm-logs/quick/%x-%A_%a.out" in text
    )
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    # sbatch reads #SBATCH lines only before the first command
    first_command = next(
        i for i, line in enumerate(text.splitlines()) if line and not line.startswith("#")
    )
    assert all(not line.startswith("#SBATCH") for line in text.splitlines()[first_command:])

    env = {k: v for k, v in os.environ.items() if k != "SLURM_ARRAY_TASK_ID"}
    waited = _task_waits_for_the_process_training_its_run(
        script, env, ResultsSet(tmp_path / "cluster", "quick").run_dir("toy", "fc", 0)
    )
    assert "waiting for it to end" in waited and "-> toy/fc seed 0: best val" in waited
    for task in range(1, 4):
        done = subprocess.run(
            ["bash", str(script)],
            env={**env, "SLURM_ARRAY_TASK_ID": str(task)},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "setting up" in done.stdout
    cluster = tmp_path / "cluster"
    assert not (cluster / "quick/summary.csv").exists()  # tasks write nothing shared
    again = subprocess.run(
        ["bash", str(script)],
        env={**env, "SLURM_ARRAY_TASK_ID": "2"},
        capture_output=True,
        text=True,
    )
    assert "complete, skipped" in again.stdout  # a requeued task that had finished
    assert cli.main(["--results", str(cluster), "collect", "--profile", "quick"]) == 0
    assert "4 complete" in capsys.readouterr().out

    local = tmp_path / "local"
    assert cli.main(["--results", str(local), "run", str(spec)]) == 0
    assert summary_without_times(cluster / "quick/summary.csv") == summary_without_times(
        local / "quick/summary.csv"
    )
    for name in ("stats.csv", "ensembles.csv"):
        assert (cluster / "quick" / name).read_text() == (local / "quick" / name).read_text()
    assert cli.main(["--results", str(cluster), "verify", "--profile", "quick", "--no-rerun"]) == 0


def test_slurm_task_out_of_range_and_missing_task_id(tmp_path, tiny_npz, capsys):
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", FC_AND_CONV)
    assert cli.main(["--results", str(tmp_path / "r"), "run", str(spec), "--task", "2"]) == 2
    assert "tasks 0 to 1" in capsys.readouterr().err
    script = tmp_path / "toy.sbatch"
    assert (
        cli.main(["--results", str(tmp_path / "r"), "slurm", str(spec), "--out", str(script)]) == 0
    )
    assert "#SBATCH --gres=gpu:1" in script.read_text()
    env = {k: v for k, v in os.environ.items() if k != "SLURM_ARRAY_TASK_ID"}
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "submit with sbatch" in done.stderr
    assert not (tmp_path / "r/quick").exists()


def _task_waits_for_the_process_training_its_run(script, env, run_folder) -> str:
    """Task 0 while this process holds its run's claim (as a duplicate task's twin would):
    it must wait, then train the run once the claim is released; its output."""
    with locks.run_claim(run_folder) as mine:
        assert mine
        task = subprocess.Popen(
            ["bash", str(script)],
            env={**env, "SLURM_ARRAY_TASK_ID": "0"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert task.stdout is not None
        seen = []
        for line in task.stdout:  # until it says it waits (it must not end meanwhile)
            seen.append(line)
            if "waiting for it to end" in line:
                break
        assert task.poll() is None, "".join(seen)[-2000:]
        assert not (run_folder / "run.json").exists()
    rest, _ = task.communicate(timeout=300)
    assert task.returncode == 0, rest[-2000:]
    assert (run_folder / "run.json").exists()
    return "".join(seen) + rest
