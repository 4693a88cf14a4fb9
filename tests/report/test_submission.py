"""`make submission` that fails or is killed part-way: no half-made submission, no older one
left looking current; a completed one replaces the old. What is handed in is what is reported:
the paper's questions, their rows and a manifest of them, never an edit blessed. No training:
a tiny project and results set stand in (gather reads files only; tests/report/
test_handed_in.py trains, and marks what is handed in)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from coursework.analysis import manifest
from coursework.records import layout, locks, record, storage
from coursework.records.errors import ReportError, ResultsError
from coursework.records.layout import ResultsSet
from coursework.report import submission
from coursework.report.submission import LISTING, read_listing
from tests.helpers import CONFIG

SET = "quick"


@pytest.fixture
def project(tmp_path) -> tuple[Path, Path]:
    """``(root, results)``: a project of a few files (no git: its own folders are its code)
    and a results set with a built report of question ``q`` (two seeds of one run) and
    question ``other`` trained, not in the paper."""
    root = tmp_path / "project"
    for name, text in (
        ("coursework/a.py", "A = 1\n"),
        ("models/m.py", "M = 2\n"),
        ("experiments/q.toml", "question = 'q'\n"),
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    res = tmp_path / "results"
    rdir = ResultsSet(res, SET).report_dir()
    rdir.mkdir(parents=True)
    (rdir / "report.pdf").write_bytes(b"%PDF-1.5 first\n")
    storage.write_json(
        rdir / "numbers.json",
        {"schema_version": record.SCHEMA_VERSION, "author": "A", "questions": [{"id": "q"}]},
    )
    for q, seed in (("q", 0), ("q", 1), ("other", 0)):
        run = ResultsSet(res, SET).run_dir(q, "fc", seed)
        run.mkdir(parents=True)
        (run / layout.HISTORY).write_text(f"epoch,loss\n1,2.{seed}\n")
        parts = {"question": q, "run": "fc", "seed": seed, "profile": "quick", "spec_file": ""}
        parts |= {"status": "failed", "config": CONFIG}  # no result: none of the page's numbers
        storage.write_record(run / layout.RECORD, record.RunRecord.from_parts(parts, run))
        (run / layout.BEST_WEIGHTS).write_bytes(b"weights: never handed in")
    storage.write_csv(
        ResultsSet(res, SET).aggregate(layout.SUMMARY),
        ["question", "run", "seed"],
        [
            {"question": "q", "run": "fc", "seed": 0},
            {"question": "other", "run": "fc", "seed": 0},
            {"question": "q", "run": "fc", "seed": 1},
        ],
    )
    figures = ResultsSet(res, SET).figures_dir()
    figures.mkdir()
    for name in ("q-curves", "other-curves"):
        (figures / f"{name}.pdf").write_bytes(f"%PDF {name}".encode())
    storage.write_json(
        ResultsSet(res, SET).provenance_file(),
        {
            "schema_version": record.SCHEMA_VERSION,
            "figures": {
                "q-curves": {"files": {"q-curves.pdf": "x"}},
                "other-curves": {"files": {"other-curves.pdf": "y"}},
            },
        },
    )
    return root, res


def build(project: tuple[Path, Path]) -> Path:
    root, res = project
    return submission.gather(ResultsSet(res, SET), root / "submission", root=root, notebook=False)


def listing(folder: Path) -> dict[str, tuple[int, str]]:
    return read_listing((folder / LISTING).read_text())


def zipped(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as z:
        return {name: z.read(name) for name in z.namelist()}


def beside(root: Path) -> list[str]:
    """What is in the project folder besides its code."""
    return sorted(
        p.name for p in root.iterdir() if p.name not in ("coursework", "models", "experiments")
    )


def test_a_completed_build_replaces_the_old_one_whole(project):
    root, res = project
    archive = build(project)
    assert archive == root / "submission.zip"
    assert zipped(archive)["submission/report.pdf"] == b"%PDF-1.5 first\n"
    assert "results/quick/q/fc/seed-1/history.csv" in listing(root / "submission")
    # then: a new report, and a seed deleted
    (ResultsSet(res, SET).report_dir() / "report.pdf").write_bytes(b"%PDF-1.5 second\n")
    run = ResultsSet(res, SET).run_dir("q", "fc", 1)
    for path in run.iterdir():
        path.unlink()
    run.rmdir()
    assert build(project) == archive
    assert beside(root) == ["submission", "submission.zip"]  # no staging left over
    folder = root / "submission"
    assert (folder / "report.pdf").read_bytes() == b"%PDF-1.5 second\n"
    assert not (folder / "results/quick/q/fc/seed-1").exists()  # nothing of the old one
    entries = zipped(archive)
    assert entries["submission/report.pdf"] == b"%PDF-1.5 second\n"
    assert not any("seed-1" in name for name in entries)
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert names == sorted([*listing(folder), LISTING])
    assert sorted(f"submission/{n}" for n in names) == sorted(entries)


@pytest.mark.parametrize("where", ["first file", "third file", "zip"])
def test_a_build_that_fails_part_way_leaves_no_submission(project, monkeypatch, where):
    """Disk full at the folder's first or third file, or at the last step (the zip put in
    place): no half-made ``submission/``, the older ``submission.zip`` gone (it is not what
    the student has now), one error; the next build is complete."""
    root, res = project
    build(project)
    (ResultsSet(res, SET).report_dir() / "report.pdf").write_bytes(b"%PDF-1.5 second\n")
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if where == "zip":
        replace = os.replace

        def full_replace(src, dst):
            if str(dst).endswith(".zip"):
                raise full
            replace(src, dst)

        monkeypatch.setattr(os, "replace", full_replace)
    else:
        write_bytes, written = storage.write_bytes, []

        def full_write(path: Path, data: bytes) -> None:
            if len(written) == {"first file": 0, "third file": 2}[where]:
                raise full
            written.append(path)
            write_bytes(path, data)

        monkeypatch.setattr(submission, "write_bytes", full_write)
    with pytest.raises(ResultsError, match="No space left on device") as err:
        build(project)
    assert "make submission" in str(err.value)
    assert beside(root) == []  # neither the half-made one, nor the old one, nor staging
    monkeypatch.undo()
    archive = build(project)
    assert zipped(archive)["submission/report.pdf"] == b"%PDF-1.5 second\n"


def test_the_leftovers_of_a_killed_build_are_removed_by_the_next(project):
    """A build killed part-way (SIGKILL: nothing of it could clean up) leaves only its hidden
    staging; the next build removes it and is complete."""
    root, res = project
    build(project)
    staged = root / ".submission.partial"
    (staged / "code").mkdir(parents=True)
    (staged / "code" / "half.py").write_text("half")
    (root / ".submission.zip.partial").write_bytes(b"PK half a zip")
    (root / ".submission.old").mkdir()
    build(project)
    assert beside(root) == ["submission", "submission.zip"]
    assert "code/half.py" not in listing(root / "submission")


def test_a_refused_build_leaves_the_old_one_and_a_foreign_folder_is_never_replaced(project):
    """Refused before anything is built (no report): the old submission is left as it was,
    still the one of these results. A folder that is no submission is never removed."""
    root, res = project
    archive = build(project)
    before = archive.read_bytes()
    (ResultsSet(res, SET).report_dir() / "report.pdf").unlink()
    with pytest.raises(ReportError, match="build the report first"):
        build(project)
    assert archive.read_bytes() == before and (root / "submission" / LISTING).exists()
    (ResultsSet(res, SET).report_dir() / "report.pdf").write_bytes(b"%PDF-1.5 again\n")
    mine = root / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    with pytest.raises(ReportError, match="not a submission"):
        submission.gather(ResultsSet(res, SET), mine, root=root, notebook=False)
    assert (mine / "notes.txt").read_text() == "my notes"
    (mine / "notes.txt").unlink()  # an empty folder is replaced
    assert (
        zipped(submission.gather(ResultsSet(res, SET), mine, root=root, notebook=False))[
            "mine/report.pdf"
        ]
        == b"%PDF-1.5 again\n"
    )


def handed_in(archive: Path) -> dict[str, bytes]:
    """The results files of a submission zip: name under ``results/<set>/`` -> bytes."""
    top = f"submission/results/{SET}/"
    return {n.removeprefix(top): data for n, data in zipped(archive).items() if n.startswith(top)}


def test_only_the_papers_question_goes_in_with_its_rows_and_a_manifest_of_it(project, capsys):
    """The paper has ``q``: ``other`` (trained, not in the paper) stays out, its rows, figures
    and provenance too; the manifest lists exactly what is handed in, from the set's own (how
    the results were made) and names the part; the student's results are left as they were;
    one line says what went in and what stayed out."""
    root, res = project
    with locks.locked(ResultsSet(res, SET)):
        manifest.write(ResultsSet(res, SET), ["coursework", "report"])
    before = {p: p.read_bytes() for p in res.rglob("*") if p.is_file()}
    got = handed_in(build(project))
    assert sorted(got) == [
        "MANIFEST.json",
        "figures/provenance.json",
        "figures/q-curves.pdf",
        "index.html",
        "q/fc/seed-0/history.csv",
        "q/fc/seed-0/run.json",
        "q/fc/seed-1/history.csv",
        "q/fc/seed-1/run.json",
        "report/numbers.json",
        "report/report.pdf",
        "summary.csv",
    ]
    assert got["summary.csv"] == b"question,run,seed\nq,fc,0\nq,fc,1\n"
    assert list(json.loads(got["figures/provenance.json"])["figures"]) == ["q-curves"]
    man = json.loads(got["MANIFEST.json"])
    assert man["files"] == {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in got.items()
        if name not in ("MANIFEST.json", "index.html")  # the page: in no manifest
    }
    assert b'"id":"q"' in got["index.html"]  # the page is of the part, only
    assert b'"id":"other"' not in got["index.html"]
    assert man["command"] == ["coursework", "report"]  # how the results were made
    assert man["handed_in"] == {"questions": ["q"], "left_out": ["other"]}
    desc = json.loads((root / "submission" / submission.DESCRIPTION).read_text())
    assert desc["questions"] == ["q"] and desc["left_out"] == ["other"]
    out = capsys.readouterr().out
    assert (
        "results handed in: the paper's question q; left out (not in the paper): other"
        in out.splitlines()
    ), out
    assert {p: p.read_bytes() for p in res.rglob("*") if p.is_file()} == before


def test_a_file_edited_after_its_manifest_is_never_blessed(project):
    """A history edited in the student's results after the manifest was written, or the
    summary (a row of the question left out: the file is no longer as made): the handed-in
    manifest lists them as the set's manifest recorded them, so the marker sees the edit; a
    file the manifest never listed is not listed, and one it listed that is gone stays
    listed (missing)."""
    root, res = project
    with locks.locked(ResultsSet(res, SET)):
        manifest.write(ResultsSet(res, SET))
    recorded = manifest.read(ResultsSet(res, SET))["files"]
    run = ResultsSet(res, SET).run_dir("q", "fc", 0)
    (run / layout.HISTORY).write_text("epoch,loss\n1,1.0\n")
    summary = ResultsSet(res, SET).aggregate(layout.SUMMARY)
    summary.write_text(summary.read_text().replace("other,fc,0", "other,fc,7"))
    (run / "notes.txt").write_text("not made by the template")
    (ResultsSet(res, SET).run_dir("q", "fc", 1) / layout.HISTORY).unlink()
    got = handed_in(build(project))
    files = json.loads(got["MANIFEST.json"])["files"]
    for name in ("q/fc/seed-0/history.csv", "summary.csv"):
        assert files[name] == recorded[name]
        assert files[name]["sha256"] != hashlib.sha256(got[name]).hexdigest(), name
    assert "q/fc/seed-0/notes.txt" in got and "q/fc/seed-0/notes.txt" not in files
    assert files["q/fc/seed-1/history.csv"] == recorded["q/fc/seed-1/history.csv"]
    assert not any(name.startswith("other/") or name.endswith(".h5") for name in files)


def test_a_paper_question_without_runs_is_one_error_and_nothing_is_changed(project):
    root, res = project
    archive = build(project)
    before = archive.read_bytes()
    storage.write_json(
        ResultsSet(res, SET).report_dir() / "numbers.json",
        {"schema_version": record.SCHEMA_VERSION, "questions": [{"id": "q"}, {"id": "gone"}]},
    )
    with pytest.raises(
        ResultsError,
        match=r"no runs of 'gone', a question of the paper .*"
        r"train it \(make gone PROFILE=quick\)",
    ):
        build(project)
    assert archive.read_bytes() == before
    (ResultsSet(res, SET).report_dir() / "numbers.json").unlink()
    with pytest.raises(ReportError, match="numbers.json does not exist: build the report"):
        build(project)
