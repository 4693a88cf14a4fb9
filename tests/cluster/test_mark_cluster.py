"""A cohort marked on a real (one-node) Slurm cluster: `make mark SLURM=1` sends the re-runs
as one array job, a second `make mark` gathers them; what has not come back is pending, a
task cancelled mid-run is sent again (and nothing queued is sent twice), and every verdict and
re-run row equals a local marking's of the same sample."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coursework.runtime import backend
from coursework.verify import mark, options
from tests.helpers import FC_AND_CONV, handed_in_zip, needs_bwrap, needs_tex, toy_spec
from tests.verify.test_hostile import csv_rows, rebuilt
from tests.verify.test_hostile_batch import fake_one_run

pytestmark = [pytest.mark.cluster, pytest.mark.slow, needs_tex, needs_bwrap]
SAMPLE = "3"  # every run: the edited one is in the sample, and both markings draw the same


@pytest.fixture(scope="module")
def inbox(tmp_path_factory, tiny_npz) -> Path:
    """Three quick submissions: two honest (one student's runs, another's seeds), one with
    an edited run whose tracks are covered."""
    tmp = tmp_path_factory.mktemp("cohort")
    for student in ("a", "b"):
        (tmp / student).mkdir()
    runs = FC_AND_CONV.replace('name = "fc"', 'name = "fc"\n    seeds = [0, 1]')
    honest = handed_in_zip(tmp / "a", toy_spec(tmp / "a", f"npz:{tiny_npz}", runs))
    other = handed_in_zip(
        tmp / "b", toy_spec(tmp / "b", f"npz:{tiny_npz}", FC_AND_CONV, seeds="[2]")
    )
    folder = tmp / "inbox"
    folder.mkdir()
    shutil.copy(honest, folder / "ada.zip")
    shutil.copy(other, folder / "bea.zip")
    rebuilt(honest, folder / "cid.zip", fake_one_run)
    return folder


def marker(slurm: dict, tiny_npz: Path, *args: str) -> str:
    """`make mark`'s command line, run as the marker runs it (the cluster's SLURM_CONF)."""
    env = {
        **os.environ,
        **slurm,
        "COURSEWORK_DATA_DIR": str(tiny_npz.parent),
        "KERAS_BACKEND": backend.current(),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "coursework", "mark", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def squeue(slurm: dict, *flags: str) -> list[str]:
    out = subprocess.run(
        ["squeue", "-h", "-r", *flags],
        env={**os.environ, **slurm},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.split()


def rows_of(marking: Path) -> dict[str, tuple[str, list[tuple]]]:
    """Per submission: its verdict and its re-run rows (the cluster's job ids aside)."""
    import json

    out = {}
    for sheet in marking.glob("*/sheet.json"):
        data = json.loads(sheet.read_text())
        reruns = sorted(
            (r["run"], r["seed"], r["check"], r["file"], r["expected"], r["got"], r["verdict"])
            for r in data["rows"]
            if r["check"].startswith("re-run")
        )
        verdict = next(
            r["verdict"] for r in csv_rows(marking / "marks.csv") if r["submission"] == data["name"]
        )
        out[data["name"]] = (verdict, reruns)
    return out


@pytest.mark.long  # marks a cohort twice, with re-runs: CI leaves it to make test -m long
def test_a_cohort_marked_on_slurm_equals_a_local_marking(inbox, tmp_path, slurm, tiny_npz):
    local, remote = tmp_path / "local", tmp_path / "remote"
    os.environ["COURSEWORK_DATA_DIR"] = str(tiny_npz.parent)
    try:
        began = time.monotonic()
        mark.mark(inbox, local, options.Options(sample=int(SAMPLE)))
        local_seconds = time.monotonic() - began
    finally:
        del os.environ["COURSEWORK_DATA_DIR"]
    began = time.monotonic()
    sent = marker(
        slurm, tiny_npz, str(inbox), "--marking", str(remote), "--sample", SAMPLE, "--slurm"
    )
    assert re.search(r"mark on Slurm: 8 re-run\(s\) of 3 submission\(s\), [\d,]+ training", sent)
    assert "marked 3: 0 pass, 1 FAIL, 0 BROKEN, 2 pending" in sent, sent[-2000:]
    job = re.search(r"job (\d+)", sent)[1]

    running: list[str] = []
    for _ in range(600):  # a task running: cancel it mid-run
        running = squeue(slurm, "-t", "R", "-o", "%i")
        if running:
            break
        time.sleep(0.2)
    assert running, "no task started"
    cancelled = running[0]
    subprocess.run(["scancel", cancelled], env={**os.environ, **slurm}, check=True)
    again = marker(
        slurm, tiny_npz, str(inbox), "--marking", str(remote), "--sample", SAMPLE, "--slurm"
    )
    assert "pending" in again.splitlines()[-1], again[-2000:]  # not back yet: never a failure
    resent = re.search(r"sent .*: (\d+) task\(s\), job (\d+)", again)
    assert resent and resent[1] == "1", again[-3000:]  # the cancelled one, and nothing queued

    for _ in range(900):
        if not squeue(slurm, "-o", "%i"):
            break
        time.sleep(1)
    assert not squeue(slurm, "-o", "%i"), "tasks still queued"
    gathered = marker(slurm, tiny_npz, str(inbox), "--marking", str(remote), "--sample", SAMPLE)
    remote_seconds = time.monotonic() - began
    assert "marked 3: 2 pass, 1 FAIL, 0 BROKEN" in gathered.splitlines()[-1], gathered[-2000:]
    assert rows_of(remote) == rows_of(local)
    assert job != resent[2]
    print(f"local marking {local_seconds:.0f} s, on the cluster {remote_seconds:.0f} s")
