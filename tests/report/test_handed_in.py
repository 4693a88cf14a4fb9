"""What is handed in is what is reported: a results set with two questions trained and a paper
of one; `make submission` hands in that question and what a marker needs to check it, nothing
of the other, and `make mark` passes it whole and still fails an edited digit."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from coursework.verify import mark, options, sheets
from tests.helpers import MARKING_TESTS, run_cli, toy_spec
from tests.verify.test_mark import bump_val_accuracy, edited

pytestmark = MARKING_TESTS

SET = "quick"
TOP = f"submission/results/{SET}/"
PAPER, OTHER = "alpha", "beta"


@pytest.fixture(autouse=True)
def markers_data(tiny_npz, monkeypatch):
    monkeypatch.setenv("COURSEWORK_DATA_DIR", str(tiny_npz.parent))


@pytest.fixture(scope="module")
def student(tmp_path_factory, tiny_npz) -> tuple[Path, str, dict[str, bytes]]:
    """``(folder, what make submission printed, the results folder's files before it)``: two
    questions trained, verified, a paper of one, `make submission`."""
    tmp = tmp_path_factory.mktemp("student")
    res = tmp / "results"
    for q in (PAPER, OTHER):
        assert run_cli("--results", res, "run", toy_spec(tmp, f"npz:{tiny_npz}", name=q)) == 0
    assert run_cli("--results", res, "verify", "--no-rerun") == 0
    settings = tmp / "report.toml"
    settings.write_text(
        f'title = "Toy study"\nauthor = "Ada Lovelace (s0000001)"\nquestions = ["{PAPER}"]\n'
    )
    assert run_cli("--results", res, "report", "--settings", settings) == 0
    before = {p.relative_to(res).as_posix(): p.read_bytes() for p in res.rglob("*") if p.is_file()}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert (
            run_cli("--results", res, "submission", "--out", tmp / "submission", "--no-notebook")
            == 0
        )
    return tmp, out.getvalue(), before


def entries(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as z:
        return {name: z.read(name) for name in z.namelist()}


def rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_only_the_papers_question_is_handed_in(student):
    tmp, printed, before = student
    got = entries(tmp / "submission.zip")
    handed = {n.removeprefix(TOP): data for n, data in got.items() if n.startswith(TOP)}
    tops = {n.split("/")[0] for n in handed if "/" in n}
    assert tops == {PAPER, "figures", "report"}, tops
    assert f"{PAPER}/fc/seed-0/run.json" in handed and f"{PAPER}/spec.toml" in handed
    assert f"{PAPER}/fc/seed-0/history.csv" in handed
    assert f"{PAPER}/fc/seed-0/predictions.npz" in handed
    assert not any(n.endswith((".h5", ".keras")) for n in handed)
    for name in ("summary.csv", "stats.csv", "ensembles.csv", "verification.csv"):
        assert name in handed, name
        assert {
            r["run"].split("/")[0] if name == "verification.csv" else r["question"]
            for r in rows(handed[name])
        } <= {PAPER, "-"}, name
    assert {r["question"] for r in rows(handed["summary.csv"])} == {PAPER}
    figures = [n for n in handed if n.startswith("figures/") and n != "figures/provenance.json"]
    assert figures and all(n.startswith(f"figures/{PAPER}-") for n in figures), figures
    prov = json.loads(handed["figures/provenance.json"])["figures"]
    assert prov and all(name.startswith(f"{PAPER}-") for name in prov), prov
    assert not any(OTHER in n for n in got), [n for n in got if OTHER in n]
    # the manifest lists exactly the results files handed in (never itself, verify's CSV nor
    # the results page, which is drawn from them)
    man = json.loads(handed["MANIFEST.json"])
    assert set(man["files"]) == set(handed) - {"MANIFEST.json", "verification.csv", "index.html"}
    # one line says what is handed in and what is left out
    assert (
        f"results handed in: the paper's question {PAPER}; left out (not in the paper): {OTHER}"
    ) in printed.splitlines(), printed
    # the student's results folder is as it was
    res = tmp / "results"
    assert {
        p.relative_to(res).as_posix(): p.read_bytes() for p in res.rglob("*") if p.is_file()
    } == before


def test_the_handed_in_subset_passes_marking_and_an_edited_digit_fails(student, tmp_path):
    tmp, _, _ = student
    [sheet] = mark.mark(tmp / "submission.zip", tmp_path / "marking", options.Options(sample=0))
    assert sheet.verdict == "pass", [sheets.describe(r) for r in sheet.failures]
    assert sheet.facts["questions"] == PAPER
    history = f"{TOP}{PAPER}/fc/seed-0/history.csv"
    bad = edited(tmp / "submission.zip", tmp_path / "digit.zip", {history: bump_val_accuracy})
    [sheet] = mark.mark(bad, tmp_path / "marking", options.Options(sample=0))
    assert sheet.verdict == "FAIL"
    first = sheet.mark_row()["first_failure"]
    assert f"{PAPER}/fc/seed-0/history.csv" in first and first.endswith("[EDITED]"), first
