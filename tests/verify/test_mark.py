"""`make mark`: a marker checks handed-in zips, one or a folder of them. Each tampered or
unsafe submission gets one named failure on its sheet, and the others are still marked."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from coursework.records import storage
from coursework.report.settings import PLACEHOLDER_AUTHOR
from coursework.verify import mark, options
from coursework.verify.sheets import Sheet, describe
from tests.helpers import (
    FC_AND_CONV,
    MARKING_TESTS,
    handed_in_zip,
    run_cli,
    toy_spec,
)
from tests.verify.test_archive import bomb, make_zip

pytestmark = MARKING_TESTS

HISTORY = "submission/results/quick/toy/fc/seed-0/history.csv"
TEX = "submission/results/quick/report/toy.tex"
OVERLEAF = "submission/results/quick/report/report-overleaf.zip"
RECORDS = [
    "submission/results/quick/toy/fc/seed-0/run.json",
    "submission/results/quick/toy/conv/seed-0/run.json",
]


@pytest.fixture(autouse=True)
def markers_data(tiny_npz, monkeypatch):
    """The marker's datasets folder holds the runs' npz: a re-run reads only that, in the
    sandbox."""
    monkeypatch.setenv("COURSEWORK_DATA_DIR", str(tiny_npz.parent))


@pytest.fixture(scope="module")
def handed_in(tmp_path_factory, tiny_npz) -> Path:
    """A student's submission.zip: two toy runs, the report built, `make submission`."""
    tmp = tmp_path_factory.mktemp("student")
    spec = toy_spec(tmp, f"npz:{tiny_npz}", FC_AND_CONV)
    return handed_in_zip(tmp, spec)


def edited(src: Path, dest: Path, edits: dict, cover_tracks: bool = False) -> Path:
    """A copy of the zip ``src`` with ``edits`` (entry -> function of its text, of its bytes
    for a nested ``.zip``); with
    ``cover_tracks``, LISTING.txt and MANIFEST.json are made to agree with the edits, so that
    only the deeper checks can find them."""
    with zipfile.ZipFile(src) as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    for name, fn in edits.items():
        data = entries[name]
        entries[name] = fn(data) if name.endswith(".zip") else fn(data.decode()).encode()
    if cover_tracks:
        man = json.loads(entries["submission/results/quick/MANIFEST.json"])
        listing = entries["submission/LISTING.txt"].decode()
        for name in edits:
            data = entries[name]
            rel = name.removeprefix("submission/results/quick/")
            man["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            entries["submission/results/quick/MANIFEST.json"] = json.dumps(man, indent=2).encode()
        for name in [*edits, "submission/results/quick/MANIFEST.json"]:
            data = entries[name]
            short = name.removeprefix("submission/")
            listing = re.sub(
                rf"^ *\d+  [0-9a-f]{{64}}  {re.escape(short)}$",
                f"{len(data):>10}  {hashlib.sha256(data).hexdigest()}  {short}",
                listing,
                flags=re.M,
            )
        entries["submission/LISTING.txt"] = listing.encode()
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return dest


def bump_val_accuracy(text: str) -> str:
    """Change the last digit of the first epoch's val_accuracy in a history.csv."""
    lines = text.split("\n")
    column = lines[0].split(",").index("val_accuracy")
    cells = lines[1].split(",")
    cells[column] = cells[column][:-1] + str((int(cells[column][-1]) + 1) % 10)
    lines[1] = ",".join(cells)
    return "\n".join(lines)


def bump_gradient(text: str) -> str:
    """Change the last digit of epoch 2's RMS gradient of the first kernel in a gradients.csv."""
    lines = text.split("\n")
    column = lines[0].split(",").index("grad_rms")
    i = next(i for i, line in enumerate(lines) if line.startswith("2,"))
    cells = lines[i].split(",")
    cells[column] = cells[column][:-1] + str((int(cells[column][-1]) + 1) % 10)
    lines[i] = ",".join(cells)
    return "\n".join(lines)


def edit_test_accuracy(tex: str) -> str:
    """Change the first test accuracy of the report's main table (``98.50`` -> ``99.50``)."""
    m = re.search(r"^\\texttt\{fc\} & (\d)", tex, flags=re.M)
    assert m, tex
    return tex[: m.start(1)] + str((int(m[1]) + 1) % 10) + tex[m.end(1) :]


def change_learning_rate(text: str) -> str:
    rec = json.loads(text)
    rec["config"]["learning_rate"] = 0.5
    return json.dumps(rec, indent=2) + "\n"


@pytest.fixture(scope="module")
def marked(handed_in, tmp_path_factory) -> tuple[Path, dict[str, Sheet]]:
    """A folder of eight handed-in zips (one clean), marked without re-runs."""
    tmp = tmp_path_factory.mktemp("marker")
    inbox = tmp / "inbox"
    inbox.mkdir()
    shutil.copy(handed_in, inbox / "clean.zip")
    # the history's val_accuracy column edited (its hashes left as they were)
    edited(handed_in, inbox / "digit.zip", {HISTORY: bump_val_accuracy})
    edited(handed_in, inbox / "tex.zip", {TEX: edit_test_accuracy}, cover_tracks=True)
    edited(
        handed_in, inbox / "rate.zip", {r: change_learning_rate for r in RECORDS}, cover_tracks=True
    )
    make_zip(inbox / "dotdot.zip", {"submission/LISTING.txt": b"", "../../evil.txt": b"x"})
    make_zip(
        inbox / "symlink.zip",
        {"submission/LISTING.txt": b"", "submission/l": b"/etc"},
        {"submission/l": 0o120777},
    )
    bomb(inbox / "bomb.zip", (1 << 30) + (1 << 24))
    (inbox / "notzip.zip").write_bytes(b"%PDF-1.5 a PDF renamed to .zip")
    sheets = mark.mark(inbox, tmp / "marking", options.Options(sample=0))
    return tmp, {s.name.removesuffix(".zip"): s for s in sheets}


def first_failure(sheet: Sheet) -> str:
    return sheet.mark_row()["first_failure"]


def test_a_clean_submission_passes_every_check_and_two_reruns_are_byte_identical(
    handed_in, tmp_path, monkeypatch
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(handed_in, inbox / "s0000001.zip")
    before = set(tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)  # relative paths, as `make mark` gives them
    [sheet] = mark.mark(Path("inbox/s0000001.zip"), Path("marking"), options.Options(sample=2))
    assert sheet.verdict == "pass", [describe(r) for r in sheet.failures]
    reruns = [r for r in sheet.rows if r.check.startswith("re-run history")]
    assert len(reruns) == 2 and all("byte-identical" in r.check and r.ok for r in reruns)
    flows = [r for r in sheet.rows if r.check.startswith("re-run gradients.csv")]
    assert len(flows) == 2 and all("byte-identical" in r.check and r.ok for r in flows)
    kinds = {r.kind for r in sheet.rows}
    assert {
        "listing sha256",
        "file sha256",
        "run.json config = spec.toml",
        "report tables = numbers.json",
        "report pages (body)",
        "re-run",
    } <= kinds
    f = sheet.facts
    assert f["author"] == "Ada Lovelace (s0000001)" and f["questions"] == "toy"
    assert f["reruns_agreeing"] == "2/2" and f["runs_by_handed_in_code"] == "2/2"
    assert f["pages"] == "1" and "template" in f["code_changed"]
    folder = tmp_path / "marking" / "s0000001"
    text = (folder / "sheet.md").read_text()
    assert "verdict: **pass**" in text and "re-run history: byte-identical" in text
    rows = storage.read_csv(folder / "sheet.csv")
    assert len(rows) == len(sheet.rows) and rows[0]["submission"] == "s0000001.zip"
    [row] = storage.read_csv(tmp_path / "marking" / "marks.csv")
    assert row["verdict"] == "pass" and row["reruns_agreeing"] == "2/2"
    assert set(tmp_path.iterdir()) == before | {tmp_path / "marking"}  # nothing else written
    # a second mark skips what is already marked
    stamp = (folder / "sheet.json").stat().st_mtime_ns
    [again] = mark.mark(inbox, tmp_path / "marking", options.Options(sample=2))
    assert again.verdict == "pass" and (folder / "sheet.json").stat().st_mtime_ns == stamp


def test_an_edited_history_digit_is_named(marked):
    _, sheets = marked
    assert sheets["digit"].verdict == "FAIL"
    assert "toy/fc/seed-0/history.csv" in first_failure(sheets["digit"])
    assert sheets["digit"].mark_row()["first_failure"].endswith("[EDITED]")


def test_a_number_edited_in_the_reports_tex_is_named_even_with_the_hashes_redone(marked):
    _, sheets = marked
    bad = sheets["tex"].failures
    assert bad and all("report" in r.file and "toy.tex" in r.file for r in bad), bad
    assert "report table: Test" in first_failure(sheets["tex"])


def test_a_changed_learning_rate_disagrees_with_the_spec_and_with_its_rerun(marked, tmp_path):
    tmp, sheets = marked
    assert "run.json config: learning_rate" in first_failure(sheets["rate"])
    [sheet] = mark.mark(tmp / "inbox" / "rate.zip", tmp_path / "marking", options.Options(sample=1))
    checks = {r.check for r in sheet.failures}
    assert "run.json config: learning_rate" in checks
    assert any(c.startswith("re-run history") for c in checks), checks
    assert sheet.facts["reruns_agreeing"] == "0/1"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("dotdot", "outside"),
        ("symlink", "symbolic link"),
        ("bomb", "zip bomb"),
        ("notzip", "not a zip"),
    ],
)
def test_unsafe_archives_are_refused_with_one_error_and_nothing_written(marked, name, why):
    tmp, sheets = marked
    sheet = sheets[name]
    assert sheet.verdict == "BROKEN" and len(sheet.rows) == 1
    assert sheet.rows[0].verdict == "BAD ARCHIVE"
    assert why in first_failure(sheet) and f"{name}.zip" in first_failure(sheet)
    assert not (tmp / "marking" / name / "files").exists()
    assert not list(tmp.rglob("evil.txt"))


def test_the_others_are_still_marked_and_the_table_has_a_row_each(marked):
    tmp, sheets = marked
    assert sheets["clean"].verdict == "pass", [describe(r) for r in sheets["clean"].failures]
    rows = {r["submission"]: r for r in storage.read_csv(tmp / "marking" / "marks.csv")}
    assert len(rows) == 8
    assert rows["clean.zip"]["verdict"] == "pass" and rows["clean.zip"]["failed"] == "0"
    assert {rows[f"{n}.zip"]["verdict"] for n in ("digit", "tex", "rate")} == {"FAIL"}
    assert "| bomb.zip |" in (tmp / "marking" / "marks.md").read_text()
    page = (tmp / "marking" / "index.html").read_text()  # the table as a page, its links
    assert '"sheet":"clean/sheet.md"' in page and '"page":"clean/results.html"' in page
    assert (tmp / "marking" / "clean" / "results.html").stat().st_size > 1e6
    assert [r for r in sheets["clean"].rows if r.check == "results page"] == []


def test_three_submissions_give_three_rows_and_the_right_verdicts(marked, tmp_path):
    tmp, _ = marked
    inbox = tmp_path / "three"
    inbox.mkdir()
    for name in ("clean", "digit", "tex"):
        shutil.copy(tmp / "inbox" / f"{name}.zip", inbox / f"{name}.zip")
    mark.mark(inbox, tmp_path / "marking", options.Options(sample=0))
    rows = storage.read_csv(tmp_path / "marking" / "marks.csv")
    assert [(r["submission"], r["verdict"]) for r in rows] == [
        ("clean.zip", "pass"),
        ("digit.zip", "FAIL"),
        ("tex.zip", "FAIL"),
    ]
    assert "history.csv" in rows[1]["first_failure"] and "toy.tex" in rows[2]["first_failure"]
    assert rows[0]["reruns_agreeing"] == "not asked" and rows[0]["questions"] == "toy"


def prose_edited(entry: str, text: str):
    """An edit of a nested zip (the report's Overleaf sources): ``entry`` becomes ``text``."""

    def edit(data: bytes) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
            for info in old.infolist():
                new.writestr(info.filename, text if info.filename == entry else old.read(info))
        return out.getvalue()

    return edit


def test_an_edited_gradient_with_every_hash_redone_is_named_by_the_rerun(handed_in, tmp_path):
    """gradients.csv is checked as the history is: a re-run on the marker's machine repeats
    it byte for byte, and the first value that differs is named."""
    flow = HISTORY.replace("history.csv", "gradients.csv")
    bad = edited(handed_in, tmp_path / "flow.zip", {flow: bump_gradient}, cover_tracks=True)
    [sheet] = mark.mark(bad, tmp_path / "marking", options.Options(sample=2))
    assert sheet.verdict == "FAIL"
    [row] = [r for r in sheet.failures if r.kind == "re-run"]
    assert (row.run, row.seed, row.file) == ("toy/fc", "0", "toy/fc/seed-0/gradients.csv")
    assert row.got.startswith("epoch 2 fc1/kernel grad_rms: "), row
    # the figure drawn from it is no longer the one its provenance records: named too
    others = {r.file for r in sheet.failures if r is not row}
    assert others and others <= {f"figures/toy-gradients.{x}" for x in ("pdf", "png")}, others


def test_an_unresolved_result_in_the_handed_in_prose_is_a_named_failure(handed_in, tmp_path):
    """A \\result of no run prints ?? in the paper: a failure naming the file, the line and
    the nearest name, even with every hash redone."""
    bad = edited(
        handed_in,
        tmp_path / "unresolved.zip",
        {
            OVERLEAF: prose_edited(
                "prose/toy/discussion.tex",
                "% \\result{toy/x}{test}\nfc got \\result{toy/fcc}{test}.\n",
            )
        },
        cover_tracks=True,
    )
    [sheet] = mark.mark(bad, tmp_path / "marking", options.Options(sample=0))
    assert sheet.verdict == "FAIL" and len(sheet.failures) == 1, sheet.failures
    first = first_failure(sheet)
    assert "report \\result" in first and "prose/toy/discussion.tex:2" in first, first
    assert "no run 'fcc' in toy (did you mean toy/fc?" in first


def test_a_placeholder_author_is_listed_by_submission_and_shown_by_the_sheet(
    handed_in, tmp_path, capsys
):
    """Unwritten parts (the placeholder author, the guides' "not written yet") build and hand
    in, listed by `make submission`; the sheet and the table show them, a note, no failure."""
    res = tmp_path / "results"
    shutil.copytree(handed_in.parent / "results", res)
    settings = tmp_path / "report.toml"
    settings.write_text(f'title = "Toy study"\nauthor = "{PLACEHOLDER_AUTHOR}"\n')
    assert run_cli("--results", res, "report", "--settings", settings) == 0
    assert "  author: " in capsys.readouterr().out
    assert (
        run_cli("--results", res, "submission", "--out", tmp_path / "submission", "--no-notebook")
        == 0
    )
    out = capsys.readouterr().out
    assert f'  author: report.toml (still "{PLACEHOLDER_AUTHOR}")' in out.splitlines(), out
    [sheet] = mark.mark(
        tmp_path / "submission.zip", tmp_path / "marking", options.Options(sample=0)
    )
    assert sheet.verdict == "pass", [describe(r) for r in sheet.failures]
    unwritten = sheet.facts["unwritten"]
    assert unwritten.startswith("author, ") and unwritten.endswith("toy/motivation, toy/discussion")
    assert f"- unwritten: {unwritten}" in (tmp_path / "marking/submission/sheet.md").read_text()
    [row] = storage.read_csv(tmp_path / "marking" / "marks.csv")
    assert row["unwritten"] == unwritten and row["verdict"] == "pass"
