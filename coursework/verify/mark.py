"""``make mark``: a marker's check of handed-in submissions, one zip or a folder of them.

A submission is untrusted input, and the marker's machine is not the student's. Everything
is written under the marking folder, one folder per submission (:mod:`.sheets` names it
safely), and a submission already marked (same zip, same options) is skipped:

1. every archive is unpacked safely (:mod:`.archive`) into ``files/`` before anything of any
   submission runs; the marker's own code is staged in ``<marking>/.engine``;
2. the submission's files are read inside the :mod:`.sandbox`, by the staged code, under the
   marker's limits (:mod:`.bounded`; :func:`read_submission`, run by :mod:`.inside`):
   every file against ``LISTING.txt`` and ``MANIFEST.json``, the records, CSVs, configs,
   statistics and report numbers as ``make verify`` checks them (:mod:`.integrity`), the
   report's sources against ``numbers.json`` and their prose, the results page; this process
   reads back only their answer, through a pipe, capped;
3. what the student changed against the template's commit (:mod:`.changes`), in bytes and
   lines, and the handed-in files Python could load that no re-run runs;
4. the report's sources compiled in the sandbox (no rc file, no shell escape, TeX reading and
   writing only in their folder): the pages of the body against the course's limit;
5. re-runs, in the sandbox: a sample drawn from a secret seed, the runs the prose quotes
   first (:mod:`.marker_reruns`), each re-trained by the marker's engine with the handed-in
   ``models/`` and ``experiments/`` from the settings the marker hands it, with none of the
   handed-in results in reach, and compared here, after it ended.

Whatever goes wrong with one submission (an exception of any kind while unpacking, reading or
checking it) is its verdict, ``BROKEN``, with the cause on its sheet; the batch goes on.
Then ``sheet.{md,csv,json}`` and ``results.html`` (its results page, drawn by this checkout's
code) per submission, and ``marks.md`` / ``marks.csv`` / ``index.html`` rebuilt from every
sheet of the marking folder (:mod:`.marks_page`).

The checks live in :mod:`.contents` (what the submission holds), :mod:`.overleaf` (the report's
sources) and :mod:`.marker_reruns` (the re-runs); this module finds, unpacks and marks.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from coursework.analysis import manifest
from coursework.analysis.checks import Row, short
from coursework.records import storage
from coursework.records.errors import SubmissionError
from coursework.records.layout import ResultsSet
from coursework.records.project import ROOT
from coursework.verify import archive, cohort, folders, marks_page, sheets
from coursework.verify.contents import (
    check_code,
)
from coursework.verify.inspection import cause
from coursework.verify.marker_reruns import rerun_rows
from coursework.verify.options import INSPECT_OUTPUT, Options
from coursework.verify.overleaf import compiled
from coursework.verify.sandbox import (
    ENGINE,
    NO_SANDBOX,
    STAGED,
    Sandbox,
    call,
    choose,
    data_env,
    data_folders,
    stage,
)
from coursework.verify.sheets import Sheet, describe
from coursework.verify.verdicts import NONE, Verdict, whole


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
    folder: Path,
    options: Options,
    box: Sandbox | str,
) -> None:
    """Every check of the submission unpacked in ``folder/files``, into ``sheet``: its files
    read in the sandbox under the marker's limits, its report compiled there, its code
    against the template, and its re-runs."""
    files, limits = folder / "files", options.limits()
    inside_box = box if isinstance(box, Sandbox) else Sandbox(NO_SANDBOX)
    request = {"sheet": sheet.to_json(), "files": str(files), "sandboxed": inside_box.safe}
    answer, outcome = call(
        inside_box,
        "inspect",
        request,
        code=folder.parent / ENGINE,
        work=folder / "work",
        readable=[files, *data_folders()],
        limits=replace(limits, output=INSPECT_OUTPUT),
        env=data_env(),
    )
    if answer is None or "crashed" in answer or "sheet" not in answer:
        why = outcome.stopped or (answer or {}).get("crashed") or "no answer"
        if "crashed" in (answer or {}) or outcome.stopped:
            write_log(folder / "marking-error.log", outcome.log)
        sheet.rows.append(
            whole(
                "marking: reading it", NONE, "read within limits", short(why, 120), Verdict.BROKEN
            )
        )
        return
    inspected = Sheet.from_json(answer["sheet"])
    sheet.rows, sheet.facts = inspected.rows, inspected.facts
    if answer.get("page"):
        storage.write_text(folder / sheets.RESULTS_PAGE, str(answer["page"]))
    if sheet.verdict == Verdict.BROKEN or "root" not in answer or "desc" not in answer:
        return
    root = files / answer["root"]
    sources = folder / "sources"
    if answer.get("overleaf"):
        try:
            archive.unpack(files / answer["overleaf"], sources)
        except SubmissionError:
            pass  # a row of the inspection says so
        sheet.rows += compiled(sources, folder, answer.get("questions", []), sheet, box, limits)
    sheet.rows += check_code(root, answer["desc"], sheet)
    sheet.rows += unlisted_loadable(root, sheet, options.handed_in_engine)
    if options.sample or options.target:
        handed = ResultsSet(root / "results", answer["desc"]["results_set"])
        sheet.rows += rerun_rows(root, handed, folder, options, sheet, box, answer["candidates"])
    else:
        sheet.facts["reruns_agreeing"] = "not asked"


LOADABLE = (".py", ".pyc", ".pth", ".so", ".sh", ".pyx", ".pyd", ".egg", ".whl", ".zip")
NOT_ON_PATH = ("models/", "experiments/")  # the handed-in code a re-run takes


def unlisted_loadable(root: Path, sheet: Sheet, own_engine: bool) -> list[Row]:
    """Handed-in files that Python or a shell could load, changed or added against the
    template, outside ``models/`` and ``experiments/`` (and ``coursework/``, where the marker
    re-trains with the submission's ``own_engine``): never on a re-run's path, each a note
    with its size, for the marker to read."""
    out = []
    taken = (*NOT_ON_PATH, "coursework/") if own_engine else NOT_ON_PATH
    for name, *_ in sheet.changed_files:
        path = root / "code" / name
        if name.startswith(taken) or not path.is_file() or path.is_symlink():
            continue
        with open(path, "rb") as f:
            head = f.read(1 << 20)
        text = b"\0" not in head
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            text = False
        stem = Path(name).name.split(".")[0]
        if Path(name).suffix in LOADABLE or stem in ("sitecustomize", "usercustomize") or not text:
            size = path.stat().st_size
            kind = "" if text else ", binary or not UTF-8"
            out.append(
                whole(
                    "code: not run by a re-run",
                    f"code/{name}",
                    "the template's",
                    f"{size:,} bytes{kind}",
                    Verdict.NOTE,
                )
            )
    return out


def write_log(path: Path, text: str) -> None:
    """A command's log (already capped) beside its sheet, in the marker's own folder."""
    try:
        storage.write_text(path, text)
    except OSError:
        pass


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
    """Whether ``before`` marked the same zip (``sha``) with the same options (where its
    re-runs train, here or on a cluster, aside)."""

    def same(opts: dict) -> dict:
        return {k: v for k, v in opts.items() if k != "slurm"}

    return (
        before is not None
        and before.sha256 == sha
        and same(before.options) == same(asdict(options))
    )


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
            folders.clear(marking, old)
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
        check_unpacked(sheet, folder, options, box)
    except Exception as exc:  # noqa: BLE001 - any failure is this submission's verdict
        broken(sheet, folder, "checking", exc)
    if options.sample == 0:  # the last re-runs of this zip, kept
        sheets.keep_reruns(sheet, sheets.read_sheet(folder))
    sheets.write_sheet(sheet, folder)


def mark(
    path: Path,
    marking: Path,
    options: Options,
    again: bool = False,
    send: Callable[[list[tuple[Sheet, Path]], Path], list[Sheet]] | None = None,
) -> list[Sheet]:
    """Mark every submission of ``path``; write their sheets and the table of every sheet of
    ``marking``; return this batch's sheets. Re-runs that came back from a cluster are
    gathered; with ``options.slurm``, ``send`` sends the sheets' pending re-runs
    (:func:`coursework.commands.cohort.send`) and returns the sheets it changed."""
    zips = [z.resolve() for z in submissions(path)]
    marking = Path(marking).resolve()  # the re-runs work in the submission's code folder
    storage.ensure_writable(marking)
    places = folders.assign(marking, [z.name for z in zips])
    box = choose(options.unsafe, marking)
    if isinstance(box, str):
        print(
            f"warning: nothing of a submission will run (no re-runs, no LaTeX): {box}", flush=True
        )
    stage(marking / ENGINE, {name: ROOT / name for name in STAGED if (ROOT / name).exists()})
    out: dict[Path, Sheet] = {}
    todo: set[Path] = set()  # unpacked now, to check
    reused: set[Path] = set()  # marked before, with the same zip and options
    print(f"checking {len(zips)} archive(s) before anything runs ...", flush=True)
    for z in zips:  # every archive is checked and unpacked before anything runs
        out[z], check, before = unpack_one(z, places[z.name], marking, options, again)
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
            check_one(sheet, places[z.name], twins, options, box)
        skipped = "already marked (AGAIN=1 / --again to redo): " if z in reused else ""
        if z in reused and sheet.pending and cohort.gather(sheet, places[z.name]):
            sheets.write_sheet(sheet, places[z.name])
            skipped = "re-runs gathered from the cluster: "
        first = f"; first failure: {describe(sheet.failures[0])}" if sheet.failures else ""
        print(
            f"[{i}/{len(zips)}] {z.name}: {skipped}{sheet.verdict}, "
            f"{sheet.counts[1]}/{len(sheet.rows)} checks passed{first}"
            + (f", {len(sheet.pending)} re-run(s) pending" if sheet.pending else ""),
            flush=True,
        )
    if options.slurm and send is not None:
        waiting = [(out[z], places[z.name]) for z in zips if out[z].pending]
        for sheet in send(waiting, marking):
            sheets.write_sheet(sheet, places[next(z for z in zips if out[z] is sheet).name])
    sheets.write_marks(marking)
    marks_page.write(marking)
    return [out[z] for z in zips]
