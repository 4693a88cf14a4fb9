"""The loop a student lives in, in a fresh tree, through make as the README writes it: quick
results only; change a setting, see it stale, re-train exactly it, redraw exactly its
figures; report, verify and hand in without naming a profile; a marker sees an old figure."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from coursework.records.project import ROOT, code_files
from coursework.runtime import backend
from tests.helpers import installed_venv, needs_tex, template_report_toml


def fresh_tree(folder: Path) -> Path:
    """The project's files (as git sees them) in a new git repository, with an environment
    whose installs are up to date: this Python, reading the copy's code."""
    for path in code_files():
        rel = path.relative_to(ROOT)
        if rel.parts[0] in ("results", "submission", "marking"):
            continue
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, folder / rel)
    template_report_toml(
        folder / "report.toml", in_project=True
    )  # the template's, not a student's edits
    installed_venv(folder, code=folder)
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=s", "-c", "user.email=s@x", "commit", "-q", "-m", "template"],
    ):
        subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)
    return folder


def make(tree: Path, *args: str, ok: bool = True) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree), "KERAS_BACKEND": backend.current()}
    proc = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=tree,
        text=True,
        capture_output=True,
        env=env,
        timeout=1500,
    )
    out = proc.stdout + proc.stderr
    assert (proc.returncode == 0) == ok, (
        f"make {' '.join(args)}: exit {proc.returncode}\n" + out[-4000:]
    )
    return out


def digests(folder: Path) -> dict[str, str]:
    import hashlib

    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.iterdir()
        if p.suffix in (".pdf", ".png")
    }


def figure_numbers(pdf: Path, decimals: int) -> list[str]:
    """The numbers a figure prints with ``decimals`` decimals (its annotations; the axes'
    ticks are whole numbers)."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    return sorted(re.findall(rf"\b\d{{1,3}}\.\d{{{decimals}}}\b", text))


@pytest.mark.slow
@pytest.mark.long  # minutes, alone at the end of CI's TensorFlow pass: make test TESTS="-m long"
@needs_tex
@pytest.mark.skipif(
    backend.current() != "tensorflow",
    reason="trains a question through make: once, in the TensorFlow pass",
)
def test_change_something_try_again_then_report_verify_hand_in_and_mark(tmp_path):
    tree = fresh_tree(tmp_path / "coursework")
    toml = tree / "report.toml"
    toml.write_text(toml.read_text().replace("questions = []", 'questions = ["conv"]'))
    make(tree, "quick")
    figures = tree / "results/quick/figures"
    before = digests(figures)
    old_val = (figures / "conv-val.pdf").read_bytes()
    assert "12 complete" in make(tree, "status", "PROFILE=quick")

    # change one run's quick setting: exactly its seeds are stale, with the change
    spec = tree / "experiments/conv.toml"
    spec.write_text(
        spec.read_text().replace(
            "model = { conv_maps = [20] }\n",
            "model = { conv_maps = [20] }\nprofiles.quick = { learning_rate = 0.05 }\n",
        )
    )
    out = make(tree, "status", "PROFILE=quick")
    stale = [line.split()[:3] for line in out.splitlines() if " stale:" in line]
    assert stale == [["conv1", "seed", "0"], ["conv1", "seed", "1"]], out
    assert out.count("learning_rate 0.1 -> 0.05") == 2
    out = make(tree, "conv", "PROFILE=quick")
    assert out.count(": stale (learning_rate 0.1 -> 0.05)") == 2, out
    assert "(10 complete, skipped)" in out and ": complete, skipped" not in out, out
    assert "[2/2] conv/conv1 seed 1: stale" in out and "== 2/2 runs done" in out, out
    assert "12 complete" in make(tree, "status", "PROFILE=quick")

    # the report redraws the figures that show conv1, and no others
    make(tree, "report", "PROFILE=quick")
    after = digests(figures)
    provenance = json.loads((figures / "provenance.json").read_text())["figures"]
    shows_conv1 = {
        f
        for name, entry in provenance.items()
        for f in entry["files"]
        if name in ("conv-curves", "conv-val", "conv-comparison")
        or entry["choice"].startswith("conv1 ")
    }
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed == shows_conv1 and changed, (changed, shows_conv1)
    numbers = json.loads((tree / "results/quick/report/numbers.json").read_text())
    table = sorted(m["value"] for m in numbers["questions"][0]["macros"] if m["field"] == "test")
    decimals = len(table[0].partition(".")[2])
    assert figure_numbers(figures / "conv-comparison.pdf", decimals) == table

    # the README's commands, verbatim, with quick results only
    out = make(tree, "report")
    assert "profile quick" in out and (tree / "results/quick/report/report.pdf").exists()
    out = make(tree, "verify", "SAMPLE=3")
    assert "profile quick" in out and "all" in out.splitlines()[-1], out[-2000:]
    out = make(tree, "submission")
    assert (tree / "submission.zip").exists() and "unwritten" in out.lower(), out[-2000:]

    # an older figure put back: verify fails and names it; so does mark, on a zip holding it
    (figures / "conv-val.pdf").write_bytes(old_val)
    out = make(tree, "verify", "RERUN=0", ok=False)
    assert "figures/conv-val.pdf" in out and "STALE" in out, out[-3000:]
    # (make submission runs the lab book, whose report redraws the figure: handed in without
    # running it, as a student whose notebook has its outputs would)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(
        [
            str(tree / ".venv/bin/python"),
            "-m",
            "coursework",
            "submission",
            "--profile",
            "quick",
            "--no-notebook",
        ],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
    )
    with zipfile.ZipFile(tree / "submission.zip") as z:
        held = [n for n in z.namelist() if n.endswith("figures/conv-val.pdf")]
        assert held and z.read(held[0]) == old_val
    proc = subprocess.run(
        ["make", "--no-print-directory", "mark", "SUBMISSION=submission.zip", "SAMPLE=0"],
        cwd=tree,
        text=True,
        capture_output=True,
        env=env,
        timeout=900,
    )
    sheets = list((tree / "marking").glob("*/sheet.md"))
    assert len(sheets) == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    sheet = sheets[0].read_text()
    assert "figures/conv-val.pdf" in sheet and "STALE" in sheet, sheet[-3000:]
    assert "author" in sheet  # the placeholder author, shown to the marker

    # editing the question's model builder makes its runs stale
    builder = tree / "models/conv.py"
    builder.write_text(builder.read_text() + "\n# a student's change\n")
    out = make(tree, "status", "PROFILE=quick")
    assert out.count("models/conv.py changed") == 12, out
