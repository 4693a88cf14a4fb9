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
Then ``sheet.{md,csv,json}`` per submission, and ``marks.md`` / ``marks.csv`` rebuilt from
every sheet of the marking folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tomllib
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from coursework.analysis import manifest
from coursework.analysis.checks import Row, short
from coursework.records import results
from coursework.records.errors import CourseworkError, ReportError, SubmissionError
from coursework.records.project import code_digest
from coursework.report import latex, prose
from coursework.report import render as report
from coursework.report.submission import DESCRIPTION, LISTING, WEIGHTS, read_listing
from coursework.verify import archive, rerun, sheets
from coursework.verify.changes import Changes, changes
from coursework.verify.integrity import check_lock, integrity
from coursework.verify.numbers import check_sources, written_numbers
from coursework.verify.sandbox import Sandbox, choose
from coursework.verify.sheets import Sheet, describe

MAX_JSON_BYTES = 16 << 20  # a run.json is a few kB; numbers.json, MANIFEST.json below 1 MB
MAX_CSV_BYTES = 64 << 20  # a history.csv is an epoch a line
RERUN_TIMEOUT = 3600, 20  # seconds: at least the first, else the second times the recorded


@dataclass(frozen=True)
class Options:
    sample: int = 2  # runs re-trained per submission
    tolerance: float = 0.005
    page_limit: int = 6
    max_bytes: int = archive.MAX_BYTES
    max_files: int = archive.MAX_FILES
    unsafe: bool = False  # run a submission's code without a sandbox where bwrap cannot


# --------------------------------------------------------------------------- finding them


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


def submission_root(files: Path) -> Path | None:
    """The folder of the unpacked zip that holds ``LISTING.txt`` (``submission/``, or the top)."""
    if (files / LISTING).is_file():
        return files
    tops = [p for p in files.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 and (tops[0] / LISTING).is_file() else None


# --------------------------------------------------------------------------- the checks


def check_listing(root: Path) -> list[Row]:
    """Every file against ``LISTING.txt``: same size and sha256, none missing, none unlisted."""
    listed = read_listing((root / LISTING).read_text(errors="replace"))
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    present.discard(LISTING)
    rows = []
    for name, (size, digest) in sorted(listed.items()):
        if name not in present:
            rows.append(Row("-", "-", "listing: file", name, digest[:12], "missing", "MISSING"))
            continue
        got = manifest.sha256(root / name)
        ok = got == digest and (root / name).stat().st_size == size
        rows.append(
            Row("-", "-", "listing sha256", name, digest[:12], got[:12], "ok" if ok else "EDITED")
        )
    rows += [
        Row("-", "-", "listing: file listed", name, "in LISTING.txt", "not listed", "UNLISTED")
        for name in sorted(present - set(listed))
    ]
    return rows


def read_description(root: Path) -> tuple[dict, list[Row]]:
    """``SUBMISSION.json``, or what can be found without it (the one results set)."""
    path = root / DESCRIPTION
    try:
        desc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(desc, dict) or not isinstance(desc.get("results_set"), str):
            raise ValueError("no results_set")
        return desc, []
    except (OSError, ValueError) as exc:
        sets = [s for s in results.sets(root / "results") if s != "slurm-logs"]
        desc = {"results_set": sets[0]} if len(sets) == 1 else {}
        return desc, [
            Row(
                "-",
                "-",
                "submission description",
                DESCRIPTION,
                "readable",
                short(exc, 60),
                "MISSING",
            )
        ]


def code_of(root: Path) -> dict[str, Path]:
    code = root / "code"
    return (
        {p.relative_to(code).as_posix(): p for p in sorted(code.rglob("*")) if p.is_file()}
        if code.is_dir()
        else {}
    )


def check_code(root: Path, desc: dict, sheet: Sheet) -> list[Row]:
    """What the student changed against the template, and which runs the handed-in code
    made (by the digest of the training code)."""
    code = code_of(root)
    if not code:
        return [Row("-", "-", "code", "code/", "handed in", "missing", "MISSING")]
    diff: Changes = changes(code, desc.get("git", {}).get("history", []))
    sheet.facts["code_changed"] = diff.summary()
    for name, (plus, minus) in sorted(diff.changed.items()):
        how = "added" if name in diff.added else "removed" if name in diff.removed else "changed"
        sheet.changed_files.append([name, plus, minus, how])
    digest = code_digest(code)
    results_dir = root / "results"
    recs = [
        results.read_json(p) for p in results.record_paths(results_dir, desc.get("results_set", ""))
    ]
    same = sum(r.get("code_sha256") == digest for r in recs)
    unknown = sum(r.get("code_sha256") is None for r in recs)
    sheet.facts["runs_by_handed_in_code"] = f"{same}/{len(recs)}" + (
        f" ({unknown} made before runs recorded their code)" if unknown else ""
    )
    rows = [
        Row(
            "-",
            "-",
            "code: template commit",
            "code/",
            "a template commit",
            diff.base[:10] if diff.base else diff.note,
            "ok" if diff.base else "note",
        )
    ]
    if desc.get("code_sha256") not in (None, digest):
        rows.append(
            Row(
                "-",
                "-",
                "code digest",
                DESCRIPTION,
                short(desc["code_sha256"], 12),
                digest[:12],
                "EDITED",
            )
        )
    if same + unknown < len(recs):
        rows.append(
            Row(
                "-",
                "-",
                "code: runs made by the handed-in code",
                "code/",
                f"{len(recs)} runs",
                f"{same} runs",
                "note",
            )
        )
    return rows


def check_report_sources(
    results_dir: Path,
    results_set: str,
    work: Path,
    sheet: Sheet,
    templates: Path | None,
    box: Sandbox | str,
) -> list[Row]:
    """The Overleaf folder handed in: its numbers against ``numbers.json``, compiled here in
    the sandbox ``box`` (a string: why nothing may run), the pages of its body against the
    course's limit."""
    written = written_numbers(results_dir, results_set)
    if written is None:
        return [Row("-", "-", "report", "report/numbers.json", "present", "missing", "MISSING")]
    ids = [q.id for q in written]
    sheet.facts["questions"] = " ".join(ids)
    zipped = results.report_dir(results_dir, results_set) / report.OVERLEAF
    sources = work / "report-sources"
    label = f"report/{report.OVERLEAF}"
    try:
        archive.unpack(zipped, sources)
    except SubmissionError as exc:
        return [Row("-", "-", "report sources", label, "a safe zip", short(exc, 80), "MISSING")]
    paths = {
        q.id: report.question_paths(results_dir, results_set, q, None, write=False) for q in written
    }
    rows = check_sources(sources, label, written, paths, lambda rel: True, templates)
    rows += check_prose(sources, label, written, sheet)
    sheet.facts["pages"] = "?"
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        return rows + [
            Row(
                "-",
                "-",
                "report compiles",
                label,
                "compiled here",
                "LaTeX not installed here",
                "note",
            )
        ]
    if isinstance(box, str):
        return rows + [
            Row(
                "-",
                "-",
                "report compiles",
                label,
                "compiled in a sandbox",
                f"not compiled: {short(box, 100)}",
                "note",
            )
        ]
    home = work / "tmp" / "home"
    home.mkdir(parents=True, exist_ok=True)
    sheet.facts.setdefault("sandbox", box.kind)

    def wrap(cmd: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        return box.command(
            cmd,
            cwd=sources,
            writable=work,
            readable=[],
            env={**env, "HOME": str(home), "TMPDIR": str(home)},
        )

    try:
        latex.compile_pdf(sources, wrap)
    except ReportError as exc:
        return rows + [
            Row(
                "-",
                "-",
                "report compiles",
                label,
                "compiles",
                short(str(exc).splitlines()[-1], 60),
                "FAILED",
            )
        ]
    rows += [
        Row("-", "-", "report layout", label, "none", short(problem, 160), "note")
        for problem in latex.layout(sources / "build")
    ]
    pages = latex.page_budget(sources / "build" / "report.aux", ids)["body_pages"]
    limit = int(sheet.options["page_limit"])
    sheet.facts["pages"] = "?" if pages is None else str(pages)
    over = pages is None or pages > limit  # the student's problem, not a failed check
    return rows + [
        Row(
            "-",
            "-",
            "report pages (body)",
            label,
            f"<= {limit}",
            str(pages) + (f" (over by {pages - limit})" if pages and over else ""),
            "note" if over else "ok",
        )
    ]


def check_prose(sources: Path, label: str, written: list, sheet: Sheet) -> list[Row]:
    """The prose of the handed-in sources (``label``: as rows name them): every ``\\result``
    against the macros of ``numbers.json`` (one it lacks printed ``??``: UNRESOLVED), and what
    is unwritten (the author as ``numbers.json`` has it): a note, and a fact of the sheet."""
    ids = [q.id for q in written]
    paths = prose.paper_paths(
        sources / "prose" / "abstract.tex", {q: sources / "prose" / q for q in ids}
    )
    texts = prose.read_texts(paths)
    rows = [
        Row(
            "-",
            "-",
            "report \\result",
            f"{label}/prose/{name}.tex:{line}",
            "a macro of numbers.tex",
            short(why, 120),
            "UNRESOLVED",
        )
        for name, line, why in prose.unresolved(texts, written)
    ]
    missing = prose.unwritten(sheet.facts.get("author", ""), texts, ids)
    sheet.facts["unwritten"] = ", ".join(missing) or "none"
    return rows + [
        Row(
            "-",
            "-",
            "prose written",
            f"{label}/prose",
            "written",
            f"unwritten: {sheet.facts['unwritten']}" if missing else "written",
            "note" if missing else "ok",
        )
    ]


def weight(root: Path, results_set: str, sources: Path) -> Callable[[Path], float]:
    """How much a run counts in the marker's sample: 4 if the prose of the paper's sources
    (``sources``: the Overleaf folder, unpacked) quotes it (``\\result``), 2 if its question
    is in the paper, 1 otherwise (tuning trials, runs of questions left out)."""
    results_dir = root / "results"
    try:
        written = written_numbers(results_dir, results_set) or []
    except CourseworkError:
        written = []
    ids = {q.id for q in written}
    texts = prose.read_texts(
        prose.paper_paths(
            sources / "prose" / "abstract.tex", {q: sources / "prose" / q for q in ids}
        )
    )
    quoted = prose.cited(texts)

    def of(path: Path) -> float:
        rel = results.relative(path, results_dir, results_set).split("/")
        if len(rel) < 4 or rel[2] == results.TUNE:
            return 1.0
        return 4.0 if f"{rel[0]}/{rel[1]}" in quoted else 2.0 if rel[0] in ids else 1.0

    return of


def rerun_rows(
    root: Path, results_set: str, work: Path, options: Options, sheet: Sheet, box: Sandbox | str
) -> list[Row]:
    """Re-train a secret sample of runs with the handed-in code, each from its handed-in
    ``run.json`` and with the backend it recorded, in the sandbox ``box``; compare here."""
    results_dir, code = root / "results", root / "code"
    if isinstance(box, str):
        sheet.facts.update(reruns_agreeing="refused: no sandbox", sandbox="none", rerun_sample="-")
        return [Row("-", "-", "re-run: refused", "-", "a sandbox", short(box, 120), "note")]
    candidates = rerun.rerun_jobs(results_dir, results_set, None, None)
    seed = secrets.randbits(64)
    done = {results_dir / rel for rel in sheet.reran}
    jobs = rerun.secret_sample(
        candidates, options.sample, seed, weight(root, results_set, work / "report-sources"), done
    )
    sheet.facts.update(sandbox=box.kind, rerun_seed=str(seed))
    tmp = work / "tmp"
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(tmp / "home"),
        "PYTHONPATH": str(code),
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMPDIR": str(tmp),
        "KERAS_HOME": str(tmp / "keras"),
        "MPLCONFIGDIR": str(tmp / "matplotlib"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "COURSEWORK_CACHE": str(tmp / "coursework"),
    }
    readable = [root]
    if os.environ.get("COURSEWORK_DATA_DIR"):
        env["COURSEWORK_DATA_DIR"] = os.environ["COURSEWORK_DATA_DIR"]
        readable.append(Path(os.environ["COURSEWORK_DATA_DIR"]).expanduser().resolve())
    rows: list[Row] = []
    sampled = []
    for i, path in enumerate(jobs, start=1):
        rec = results.read_json(path)
        run_id, seed_label = f"{rec['question']}/{rec['run']}", str(rec["seed"])
        if "trial" in rec:
            seed_label = f"trial {rec['trial']['number']}"
        sampled.append(f"{run_id} seed {seed_label}")
        sheet.reran.append(path.relative_to(results_dir).as_posix())
        name = rerun.recorded_backend(rec)
        out = work / "rerun" / f"{i:03d}"  # work/ is made anew for each marking
        (tmp / "home").mkdir(parents=True, exist_ok=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        print(
            f"    [{i}/{len(jobs)}] re-training {run_id} seed {seed_label} "
            f"({rec['config']['epochs']} epochs, backend {name}) with the handed-in code, "
            f"sandbox: {box.kind}",
            flush=True,
        )
        cmd, run_env = box.command(
            [sys.executable, "-m", "coursework", "retrain", str(path), "--out", str(out)],
            cwd=code,
            writable=work,
            readable=readable,
            env={**env, "KERAS_BACKEND": name},
        )
        seconds = float(rec.get("metrics", {}).get("train_seconds") or 0)
        limit = max(RERUN_TIMEOUT[0], RERUN_TIMEOUT[1] * seconds)
        with open(work / "rerun.log", "a") as log:
            log.write(f"$ KERAS_BACKEND={name} {' '.join(cmd)}\n")
            log.flush()
            try:
                code_rc = subprocess.run(
                    cmd, cwd=code, env=run_env, stdout=log, stderr=subprocess.STDOUT, timeout=limit
                ).returncode
            except subprocess.TimeoutExpired:
                code_rc = f"timed out after {limit:.0f} s"
        rel = results.relative(path.parent / results.HISTORY, results_dir, results_set)
        new_rec, new_hist = out / results.RECORD, out / results.HISTORY
        if code_rc != 0 or not new_rec.exists() or not new_hist.exists():
            tail = (work / "rerun.log").read_text(errors="replace").strip().splitlines()
            why = code_rc if isinstance(code_rc, str) else tail[-1] if tail else f"exit {code_rc}"
            if "invalid choice: 'retrain'" in why:
                why = "the handed-in code has no retrain command (an older template)"
            rows.append(
                Row(
                    run_id,
                    seed_label,
                    f"re-run ({name})",
                    rel,
                    "a re-run",
                    short(why, 70),
                    "NOT RUN",
                )
            )
            continue
        try:
            new = results.read_json(new_rec)
        except CourseworkError as exc:
            new = {"error": str(exc)}
        mine = rerun.compare(
            rec,
            new,
            path.parent / results.HISTORY,
            new_hist,
            run_id,
            seed_label,
            rel,
            name,
            options.tolerance,
        )
        print(f"        -> {'ok' if all(r.ok for r in mine) else 'MISMATCH'}", flush=True)
        rows += mine
    sheet.facts["rerun_sample"] = "; ".join(sampled) or "none"
    agree = len({(r.run, r.seed) for r in rows}) - len({(r.run, r.seed) for r in rows if not r.ok})
    sheet.facts["reruns_agreeing"] = f"{agree}/{len({(r.run, r.seed) for r in rows})}"
    return rows


def report_settings(root: Path, results_set: str | None) -> dict:
    """The report's title and author: as its ``numbers.json`` records them, else the
    handed-in ``report.toml`` (read as data only)."""
    for path, read in (
        (results.report_dir(root / "results", results_set or "-") / report.NUMBERS, json.loads),
        (root / "code" / "report.toml", tomllib.loads),
    ):
        try:
            raw = read(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            continue
        if isinstance(raw, dict) and "author" in raw:
            return {k: str(raw.get(k, "")) for k in ("title", "author")}
    return {}


def too_large(root: Path) -> list[Row]:
    """Files too large to read: a ``.json`` over :data:`MAX_JSON_BYTES`, a ``.csv`` over
    :data:`MAX_CSV_BYTES` (the template writes neither)."""
    rows = []
    for path in sorted(root.rglob("*")):
        limit = {".json": MAX_JSON_BYTES, ".csv": MAX_CSV_BYTES}.get(path.suffix)
        if limit and path.is_file() and path.stat().st_size > limit:
            rows.append(
                Row(
                    "-",
                    "-",
                    "file size",
                    path.relative_to(root).as_posix(),
                    f"<= {limit >> 20} MiB",
                    f"{path.stat().st_size:,} bytes",
                    "BROKEN",
                )
            )
    return rows


def check_unpacked(
    sheet: Sheet, files: Path, work: Path, options: Options, box: Sandbox | str
) -> None:
    """Every check of an unpacked submission, into ``sheet``."""
    root = submission_root(files)
    if root is None:
        sheet.rows.append(
            Row("-", "-", "layout", LISTING, "a folder with LISTING.txt", "not found", "MISSING")
        )
        return
    big = too_large(root)
    if big:
        sheet.rows += big
        return
    sheet.rows += check_listing(root)
    desc, rows = read_description(root)
    sheet.rows += rows
    results_set = desc.get("results_set")
    results_dir = root / "results"
    if (
        results_set
        and not re.fullmatch(r"[A-Za-z0-9_.@+-]+", results_set)
        or results_set in (".", "..")
    ):  # a name, never a path out of the submission
        sheet.rows.append(
            Row(
                "-",
                "-",
                "submission description",
                DESCRIPTION,
                "a results set's name",
                short(results_set, 60),
                "BROKEN",
            )
        )
        return
    sheet.facts.update(report_settings(root, results_set))
    if not results_set or not results.set_dir(results_dir, results_set).is_dir():
        sheet.rows.append(
            Row(
                "-",
                "-",
                "results",
                f"results/{results_set or '?'}",
                "present",
                "missing",
                "MISSING",
            )
        )
        return
    templates = root / "code" / "report_templates"
    templates = templates if (templates / "question.tex.j2").is_file() else None
    sheet.rows += integrity(results_dir, results_set, left_out=WEIGHTS, templates=templates)
    sheet.rows += check_lock(results_dir, results_set)
    sheet.rows += check_report_sources(results_dir, results_set, work, sheet, templates, box)
    sheet.rows += check_code(root, desc, sheet)
    if options.sample > 0:
        sheet.rows += rerun_rows(root, results_set, work, options, sheet, box)
    else:
        sheet.facts["reruns_agreeing"] = "not asked"


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
    sheet.rows.append(Row("-", "-", f"marking: {stage}", "-", "no error", cause(exc), "BROKEN"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "marking-error.log").write_text("".join(traceback.format_exception(exc)))
    except OSError:
        pass


# --------------------------------------------------------------------------- all of them


def already_marked(before: Sheet | None, sha: str, options: Options) -> bool:
    return before is not None and before.sha256 == sha and before.options == asdict(options)


def mark(path: Path, marking: Path, options: Options, again: bool = False) -> list[Sheet]:
    """Mark every submission of ``path``; write their sheets and the table of every sheet of
    ``marking``; return this batch's sheets."""
    zips = [z.resolve() for z in submissions(path)]
    marking = Path(marking).resolve()  # the re-runs work in the submission's code folder
    results.ensure_writable(marking)
    folders = sheets.assign(marking, [z.name for z in zips])
    box = choose(options.unsafe, marking) if options.sample > 0 or shutil.which("latexmk") else "-"
    if isinstance(box, str) and box != "-":
        print(
            f"warning: nothing of a submission will run (no re-runs, no LaTeX): {box}", flush=True
        )
    out: dict[Path, Sheet] = {}
    todo: list[Path] = []  # unpacked now, to check
    reused: set[Path] = set()  # marked before, with the same zip and options
    print(f"checking {len(zips)} archive(s) before anything runs ...", flush=True)
    for z in zips:  # every archive is checked and unpacked before anything runs
        folder = folders[z.name]
        before = sheets.read_sheet(folder)
        sheet = out[z] = Sheet(
            z.name, "?", asdict(options), facts={"page_limit": str(options.page_limit)}
        )
        try:
            sheet.sha256 = manifest.sha256(z)
            if not again and already_marked(before, sheet.sha256, options):
                out[z] = before
                reused.add(z)
                continue
            if before is not None and before.sha256 == sheet.sha256:
                sheet.reran = list(before.reran)
            for old in (folder / "work", folder / "files"):
                sheets.clear(marking, old)
            archive.unpack(z, folder / "files", options.max_bytes, options.max_files)
            todo.append(z)
        except SubmissionError as exc:
            sheet.rows.append(
                Row("-", "-", "archive", z.name, "a safe zip", str(exc), "BAD ARCHIVE")
            )
        except Exception as exc:  # noqa: BLE001 - any failure is this submission's verdict
            broken(sheet, folder, "unpacking", exc)
        if z not in todo:
            sheets.write_sheet(sheet, folder)
    same: dict[str, list[str]] = {}
    for z in zips:
        same.setdefault(out[z].sha256, []).append(z.name)
    for i, z in enumerate(zips, start=1):
        sheet, folder = out[z], folders[z.name]
        twins = [n for n in same.get(sheet.sha256, []) if n != z.name and sheet.sha256 != "?"]
        if z in todo and twins:  # the same bytes handed in twice: worth a look
            sheet.rows.append(
                Row(
                    "-",
                    "-",
                    "zip: identical to another",
                    z.name,
                    "unique",
                    f"the same bytes as {', '.join(twins)}",
                    "note",
                )
            )
        if z in todo:
            print(f"[{i}/{len(zips)}] {z.name}: checking ...", flush=True)
            try:
                check_unpacked(sheet, folder / "files", folder / "work", options, box)
            except Exception as exc:  # noqa: BLE001 - any failure is this submission's verdict
                broken(sheet, folder, "checking", exc)
            if options.sample == 0:  # the last re-runs of this zip, kept
                sheets.keep_reruns(sheet, sheets.read_sheet(folder))
            sheets.write_sheet(sheet, folder)
        skipped = "already marked (AGAIN=1 / --again to redo): " if z in reused else ""
        first = f"; first failure: {describe(sheet.failures[0])}" if sheet.failures else ""
        print(
            f"[{i}/{len(zips)}] {z.name}: {skipped}{sheet.verdict}, "
            f"{len(sheet.rows) - len(sheet.failures)}/{len(sheet.rows)} checks passed"
            f"{first}",
            flush=True,
        )
    sheets.write_marks(marking)
    return [out[z] for z in zips]
