"""docs/cluster.md's path on a real (one-node) Slurm cluster: make slurm, sbatch, wait, make
collect, make report; a task requeued part-way resumes after its last epoch; a study's trials
as array tasks choose what make tune chooses. Every history equals a local run's."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from coursework.records import layout, storage
from coursework.runtime import backend
from tests.commands.test_student_loop import fresh_tree
from tests.helpers import FC_AND_CONV, metric_columns, needs_tex, toy_spec

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

RESULTS = Path("results/quick")


def project(folder: Path, name: str, dataset: Path, runs: str, **spec) -> Path:
    """A fresh copy of the project with ``experiments/<name>.toml``, a tiny question."""
    tree = fresh_tree(folder / "coursework")
    toy_spec(tree / "experiments", f"npz:{dataset}", runs, name=name, **spec)
    return tree


def shell(tree: Path, slurm: dict, *command: str, timeout: float = 300) -> str:
    """``command`` in the project, as a student runs it, with the cluster's SLURM_CONF."""
    env = {
        **os.environ,
        **slurm,
        "PYTHONPATH": str(tree),
        "KERAS_BACKEND": backend.current(),
    }
    proc = subprocess.run(
        command, cwd=tree, env=env, text=True, capture_output=True, timeout=timeout
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(command)}: exit {proc.returncode}\n{out[-4000:]}"
    return out


def make(tree: Path, slurm: dict, *args: str) -> str:
    return shell(tree, slurm, "make", "--no-print-directory", *args, "PROFILE=quick")


def local(tree: Path, question: str, *flags: str) -> subprocess.Popen:
    """The same question trained here, without Slurm, into ``local/`` (started now, so it
    trains while the cluster does; it never sees the cluster)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "KERAS_BACKEND": backend.current()}
    command = [str(tree / ".venv/bin/python"), "-m", "coursework", "--results", "local", "run"]
    return subprocess.Popen(
        [*command, question, "--profile", "quick", *flags],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-4000:]
    return out


def submit(tree: Path, slurm: dict, make_output: str) -> str:
    """sbatch the script make slurm wrote (it says where); the array job's id."""
    script = re.search(r"sbatch (\S+)", make_output)
    assert script, make_output
    return shell(tree, slurm, "sbatch", "--parsable", script.group(1)).strip().split(";")[0]


def tasks(tree: Path, slurm: dict, job: str) -> list[dict[str, str]]:
    """Each array task's record (scontrol show job: JobState, Restarts, ...)."""
    out = shell(tree, slurm, "scontrol", "-o", "show", "job", job)
    return [dict(f.split("=", 1) for f in line.split() if "=" in f) for line in out.splitlines()]


def logs(tree: Path) -> str:
    return "\n".join(p.read_text()[-3000:] for p in sorted(tree.glob("results/slurm-logs/*/*")))


def wait(tree: Path, slurm: dict, job: str, timeout: float = 240) -> list[dict[str, str]]:
    """Until every task of ``job`` has left the queue (squeue); each must have completed."""
    deadline = time.monotonic() + timeout
    while shell(tree, slurm, "squeue", "-h", "-j", job, "-o", "%i %T").strip():
        assert time.monotonic() < deadline, f"job {job} not done in {timeout}s\n{logs(tree)}"
        time.sleep(1)
    records = tasks(tree, slurm, job)
    assert records and all(r["JobState"] == "COMPLETED" for r in records), (
        [(r["JobId"], r["JobState"]) for r in records],
        logs(tree),
    )
    return records


def histories(root: Path) -> dict[str, list[str]]:
    """Every history.csv under ``root`` (runs and trials), without its time column."""
    found = {p.relative_to(root).as_posix(): metric_columns(p) for p in root.rglob(layout.HISTORY)}
    assert found and all(h[0].endswith(",learning_rate") for h in found.values()), found
    return found


@needs_tex
def test_the_readme_cluster_path_gives_what_a_local_run_gives(tmp_path, slurm, tiny_npz):
    tree = project(tmp_path, "toy", tiny_npz, FC_AND_CONV)
    here = local(tree, "toy")
    out = make(tree, slurm, "slurm", "QUESTION=toy")
    assert "2 array tasks" in out and "0 GPUs" in out, out  # fitted to a partition without GPUs
    job = submit(tree, slurm, out)
    records = wait(tree, slurm, job)
    assert len(records) == 2
    assert len(list(tree.glob(f"results/slurm-logs/quick/*-{job}_*.out"))) == 2
    assert not (tree / RESULTS / "summary.csv").exists()  # tasks write nothing shared
    out = make(tree, slurm, "collect")
    assert "collected 2 runs" in out and "2 complete" in out, out
    finished(here)
    assert histories(tree / RESULTS / "toy") == histories(tree / "local/quick/toy")
    make(tree, slurm, "report", "QUESTIONS=toy")
    assert (tree / RESULTS / "report/report.pdf").stat().st_size > 0


SLOW = """
    [[runs]]
    name = "cnn"
    model = { conv_maps = [32], hidden = [64] }
"""


def epochs_done(seed: Path) -> int:
    """Epochs a run in progress has finished: its history's rows, once its checkpoint is
    written too (0 before)."""
    history = seed / layout.HISTORY
    if not (layout.checkpoint_file(seed).exists() and history.exists()):
        return 0
    return len(history.read_text().splitlines()) - 1


def _wait_for_an_epoch(tree: Path, slurm: dict, job: str, seed: Path) -> int:
    """Epochs the task has finished, once at least one (it must still be running)."""
    deadline = time.monotonic() + 120
    while not epochs_done(seed):
        assert time.monotonic() < deadline, logs(tree)
        assert shell(tree, slurm, "squeue", "-h", "-j", job), f"ended early\n{logs(tree)}"
        time.sleep(0.2)
    return epochs_done(seed)


def test_a_requeued_task_resumes_after_its_last_epoch_and_ends_as_if_never_stopped(
    tmp_path, slurm, slow_npz
):
    epochs = 10
    tree = project(tmp_path, "slow", slow_npz, SLOW, epochs=epochs)
    here = local(tree, "slow")
    job = submit(tree, slurm, make(tree, slurm, "slurm", "QUESTION=slow"))
    seed = tree / RESULTS / "slow/cnn/seed-0"
    done = _wait_for_an_epoch(tree, slurm, job, seed)
    assert done < epochs - 2, f"too late to requeue: {done} of {epochs} epochs done"
    shell(tree, slurm, "scontrol", "requeue", f"{job}_0")
    requeued = time.monotonic()
    while (r := tasks(tree, slurm, job)[0])["Restarts"] != "1" or r["JobState"] != "RUNNING":
        # slurm-local.sh's AuthInfo=cred_expire=10: Slurm's default holds it 2 minutes
        assert time.monotonic() - requeued < 60, (r["JobState"], r["Reason"], logs(tree))
        time.sleep(0.5)
    [record] = wait(tree, slurm, job)
    assert record["Restarts"] == "1"
    [log] = tree.glob(f"results/slurm-logs/quick/*-{job}_0.out")
    text = log.read_text()
    assert text.count("task 0 on") == 2, text
    resumed = re.findall(r"resuming after epoch (\d+)", text)
    assert len(resumed) == 1 and done <= int(resumed[0]) < epochs, text
    assert f"(it resumes after epoch {resumed[0]} of {epochs})" in text, text  # its plan line
    finished(here)
    assert histories(tree / RESULTS / "slow") == histories(tree / "local/quick/slow")


TUNED = """
    [tune]
    sampler = "random"
    trials = 2
    epochs = 2
    prune = false
    seed = 0
    [[runs]]
    name = "tuned"
    model = { conv_maps = [], hidden = [16] }
    tune = { params = { learning_rate = { low = 0.01, high = 1.0, log = true } } }
"""


def test_a_study_as_array_tasks_chooses_what_make_tune_chooses(tmp_path, slurm, tiny_npz):
    tree = project(tmp_path, "tuned", tiny_npz, TUNED)
    here = local(tree, "tuned", "--tune")
    out = make(tree, slurm, "slurm", "QUESTION=tuned", "TUNE=1")
    assert "2 array tasks" in out, out
    job = submit(tree, slurm, out)
    wait(tree, slurm, job)
    out = make(tree, slurm, "collect")
    assert re.search(r"study tuned/tuned: chose .* \(trial \d of 2\)", out), out
    finished(here)
    best = layout.ResultsSet(tree / "results", "quick").tune_dir("tuned", "tuned") / layout.BEST
    mine = layout.ResultsSet(tree / "local", "quick").tune_dir("tuned", "tuned") / layout.BEST
    assert storage.read_json(best)["params"] == storage.read_json(mine)["params"]
    assert histories(best.parent) == histories(mine.parent)
