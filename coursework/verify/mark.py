"""``make mark``: a marker's check of handed-in submissions, one zip or a folder of them.

A submission is untrusted input, and the marker's machine is not the student's. Everything
is written under the marking folder, one folder per submission (:mod:`.sheets` names it
safely), and a submission already marked (same zip, same options) is skipped:

1. every archive is unpacked safely (:mod:`.archive`) into ``files/`` before anything of any
   submission runs;
2. integrity, with this checkout's code and nothing of the submission's: every file against
   ``LISTING.txt`` and ``MANIFEST.json``, the records, CSVs, configs, statistics and report
   numbers as ``make verify`` checks them (:mod:`.integrity`; the weights are never handed
   in), and the numbers of the report's sources (the Overleaf folder) against
   ``numbers.json``; a ``.json`` over :data:`MAX_JSON_BYTES` is not read;
3. what the student changed against the template's commit (:mod:`.changes`), and whether the
   runs were made by the code handed in (the training code's digest in each ``run.json``);
4. the report's sources compiled here in the :mod:`.sandbox` (no rc file, no shell escape,
   TeX reading and writing only in their folder): the pages of the body against the course's
   limit, and the questions chosen; in their prose, every ``\\result`` a macro of
   ``numbers.tex`` (one that is not prints ``??``: a failure), and what is left unwritten;
5. re-runs, in the sandbox: a sample of runs drawn from a secret seed (the OS's randomness,
   kept on the sheet; the runs of the paper's body weigh more, and runs re-trained at an
   earlier marking of the same zip come last), re-trained by the handed-in code from the
   handed-in ``run.json`` (``python -m coursework retrain``) and compared with the handed-in
   history as ``make verify`` compares.

Whatever goes wrong with one submission (an exception of any kind while unpacking, reading or
checking it) is its verdict, ``BROKEN``, with the cause on its sheet; the batch goes on.
Then ``sheet.{md,csv,json}`` and ``results.html`` (its results page, drawn by this checkout's
code) per submission, and ``marks.md`` / ``marks.csv`` / ``index.html`` rebuilt from every
sheet of the marking folder (:mod:`.marks_page`).

The checks live in :mod:`.handed` (what the submission holds), :mod:`.overleaf` (the report's
sources) and :mod:`.retraining` (the re-runs); this module finds, unpacks and marks.
"""

from __future__ import annotations

import shutil
import traceback
from dataclasses import asdict
from pathlib import Path

from coursework.analysis import manifest
from coursework.analysis.checks import short
from coursework.records import storage
from coursework.records.errors import SubmissionError
from coursework.records.layout import ResultsSet
from coursework.report.handed_in import WEIGHTS
from coursework.report.submission import LISTING
from coursework.verify import archive, marks_page, sheets
from coursework.verify.handed import (
    bad_results_set,
    check_code,
    check_listing,
    read_description,
    report_settings,
    submission_root,
    too_large,
)
from coursework.verify.integrity import check_lock, integrity
from coursework.verify.options import Options
from coursework.verify.overleaf import check_report_sources
from coursework.verify.retraining import rerun_rows
from coursework.verify.sandbox import Sandbox, choose
from coursework.verify.sheets import Sheet, describe
from coursework.verify.verdicts import NONE, Verdict, absent, whole


def submissions(path: Path) -> list[Path]:
    """The zips to mark: ``path`` itself, or every ``.zip`` in the folder ``path``."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.glob("*.zip") if p.is_file())
        if not found:
            raise SubmissionError(f"{path}: no .zip files in this folder")
        return found
    if not path.is_file():
        raise SubmissionError(f"{path}: no such submission (a .zip, or a folder of them)")
    return [path]


def check_unpacked(
    sheet: Sheet,
    files: Path,
    work: Path,
    options: Options,
    box: Sandbox | str,
) -> None:
    """Every check of an unpacked submission, into ``sheet``."""
    root = submission_root(files)
    if root is None:
        expected = "a folder with LISTING.txt"
        sheet.rows.append(whole("layout", LISTING, expected, "not found", Verdict.MISSING))
        return
    big = too_large(root)
    if big:
        sheet.rows += big
        return
    sheet.rows += check_listing(root)
    desc, rows = read_description(root)
    sheet.rows += rows
    results_set = desc.get("results_set")
    bad = bad_results_set(results_set)
    if bad:
        sheet.rows += bad
        return
    rs = ResultsSet(root / "results", results_set or "-")
    sheet.facts.update(report_settings(root, rs))
    if not results_set or not rs.dir().is_dir():
        sheet.rows.append(absent("results", f"results/{results_set or '?'}"))
        return
    found = root / "code" / "report_templates"
    templates = found if (found / "question.tex.j2").is_file() else None
    sheet.rows += integrity(rs, left_out=WEIGHTS, templates=templates)
    sheet.rows += check_lock(rs)
    sheet.rows += results_page_rows(rs, files.parent)
    sheet.rows += check_report_sources(rs, work, sheet, templates, box)
    sheet.rows += check_code(root, desc, sheet)
    if options.sample > 0:
        sheet.rows += rerun_rows(root, rs, work, options, sheet, box)
    else:
        sheet.facts["reruns_agreeing"] = "not asked"


def results_page_rows(rs: ResultsSet, folder: Path) -> list:
    """The submission's results page drawn here (``results.html`` beside its sheet); where it
    cannot be drawn, a note saying why (the checks say what is wrong with the results)."""
    try:
        marks_page.results_page(rs, folder)
    except Exception as exc:  # noqa: BLE001 - the page is for reading, not a check
        return [whole("results page", sheets.RESULTS_PAGE, "drawn", cause(exc), Verdict.NOTE)]
    return []


def cause(exc: BaseException) -> str:
    """An exception as the cause on a sheet: what, in a line."""
    if isinstance(exc, RecursionError):
        return "a file nested too deeply to read (RecursionError)"
    if isinstance(exc, MemoryError):
        return "a file too large to read (MemoryError)"
    text = str(exc).strip().splitlines()
    return short(f"{type(exc).__name__}: {text[0] if text else ''}", 160)


def broken(sheet: Sheet, folder: Path, stage: str, exc: BaseException) -> None:
    """``exc`` while ``stage`` becomes the sheet's BROKEN row; the traceback, for the
    marker, in ``marking-error.log`` of the submission's folder."""
    sheet.rows.append(whole(f"marking: {stage}", NONE, "no error", cause(exc), Verdict.BROKEN))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "marking-error.log").write_text("".join(traceback.format_exception(exc)))
    except OSError:
        pass


# --------------------------------------------------------------------------- all of them


def already_marked(before: Sheet | None, sha: str, options: Options) -> bool:
    """Whether ``before`` marked the same zip (``sha``) with the same options."""
    return before is not None and before.sha256 == sha and before.options == asdict(options)


def unpack_one(
    z: Path,
    folder: Path,
    marking: Path,
    options: Options,
    again: bool,
) -> tuple[Sheet, bool, bool]:
    """Unpack the zip ``z`` into ``folder``, checking it first: its sheet, whether it is to
    be checked now, and whether the sheet is an earlier marking's (of the same zip with the
    same options, and not ``again``). A zip refused has its sheet written now."""
    before = sheets.read_sheet(folder)
    sheet = Sheet(z.name, "?", asdict(options), facts={"page_limit": str(options.page_limit)})
    try:
        sheet.sha256 = manifest.sha256(z)
        if before is not None and not again and already_marked(before, sheet.sha256, options):
            return before, False, True
        if before is not None and before.sha256 == sheet.sha256:
            sheet.reran = list(before.reran)
        for old in (folder / "work", folder / "files"):
            sheets.clear(marking, old)
        archive.unpack(z, folder / "files", options.max_bytes, options.max_files)
        return sheet, True, False
    except SubmissionError as exc:
        sheet.rows.append(whole("archive", z.name, "a safe zip", str(exc), Verdict.BAD_ARCHIVE))
    except Exception as exc:  # noqa: BLE001 - any failure is this submission's verdict
        broken(sheet, folder, "unpacking", exc)
    sheets.write_sheet(sheet, folder)
    return sheet, False, False


def check_one(
    sheet: Sheet,
    folder: Path,
    twins: list[str],
    options: Options,
    box: Sandbox | str,
) -> None:
    """Check an unpacked submission and write its sheet; ``twins``: the other zips of the
    batch with the same bytes (worth a look)."""
    if twins:
        same = f"the same bytes as {', '.join(twins)}"
        sheet.rows.append(
            whole("zip: identical to another", sheet.name, "unique", same, Verdict.NOTE)
        )
    try:
        check_unpacked(sheet, folder / "files", folder / "work", options, box)
    except Exception as exc:  # noqa: BLE001 - any failure is this submission's verdict
        broken(sheet, folder, "checking", exc)
    if options.sample == 0:  # the last re-runs of this zip, kept
        sheets.keep_reruns(sheet, sheets.read_sheet(folder))
    sheets.write_sheet(sheet, folder)


def mark(path: Path, marking: Path, options: Options, again: bool = False) -> list[Sheet]:
    """Mark every submission of ``path``; write their sheets and the table of every sheet of
    ``marking``; return this batch's sheets."""
    zips = [z.resolve() for z in submissions(path)]
    marking = Path(marking).resolve()  # the re-runs work in the submission's code folder
    storage.ensure_writable(marking)
    folders = sheets.assign(marking, [z.name for z in zips])
    box = choose(options.unsafe, marking) if options.sample > 0 or shutil.which("latexmk") else "-"
    if isinstance(box, str) and box != "-":
        print(
            f"warning: nothing of a submission will run (no re-runs, no LaTeX): {box}", flush=True
        )
    out: dict[Path, Sheet] = {}
    todo: set[Path] = set()  # unpacked now, to check
    reused: set[Path] = set()  # marked before, with the same zip and options
    print(f"checking {len(zips)} archive(s) before anything runs ...", flush=True)
    for z in zips:  # every archive is checked and unpacked before anything runs
        out[z], check, before = unpack_one(z, folders[z.name], marking, options, again)
        if check:
            todo.add(z)
        if before:
            reused.add(z)
    same: dict[str, list[str]] = {}
    for z in zips:
        same.setdefault(out[z].sha256, []).append(z.name)
    for i, z in enumerate(zips, start=1):
        sheet = out[z]
        if z in todo:
            twins = [n for n in same.get(sheet.sha256, []) if n != z.name and sheet.sha256 != "?"]
            print(f"[{i}/{len(zips)}] {z.name}: checking ...", flush=True)
            check_one(sheet, folders[z.name], twins, options, box)
        skipped = "already marked (AGAIN=1 / --again to redo): " if z in reused else ""
        first = f"; first failure: {describe(sheet.failures[0])}" if sheet.failures else ""
        print(
            f"[{i}/{len(zips)}] {z.name}: {skipped}{sheet.verdict}, "
            f"{len(sheet.rows) - len(sheet.failures)}/{len(sheet.rows)} checks passed"
            f"{first}",
            flush=True,
        )
    sheets.write_marks(marking)
    marks_page.write(marking)
    return [out[z] for z in zips]
