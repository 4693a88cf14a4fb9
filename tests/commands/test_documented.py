"""Every command the README and docs/ give a student or a marker, typed as written (through a
shell, in the order the pages give them), in a fresh clone whose `report.toml` chooses other
questions than the template's and adds a question of the student's own, written from
docs/experiments.md's worked example. Each exits 0, as root here, and `make test-fast` passes
there. A command this machine cannot run (a GPU, a Slurm cluster, the full profile's hours) is
listed with the reason; a documented command neither run nor listed fails the test."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from coursework.records.project import ROOT
from tests.commands.test_student_loop import fresh_tree
from tests.helpers import MARKING_TESTS

# every command of the pages, minutes of them: `make test TESTS="-m long"` (CI leaves it to
# that, until the suite's re-tiering makes room for it in its 30 minutes)
pytestmark = [*MARKING_TESTS, pytest.mark.long]

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# commands of the pages that need what a test machine has not: the reason, by a part of them
NOT_HERE = {
    "EXTRA=jax-cuda": "a CUDA GPU",
    "make all": "the full profile: hours of training on full MNIST",
    "SAMPLE=5": "the full profile's runs (its comment says so)",
    "make slurm": "a Slurm cluster (tests/cluster runs it on a one-node cluster)",
    "make collect": "a Slurm array's tasks (tests/cluster runs it)",
    "SLURM=1": "a Slurm cluster (tests/cluster marks on a one-node cluster)",
}
# commands typed in the pages' text rather than their code blocks, as written there
IN_TEXT = [
    "make help",
    "make width PROFILE=quick",
    'make report QUESTIONS="width"',
    "make plots",
    "make page",
    "make notebook",
    "make test-fast",
]
QUESTIONS = ["depth", "width"]  # report.toml's: not the template's (every question)


def documented() -> list[tuple[str, str]]:
    """(page, command) of every shell line of the pages' code blocks that runs make (a line
    of ``a && b`` gives each), comments cut, in the pages' order; then :data:`IN_TEXT`."""
    out = []
    for page in PAGES:
        for block in re.findall(r"```[a-z]*\n(.*?)```", page.read_text(), re.S):
            for line in block.splitlines():
                line = re.sub(r"\s+#.*$", "", line.strip())
                if line.startswith("make "):
                    out += [(page.name, part.strip()) for part in line.split("&&")]
    return out + [("text", command) for command in IN_TEXT]


def student_clone(tmp: Path) -> Path:
    """A fresh clone; report.toml chooses :data:`QUESTIONS` and names its author; the files
    of docs/experiments.md's own question written as the page gives them."""
    tree = fresh_tree(tmp / "clone")
    text = (ROOT / "docs/experiments.md").read_text()
    for name, body in re.findall(r"<!-- file: (\S+) -->\n```\w+\n(.*?)```", text, re.S):
        (tree / name).write_text(body)
    settings = tree / "report.toml"
    body = re.sub(r"(?m)^questions = .*$", f"questions = {QUESTIONS!r}", settings.read_text())
    settings.write_text(re.sub(r"(?m)^author = .*$", 'author = "A. Student (s1234567)"', body))
    return tree


def bees(home: Path) -> None:
    """``$HOME/bees``: docs/data.md's folder of images, a subfolder per class."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, name in enumerate(("bee", "no-bee")):
        (home / "bees" / name).mkdir(parents=True)
        for i in range(30):
            image = rng.integers(0, 90, (24, 24, 3), dtype=np.uint8)
            image[6:18, 6:18, k] += 150  # the class: a bright square, red or green
            Image.fromarray(image).save(home / "bees" / name / f"{i}.png")


def shell(tree: Path, command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, shell=True, cwd=tree, env=env, text=True, capture_output=True, timeout=1800
    )


def notebook(tree: Path, env: dict[str, str]) -> str:
    """``make notebook``: JupyterLab starts and serves (then this test stops it)."""
    proc = subprocess.Popen(
        ["make", "notebook"],
        cwd=tree,
        env={**env, "BROWSER": "true"},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out, end = "", time.monotonic() + 600
    try:
        assert proc.stdout is not None
        while time.monotonic() < end and "http://" not in out:
            line = proc.stdout.readline()
            if not line:
                break
            out += line
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=60)
    assert "http://" in out, f"make notebook did not serve:\n{out[-3000:]}"
    return out


def test_every_documented_command_runs_as_written_in_a_students_clone(tmp_path):
    tree = student_clone(tmp_path)
    home = tmp_path / "home"
    bees(home)
    temporary = tmp_path / "tmp"  # the clone's own: its test-fast's pytest folders apart
    temporary.mkdir()
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(tree), "TMPDIR": str(temporary)}
    env.pop("MAKEFLAGS", None)
    shared = ROOT.parent / "shared" / "data"
    if shared.is_dir():
        env["COURSEWORK_DATA_DIR"] = str(shared)
    ran: list[tuple[str, str, int]] = []
    listed: list[tuple[str, str, str]] = []
    for page, command in documented():
        if command in {c for _, c, _ in ran} and command != "make quick":
            continue  # typed on two pages: run once (make quick twice: the second a no-op)
        reason = next((why for part, why in NOT_HERE.items() if part in command), None)
        if reason is None and command.startswith(("make setup-tex", "apt-get")):
            reason = None if os.geteuid() == 0 and shutil.which("apt-get") else "root and apt"
        if reason is None and command == "make data" and "COURSEWORK_DATA_DIR" not in env:
            reason = "the network: the full profile's datasets (../shared/data where it is)"
        if reason is not None:
            listed.append((page, command, reason))
            continue
        if command.startswith("make mark"):  # a marker's inbox: the zip handed in
            (tree / "inbox").mkdir(exist_ok=True)
            shutil.copy2(tree / "submission.zip", tree / "inbox" / "submission.zip")
        started = time.monotonic()
        if command == "make notebook":
            notebook(tree, env)
        else:
            proc = shell(tree, command, env)
            out = proc.stdout + proc.stderr
            assert proc.returncode == 0, f"{page}: {command}: exit {proc.returncode}\n{out[-5000:]}"
        ran.append((page, command, round(time.monotonic() - started)))
    print("\n".join(f"ran {s:4d} s  {p}: {c}" for p, c, s in ran))
    print("\n".join(f"not here  {p}: {c} ({why})" for p, c, why in listed))
    commands = {c for _, c, _ in ran}
    assert {"make quick", "make submission", "make mark SUBMISSION=inbox/"} <= commands
    assert 'make report QUESTIONS="width"' in commands and "make test-fast" in commands
    # the student's own question is in the paper, and the marker passed the zip
    numbers = (tree / "results/quick/report/numbers.tex").read_text()
    assert "width/units-100" in numbers
    with open(tree / "marking/marks.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["verdict"], r["questions"]) for r in rows] == [("pass", "depth width")], rows
