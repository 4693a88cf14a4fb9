"""`make submission` that fails or is killed part-way: no half-made submission, no older one
left looking current; a completed one replaces the old. No training: a tiny project and
results set stand in (gather reads files only)."""

from __future__ import annotations

import errno
import os
import zipfile
from pathlib import Path

import pytest

from coursework.records import results
from coursework.records.errors import ReportError, ResultsError
from coursework.report import submission
from coursework.report.submission import LISTING, read_listing

SET = "quick"


@pytest.fixture
def project(tmp_path) -> tuple[Path, Path]:
    """``(root, results)``: a project of a few files (no git: its own folders are its code)
    and a results set with a built report and one run."""
    root = tmp_path / "project"
    for name, text in (("coursework/a.py", "A = 1\n"), ("models/m.py", "M = 2\n"),
                       ("experiments/q.toml", "question = 'q'\n")):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    res = tmp_path / "results"
    rdir = results.report_dir(res, SET)
    rdir.mkdir(parents=True)
    (rdir / "report.pdf").write_bytes(b"%PDF-1.5 first\n")
    run = results.run_dir(res, SET, "q", "fc", 0)
    run.mkdir(parents=True)
    (run / results.HISTORY).write_text("epoch,loss\n1,2.0\n")
    (run / results.RECORD).write_text("{}\n")
    (run / results.BEST_WEIGHTS).write_bytes(b"weights: never handed in")
    return root, res


def build(project: tuple[Path, Path]) -> Path:
    root, res = project
    return submission.gather(res, SET, root / "submission", root=root, notebook=False)


def listing(folder: Path) -> dict[str, tuple[int, str]]:
    return read_listing((folder / LISTING).read_text())


def zipped(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as z:
        return {name: z.read(name) for name in z.namelist()}


def beside(root: Path) -> list[str]:
    """What is in the project folder besides its code."""
    return sorted(p.name for p in root.iterdir()
                  if p.name not in ("coursework", "models", "experiments"))


def test_a_completed_build_replaces_the_old_one_whole(project):
    root, res = project
    archive = build(project)
    assert archive == root / "submission.zip"
    assert zipped(archive)["submission/report.pdf"] == b"%PDF-1.5 first\n"
    assert "results/quick/q/fc/seed-0/history.csv" in listing(root / "submission")
    # then: a new report, and the run deleted
    (results.report_dir(res, SET) / "report.pdf").write_bytes(b"%PDF-1.5 second\n")
    run = results.run_dir(res, SET, "q", "fc", 0)
    for path in run.iterdir():
        path.unlink()
    run.rmdir()
    assert build(project) == archive
    assert beside(root) == ["submission", "submission.zip"]  # no staging left over
    folder = root / "submission"
    assert (folder / "report.pdf").read_bytes() == b"%PDF-1.5 second\n"
    assert not (folder / "results/quick/q").exists()  # nothing of the old one
    entries = zipped(archive)
    assert entries["submission/report.pdf"] == b"%PDF-1.5 second\n"
    assert not any("seed-0" in name for name in entries)
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
    (results.report_dir(res, SET) / "report.pdf").write_bytes(b"%PDF-1.5 second\n")
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if where == "zip":
        replace = os.replace

        def full_replace(src, dst):
            if str(dst).endswith(".zip"):
                raise full
            replace(src, dst)

        monkeypatch.setattr(os, "replace", full_replace)
    else:
        write_bytes, written = results.write_bytes, []

        def full_write(path: Path, data: bytes) -> None:
            if len(written) == {"first file": 0, "third file": 2}[where]:
                raise full
            written.append(path)
            write_bytes(path, data)

        monkeypatch.setattr(results, "write_bytes", full_write)
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
    (results.report_dir(res, SET) / "report.pdf").unlink()
    with pytest.raises(ReportError, match="build the report first"):
        build(project)
    assert archive.read_bytes() == before and (root / "submission" / LISTING).exists()
    (results.report_dir(res, SET) / "report.pdf").write_bytes(b"%PDF-1.5 again\n")
    mine = root / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    with pytest.raises(ReportError, match="not a submission"):
        submission.gather(res, SET, mine, root=root, notebook=False)
    assert (mine / "notes.txt").read_text() == "my notes"
    (mine / "notes.txt").unlink()  # an empty folder is replaced
    assert zipped(submission.gather(res, SET, mine, root=root, notebook=False))[
        "mine/report.pdf"] == b"%PDF-1.5 again\n"
