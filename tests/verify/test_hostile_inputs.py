"""A hostile submission cannot hurt the marker (issue 40), each hole closed where it starts:
changed code counted in bytes (a binary file is no longer ``+0 -0``) and never diffed past a
bound; no zip's folder is a file of the marking folder; every string a submission wrote is
text in every sheet and page; every file read has a bound checked before reading it.

Small files built in ``tmp_path``: nothing here trains."""

from __future__ import annotations

import html
import json
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from coursework.records import storage
from coursework.records.errors import ResultsError
from coursework.records.record import RunRecord
from coursework.records.results import SeedResult
from coursework.report import page
from coursework.report.submission import LISTING
from coursework.verify import changes as changes_mod
from coursework.verify import contents, folders, marks_page, sheets
from coursework.verify.changes import changes
from coursework.verify.sheets import Sheet
from coursework.verify.verdicts import Verdict, whole
from tests.helpers import CONFIG, write_files

# ----------------------------------------------------------------------------- code changed


def a_record(**fields) -> RunRecord:
    """A complete run's record of ``fields`` (the others blank)."""
    given = {"question": "q", "run": "run", "profile": "quick", "seed": 0, "spec_file": ""}
    return RunRecord.from_parts(
        {**given, "status": "complete", "config": CONFIG, **fields}, "a record"
    )


def template_repo(root: Path, files: dict[str, bytes]) -> str:
    """A git repository at ``root`` whose one commit holds ``files``; its commit id."""
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([*git, "-C", str(root), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(root), "commit", "-qm", "template"], check=True)
    return subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


BINARY = bytes(range(256)) + b"\xff\xfe\x00" * 18 + b"\x80\x81"  # 312 bytes, not UTF-8


def test_a_binary_file_handed_in_counts_its_bytes(tmp_path):
    assert len(BINARY) == 312
    base = template_repo(tmp_path / "t", {"keep.py": b"x = 1\n"})
    code = write_files(tmp_path / "c", {"keep.py": b"x = 1\n", "sitecustomize.py": BINARY})
    diff = changes(code, [base], root=tmp_path / "t")
    assert diff.changed["sitecustomize.py"].bytes_added == 312
    assert diff.summary() == f"1 files, +0 -0 lines, +312 -0 bytes (template {base[:10]})"


def test_every_changed_file_counts_bytes_added_and_removed(tmp_path):
    old_bin = b"\x00\x01\x02" * 10  # 30 bytes, binary
    base = template_repo(
        tmp_path / "t",
        {
            "text.py": b"a = 1\nb = 2\nc = 3\n",
            "data.bin": old_bin,
            "gone.py": b"one\ntwo\n",
            "latin.txt": b"caf\xe9\n",  # not UTF-8
        },
    )
    code = write_files(
        tmp_path / "c",
        {
            "text.py": b"a = 1\nb = 22\nc = 3\n",  # one line of 6 bytes for one of 7
            "data.bin": b"\x00\x01" * 50,  # 100 bytes
            "latin.txt": b"caf\xe9s\n",
            "new.py": b"print('hi')\n",
        },
    )
    diff = changes(code, [base], root=tmp_path / "t")
    got = {n: tuple(c[:4]) for n, c in diff.changed.items()}
    assert got == {
        "text.py": (1, 1, 7, 6),
        "data.bin": (0, 0, 100, 30),
        "latin.txt": (0, 0, 6, 5),
        "new.py": (1, 0, 12, 0),
        "gone.py": (0, 2, 0, 8),
    }
    assert diff.changed["data.bin"].note == "binary"
    assert diff.summary().endswith(f"+2 -3 lines, +125 -49 bytes (template {base[:10]})")


def test_a_file_too_large_is_counted_by_bytes_never_diffed_nor_read_whole(tmp_path, monkeypatch):
    def no_diff(*args, **kwargs):
        raise AssertionError("difflib ran on a file past the bound")

    monkeypatch.setattr(changes_mod.difflib, "SequenceMatcher", no_diff)
    base = template_repo(tmp_path / "t", {"big.py": b"x = 1\n", "many.py": b"y = 2\n"})
    big = b"z = 0\n" * (3 * changes_mod.MAX_DIFF_BYTES // 6)  # 3 MiB of lines
    many = b"\n" * 100_000  # small, but many lines
    code = write_files(tmp_path / "c", {"big.py": big, "many.py": many})
    tracemalloc.start()
    try:
        diff = changes(code, [base], root=tmp_path / "t")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < changes_mod.MAX_DIFF_BYTES, f"{peak:,} bytes held for a {len(big):,}-byte file"
    assert tuple(diff.changed["big.py"]) == (0, 0, len(big), 6, "too large to diff")
    assert tuple(diff.changed["many.py"]) == (0, 0, len(many), 6, "too large to diff")


def test_check_code_puts_bytes_on_the_sheet_and_old_sheets_still_read(tmp_path, monkeypatch):
    base = template_repo(tmp_path / "t", {"keep.py": b"x = 1\n"})
    monkeypatch.setattr(
        contents, "changes", lambda code, history: changes(code, history, root=tmp_path / "t")
    )
    root = tmp_path / "sub"
    write_files(root / "code", {"keep.py": b"x = 1\n", "sitecustomize.py": BINARY})
    (root / "results").mkdir()
    sheet = Sheet("s.zip", "0" * 64, {"page_limit": 6})
    contents.check_code(root, {"git": {"history": [base]}, "results_set": "x"}, sheet)
    assert "+312 -0 bytes" in sheet.facts["code_changed"]
    assert sheet.changed_files == [["sitecustomize.py", 0, 0, "added, binary", 312, 0]]
    md = sheets.sheet_markdown(sheet)
    assert "| file | how | lines added | lines removed | bytes added | bytes removed |" in md
    assert "| sitecustomize.py | added, binary | 0 | 0 | 312 | 0 |" in md
    old = {**sheet.to_json(), "changed_files": [["a.py", 1, 2, "changed"]]}  # before bytes
    again = Sheet.from_json(json.loads(json.dumps(old)))
    assert "| a.py | changed | 1 | 2 | ? | ? |" in sheets.sheet_markdown(again)


# ----------------------------------------------------------------------------- folder names


@pytest.mark.parametrize("zip_name", ["marks.md.zip", "MARKS.CSV.zip", "index.html.zip"])
def test_no_zip_gets_a_folder_named_as_a_file_of_the_marking_folder(zip_name):
    name = folders.folder_name(zip_name)
    assert name.casefold() not in folders.RESERVED
    assert name.startswith(zip_name[:-4] + "-") and len(name) == len(zip_name) - 4 + 9


def test_marks_are_written_beside_a_submission_of_a_colliding_name(tmp_path):
    names = ["marks.md.zip", "marks.csv.zip", "index.html.zip", "Index.HTML.zip"]
    made = folders.assign(tmp_path, names)
    assert len({f.name.casefold() for f in made.values()}) == len(names)
    for name, folder in made.items():
        sheets.write_sheet(Sheet(name, "0" * 64, {"page_limit": 6}), folder)
    sheets.write_marks(tmp_path)
    marks_page.write(tmp_path)
    assert (tmp_path / "marks.md").is_file() and (tmp_path / "index.html").is_file()
    assert len(sheets.all_sheets(tmp_path)) == len(names)


# ----------------------------------------------------------------------------- escaping

EVIL = {
    "script": "<script>alert(1)</script>",
    "img": "<img src=x onerror=alert(2)>",
    "link": "[click](javascript:alert(3))",
    "table": "a | b\n| c\r\nd",
    "code": "`x` ``y``",
}
SHOWN = html.escape(" ".join(EVIL.values()).replace("\r\n", " ").replace("\n", " "), False)


def evil_sheet() -> Sheet:
    """A sheet with a hostile string in every place a submission can put one."""
    e = " ".join(EVIL.values())
    sheet = Sheet(e + ".zip", "0" * 64, {"page_limit": 6})
    sheet.facts.update({k: e for k in ("author", "title", "unwritten", "questions", "pages")})
    sheet.facts.update({"code_changed": e, "runs_by_handed_in_code": e, "sandbox": e})
    sheet.rows = [
        whole("listing sha256", e, e, e, Verdict.EDITED),
        whole(f"code: {e}", "code/", e, e, Verdict.NOTE),
    ]
    sheet.changed_files = [[e, 1, 2, "added", 3, 4]]
    return sheet


def rendered(md: str) -> str:
    """``md`` as a Markdown renderer that lets raw HTML through draws it."""
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(md)


def test_a_submissions_strings_are_text_in_sheet_md_and_marks_md(tmp_path):
    sheet = evil_sheet()
    folder = folders.assign(tmp_path, [sheet.name])[sheet.name]
    sheets.write_sheet(sheet, folder)
    sheets.write_marks(tmp_path)
    for md in (sheets.sheet_markdown(sheet), (tmp_path / "marks.md").read_text()):
        out = rendered(md)
        for bad in ("<script", "<img", "href=", "<code>"):
            assert bad not in out, (bad, out)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out  # shown, as text
        assert "[click](javascript:alert(3))" in out
        assert f"<td>{SHOWN}</td>" in out, "a pipe or newline broke a table's cell"
    md = sheets.sheet_markdown(sheet)
    assert all("\r" not in line for line in md.splitlines())
    assert len([ln for ln in md.splitlines() if ln.startswith("| ")]) == 4 + 4 + 3  # tables' lines


def test_the_marking_page_shows_a_script_named_submission_as_text(tmp_path):
    sheet = evil_sheet()
    sheets.write_sheet(sheet, folders.assign(tmp_path, [sheet.name])[sheet.name])
    out = marks_page.write(tmp_path).read_text()
    assert "alert(1)" in out  # it is there, escaped
    for bad in ("<script>alert", "</script><", "<img src=x"):
        assert bad not in out


# ----------------------------------------------------------------------------- bounds


def test_a_listing_past_its_bound_is_one_broken_row_and_never_read(tmp_path, monkeypatch):
    listing = tmp_path / LISTING
    with open(listing, "wb") as f:
        f.truncate(contents.listing_bound() + 1)  # sparse: no disk, no time

    def unread(*args, **kwargs):
        raise AssertionError("an oversized LISTING.txt was read")

    monkeypatch.setattr(Path, "read_text", unread)
    monkeypatch.setattr(Path, "read_bytes", unread)
    rows = contents.check_listing(tmp_path)
    assert len(rows) == 1 and rows[0].verdict == Verdict.BROKEN
    assert rows[0].file == LISTING and f"{contents.listing_bound() + 1:,} bytes" in rows[0].got


def test_a_listing_of_more_lines_than_files_allowed_is_broken(tmp_path):
    line = f"1 {'0' * 64} a.txt\n"
    (tmp_path / LISTING).write_text("header\n" + line * 10)
    rows = contents.check_listing(tmp_path, max_files=5)
    assert [(r.file, r.verdict) for r in rows] == [(LISTING, Verdict.BROKEN)]
    assert "lines" in rows[0].got


def test_a_csv_past_a_few_mb_is_too_large_to_read(tmp_path):
    assert contents.MAX_CSV_READ <= 8 << 20
    with open(tmp_path / "history.csv", "wb") as f:
        f.truncate(contents.MAX_CSV_READ + 1)
    (tmp_path / "summary.csv").write_text("a,b\n1,2\n")
    rows = contents.too_large(tmp_path)
    assert [(r.file, r.verdict) for r in rows] == [("history.csv", Verdict.BROKEN)]


def npz_declaring(path: Path, shape: tuple[int, ...], dtype: str = "<f4", data: int = 0) -> Path:
    """A ``predictions.npz`` whose ``probs`` member's header declares ``shape`` (``data``
    bytes of zeros follow it: a few kB compressed for a large ``data``), with small
    ``y_true`` and ``mis_index``."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("probs.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, header)
            block = bytes(1 << 22)
            for start in range(0, data, len(block)):
                f.write(block[: data - start])
        for key, arr in {"y_true": np.zeros(4, int), "mis_index": np.zeros(0, int)}.items():
            with z.open(f"{key}.npy", "w") as f:
                np.lib.format.write_array(f, arr)
    return path


def test_a_predictions_member_too_large_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = npz_declaring(tmp_path / "predictions.npz", (800_000_000,))  # 3.2 GB of float32

    def unread(*args, **kwargs):
        raise AssertionError("an array was read before its size was checked")

    monkeypatch.setattr(np.lib.format, "read_array", unread)
    with pytest.raises(ResultsError, match=r"predictions\.npz.*probs.*3,200,000,000 bytes"):
        storage.read_npz(path)
    seed = SeedResult(0, a_record(metrics={"test_accuracy": 0.5}), [], tmp_path)
    got = page.appendix({"q/run": [seed]})
    assert "probs" in got["unreadable"] and "3,200,000,000 bytes" in got["unreadable"]


def test_predictions_of_objects_are_refused(tmp_path):
    path = tmp_path / "predictions.npz"
    np.savez(path, probs=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ResultsError, match=r"probs.*object"):
        storage.read_npz(path)


def test_predictions_as_the_template_writes_them_read_as_numpy_reads_them(tmp_path):
    arrays = {
        "y_true": np.arange(100) % 10,
        "probs": np.random.default_rng(0).random((100, 10)).astype(np.float16),
        "mis_index": np.arange(3),
        "mis_images": np.zeros((3, 8, 8, 1), np.float16),
        "class_names": np.array([f"c{i}" for i in range(10)]),
    }
    np.savez_compressed(tmp_path / "predictions.npz", **arrays)
    got = storage.read_npz(tmp_path / "predictions.npz")
    assert sorted(got) == sorted(arrays)
    for key, arr in arrays.items():
        np.testing.assert_array_equal(got[key], arr)
        assert got[key].dtype == arr.dtype
    seed = SeedResult(0, a_record(metrics={"test_accuracy": 0.5}), [], tmp_path)
    shown = page.appendix({"q/run": [seed]})
    assert shown["classes"] == [f"c{i}" for i in range(10)] and len(shown["images"]) == 3


@pytest.mark.slow  # writes 256 MiB
def test_a_predictions_zip_bomb_does_not_inflate_in_the_marker(tmp_path):
    size = 256 << 20  # 256 MiB of zeros, a few hundred kB compressed
    npz_declaring(tmp_path / "predictions.npz", (size // 4,), data=size)
    assert (tmp_path / "predictions.npz").stat().st_size < 2 << 20
    probe = f"""
import resource
from pathlib import Path
from coursework.records.record import RunRecord
from coursework.records.results import SeedResult
from coursework.report import page
parts = {{"question": "q", "run": "run", "profile": "quick", "seed": 0, "spec_file": ""}}
parts |= {{"status": "complete", "config": {CONFIG!r}, "metrics": {{"test_accuracy": 0.5}}}}
seed = SeedResult(0, RunRecord.from_parts(parts, "a record"), [], Path({str(tmp_path)!r}))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
got = page.appendix({{"q/run": [seed]}})
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024, got)
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    grew, _, got = out.partition(" ")
    assert int(grew) < 64, f"the marker grew by {grew} MB reading it: {got}"
    assert "too large" in got
