"""What a killed or doubled command leaves: a figure's temporary file from a `make report`
killed while it saved, cleared by the next drawing and never seen by the checks; two `make`
commands started at once both get past the environment; `make notebook` as root."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coursework.records import layout, storage
from coursework.records.layout import ResultsSet
from coursework.records.project import ROOT

KILLED_WRITER = """
import sys, time
from coursework.records import layout, storage
with storage.atomic(sys.argv[1]) as tmp:
    tmp.write_bytes(b"%PDF-1.4 half a figure")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_figure_killed_while_saved_leaves_a_file_the_next_drawing_clears(tmp_path):
    rs = ResultsSet(tmp_path / "results", "quick")
    folder = rs.figures_dir()
    folder.mkdir(parents=True)
    (folder / "toy-curves.pdf").write_bytes(b"%PDF-1.4 a figure")
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(folder / "toy-curves.pdf")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert writer.stdout and writer.stdout.readline().strip() == "writing"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    left = [p for p in folder.iterdir() if p.name != "toy-curves.pdf"]
    assert len(left) == 1 and layout.is_temporary(left[0]), left
    assert rs.figure_files() == [folder / "toy-curves.pdf"]  # verify's list never sees it
    assert storage.clear_temporaries(rs.leftovers()) == []  # young: perhaps a write in progress
    old = time.time() - 2 * storage.STALE_TEMPORARY
    os.utime(left[0], (old, old))
    (folder / ".keep").write_text("not ours")
    assert rs.leftovers() == left
    assert storage.clear_temporaries(rs.leftovers()) == left
    assert sorted(p.name for p in folder.iterdir()) == [".keep", "toy-curves.pdf"]


@pytest.fixture
def fake_project(tmp_path) -> Path:
    """A folder with the Makefile and an environment made already (a stub python): what
    `make env` does then is remember the backend."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").write_text("#!/bin/sh\necho FAILED\n")
    (venv / "python").chmod(0o755)
    time.sleep(0.01)
    (tmp_path / ".venv" / ".installed-tensorflow").touch()
    return tmp_path


def test_two_makes_started_at_once_both_get_past_the_environment(fake_project):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "KERAS_BACKEND"))}
    for _ in range(10):
        procs = [
            subprocess.Popen(
                ["make", "--no-print-directory", "env", "QUESTIONS=x"],
                cwd=fake_project,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outs = [(p.wait(timeout=60), p.stdout.read() if p.stdout else "") for p in procs]
        assert all(rc == 0 for rc, _ in outs), outs
    saved = (fake_project / ".venv" / "coursework.mk").read_text()
    assert "SAVED_BACKEND := tensorflow" in saved
    assert not list((fake_project / ".venv").glob("coursework.mk.*"))


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only")
def test_make_notebook_as_root_allows_root(fake_project):
    out = subprocess.run(
        ["make", "-n", "--no-print-directory", "notebook", "QUESTIONS=x"],
        cwd=fake_project,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "jupyter lab notebooks/coursework.ipynb --allow-root" in out, out


@pytest.mark.slow  # plan calibrates
def test_status_and_plan_leave_no_file_in_the_results(tmp_path, tiny_npz, capsys):
    """They look at the runs (and at whether another process trains one) without claiming
    any: a quick-only student's `make plan` makes no results/full of lock files."""
    from coursework.records import locks
    from tests.helpers import run_cli, toy_spec

    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", epochs=1, seeds="[0, 1]")
    res = tmp_path / "results"
    assert run_cli("--results", res, "status", spec, "--profile", "quick") == 0
    assert run_cli("--results", res, "plan", spec, "--profile", "quick") == 0
    made = [p for p in res.rglob("*") if p.parent != res]  # the calibration cache aside
    assert made == [], made
    held = ResultsSet(res, "quick").run_dir("toy", "fc", 0)
    with locks.run_claim(held):  # another process training it is still seen
        assert run_cli("--results", res, "status", spec, "--profile", "quick") == 0
    assert "training" in capsys.readouterr().out
