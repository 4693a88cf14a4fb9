"""``make mark``: a marker's check of handed-in submissions, one zip or a folder of them.

Everything is written under the marking folder, one folder per submission
(``<marking>/<name>/``), and a submission already marked (same zip, same options) is skipped:

1. every archive is unpacked safely (:mod:`.archive`) into ``files/`` before anything of any
   submission runs; a bad archive is its sheet's one failure, the others are still marked;
2. integrity, with this checkout's code: every file against ``LISTING.txt`` and
   ``MANIFEST.json``, the records, CSVs, configs, statistics and report numbers as ``make
   verify`` checks them (:mod:`.integrity`; the weights are never handed in), and the numbers
   of the report's sources (the Overleaf folder) against ``numbers.json``;
3. what the student changed against the template's commit (:mod:`.changes`), and whether the
   runs were made by the code handed in (the training code's digest in each ``run.json``);
4. the report's sources compiled here (shell escape off): the pages of the body against the
   course's limit, and the questions chosen; in their prose, every ``\\result`` a macro of
   ``numbers.tex`` (one that is not prints ``??``: a failure), and what is left unwritten
   (the placeholder author, the guides' "not written yet": a note);
5. re-runs: a seeded sample of runs re-trained by the handed-in code from the handed-in
   ``run.json`` (``python -m coursework retrain``, a process of its own, its temporary files
   in the marking folder), compared with the handed-in history as ``make verify`` compares.

Then ``sheet.md`` and ``sheet.csv`` per submission, and ``marks.md`` / ``marks.csv`` with a row
per submission.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from coursework.analysis import manifest
from coursework.analysis.checks import COLUMNS, Row, short
from coursework.records import results
from coursework.records.errors import CourseworkError, ReportError, SubmissionError
from coursework.records.project import code_digest
from coursework.report import latex, prose
from coursework.report import render as report
from coursework.report.submission import DESCRIPTION, LISTING, WEIGHTS, read_listing
from coursework.verify import archive, rerun
from coursework.verify.changes import Changes, changes
from coursework.verify.integrity import check_lock, integrity
from coursework.verify.numbers import check_sources, written_numbers

SHEET, MARKS = "sheet", "marks"
MARK_COLUMNS = ["submission", "author", "unwritten", "questions", "pages", "page_limit",
                "checks", "passed", "failed", "first_failure", "reruns_agreeing", "code_changed",
                "runs_by_handed_in_code", "verdict"]


@dataclass(frozen=True)
class Options:
    sample: int = 2  # runs re-trained per submission
    tolerance: float = 0.005
    page_limit: int = 6
    max_bytes: int = archive.MAX_BYTES
    max_files: int = archive.MAX_FILES


@dataclass
class Sheet:
    """The marking of one submission: every check as a row, and the facts of its summary."""

    name: str
    sha256: str
    options: dict
    rows: list[Row] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    changed_files: list[list] = field(default_factory=list)  # [name, +lines, -lines, how]

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if not r.ok]

    @property
    def verdict(self) -> str:
        if any(r.verdict == "BAD ARCHIVE" for r in self.rows):
            return "BAD ARCHIVE"
        return "FAIL" if self.failures else "pass"

    def mark_row(self) -> dict:
        first = self.failures[0] if self.failures else None
        return {"submission": self.name, **{k: self.facts.get(k, "") for k in (
                    "author", "unwritten", "questions", "pages", "page_limit", "reruns_agreeing",
                    "code_changed", "runs_by_handed_in_code")},
                "checks": len(self.rows), "passed": len(self.rows) - len(self.failures),
                "failed": len(self.failures), "verdict": self.verdict,
                "first_failure": "" if first is None else describe(first)}

    def to_json(self) -> dict:
        return {**asdict(self), "rows": [r.csv() for r in self.rows]}

    @classmethod
    def from_json(cls, data: dict) -> Sheet:
        rows = [Row(**{k: r[k] for k in ("run", "seed", "check", "file", "expected", "got",
                                          "verdict")}) for r in data["rows"]]
        return cls(data["name"], data["sha256"], data["options"], rows, data["facts"],
                   data["changed_files"])


def describe(row: Row) -> str:
    """A failure in a line: what, where, expected and got."""
    where = row.file if row.run in ("-", "") else f"{row.run}: {row.file}" if row.seed in (
        "-", "") else f"{row.run} seed {row.seed}: {row.file}"
    return f"{row.check} ({where}): expected {row.expected}, got {row.got} [{row.verdict}]"


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


def folder_for(marking: Path, zip_path: Path) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.@+-]", "_", zip_path.stem) or "submission"
    return Path(marking) / name


def table_path(marking: Path) -> Path:
    return Path(marking) / f"{MARKS}.md"


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
        rows.append(Row("-", "-", "listing sha256", name, digest[:12], got[:12],
                        "ok" if ok else "EDITED"))
    rows += [Row("-", "-", "listing: file listed", name, "in LISTING.txt", "not listed",
                 "UNLISTED") for name in sorted(present - set(listed))]
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
        return desc, [Row("-", "-", "submission description", DESCRIPTION, "readable",
                          short(exc, 60), "MISSING")]


def code_of(root: Path) -> dict[str, Path]:
    code = root / "code"
    return {p.relative_to(code).as_posix(): p for p in sorted(code.rglob("*"))
            if p.is_file()} if code.is_dir() else {}


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
    recs = [results.read_json(p) for p in results.record_paths(results_dir,
                                                                 desc.get("results_set", ""))]
    same = sum(r.get("code_sha256") == digest for r in recs)
    unknown = sum(r.get("code_sha256") is None for r in recs)
    sheet.facts["runs_by_handed_in_code"] = f"{same}/{len(recs)}" + (
        f" ({unknown} made before runs recorded their code)" if unknown else "")
    rows = [Row("-", "-", "code: template commit", "code/", "a template commit",
                diff.base[:10] if diff.base else diff.note, "ok" if diff.base else "note")]
    if desc.get("code_sha256") not in (None, digest):
        rows.append(Row("-", "-", "code digest", DESCRIPTION, short(desc["code_sha256"], 12),
                        digest[:12], "EDITED"))
    if same + unknown < len(recs):
        rows.append(Row("-", "-", "code: runs made by the handed-in code", "code/",
                        f"{len(recs)} runs", f"{same} runs", "note"))
    return rows


def check_report_sources(results_dir: Path, results_set: str, work: Path,
                         sheet: Sheet, templates: Path | None) -> list[Row]:
    """The Overleaf folder handed in: its numbers against ``numbers.json``, compiled here,
    the pages of its body against the course's limit."""
    written = written_numbers(results_dir, results_set)
    if written is None:
        return [Row("-", "-", "report", "report/numbers.json", "present", "missing", "MISSING")]
    ids = [q.id for q in written]
    sheet.facts["questions"] = " ".join(ids)
    zipped = results.report_dir(results_dir, results_set) / report.OVERLEAF
    sources = work / "report-sources"
    try:
        archive.unpack(zipped, sources)
    except SubmissionError as exc:
        return [Row("-", "-", "report sources", f"report/{report.OVERLEAF}", "a safe zip",
                    short(exc, 80), "MISSING")]
    paths = {q.id: report.question_paths(results_dir, results_set, q, None, write=False)
             for q in written}
    rows = check_sources(sources, f"report/{report.OVERLEAF}", written, paths,
                         lambda rel: True, templates)
    rows += check_prose(sources, f"report/{report.OVERLEAF}", written, sheet)
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        sheet.facts["pages"] = "?"
        return rows + [Row("-", "-", "report compiles", f"report/{report.OVERLEAF}",
                           "compiled here", "LaTeX not installed here", "note")]
    try:
        latex.compile_pdf(sources)
    except ReportError as exc:
        sheet.facts["pages"] = "?"
        return rows + [Row("-", "-", "report compiles", f"report/{report.OVERLEAF}",
                           "compiles", short(str(exc).splitlines()[-1], 60), "FAILED")]
    pages = latex.page_budget(sources / "build" / "report.aux", ids)["body_pages"]
    limit = int(sheet.options["page_limit"])
    sheet.facts["pages"] = "?" if pages is None else str(pages)
    over = pages is None or pages > limit  # the student's problem, not a failed check
    return rows + [Row("-", "-", "report pages (body)", f"report/{report.OVERLEAF}",
                       f"<= {limit}", str(pages) + (f" (over by {pages - limit})" if pages
                                                    and over else ""),
                       "note" if over else "ok")]


def check_prose(sources: Path, label: str, written: list, sheet: Sheet) -> list[Row]:
    """The prose of the handed-in sources (``label``: as rows name them): every ``\\result``
    against the macros of ``numbers.json`` (one it lacks printed ``??``: UNRESOLVED), and what
    is unwritten (the author as ``numbers.json`` has it): a note, and a fact of the sheet."""
    ids = [q.id for q in written]
    paths = prose.paper_paths(sources / "prose" / "abstract.tex",
                              {q: sources / "prose" / q for q in ids})
    texts = prose.read_texts(paths)
    rows = [Row("-", "-", "report \\result", f"{label}/prose/{name}.tex:{line}",
                "a macro of numbers.tex", short(why, 120), "UNRESOLVED")
            for name, line, why in prose.unresolved(texts, written)]
    missing = prose.unwritten(sheet.facts.get("author", ""), texts, ids)
    sheet.facts["unwritten"] = ", ".join(missing) or "none"
    return rows + [Row("-", "-", "prose written", f"{label}/prose", "written",
                       f"unwritten: {sheet.facts['unwritten']}" if missing else "written",
                       "note" if missing else "ok")]


def rerun_rows(root: Path, results_set: str, work: Path, options: Options) -> list[Row]:
    """Re-train a seeded sample of runs with the handed-in code, each from its handed-in
    ``run.json`` and with the backend it recorded; compare here."""
    results_dir, code = root / "results", root / "code"
    jobs = rerun.rerun_jobs(results_dir, results_set, None, options.sample)
    tmp = work / "tmp"
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1",
           "TMPDIR": str(tmp), "KERAS_HOME": str(tmp / "keras"),
           "MPLCONFIGDIR": str(tmp / "matplotlib"), "XDG_CACHE_HOME": str(tmp / "cache")}
    rows: list[Row] = []
    for i, path in enumerate(jobs, start=1):
        rec = results.read_json(path)
        run_id, seed = f"{rec['question']}/{rec['run']}", str(rec["seed"])
        if "trial" in rec:
            seed = f"trial {rec['trial']['number']}"
        name = rerun.recorded_backend(rec)
        out = work / "rerun" / f"{rec['question']}-{rec['run']}-{seed.replace(' ', '-')}"
        shutil.rmtree(out, ignore_errors=True)
        tmp.mkdir(parents=True, exist_ok=True)
        print(f"    [{i}/{len(jobs)}] re-training {run_id} seed {seed} "
              f"({rec['config']['epochs']} epochs, backend {name}) with the handed-in code",
              flush=True)
        cmd = [sys.executable, "-m", "coursework", "retrain", str(path), "--out", str(out)]
        with open(work / "rerun.log", "a") as log:
            log.write(f"$ KERAS_BACKEND={name} {' '.join(cmd)}\n")
            log.flush()
            proc = subprocess.run(cmd, cwd=code, env={**env, "KERAS_BACKEND": name},
                                  stdout=log, stderr=subprocess.STDOUT)
        rel = results.relative(path.parent / results.HISTORY, results_dir, results_set)
        new_rec, new_hist = out / results.RECORD, out / results.HISTORY
        if proc.returncode != 0 or not new_rec.exists() or not new_hist.exists():
            tail = (work / "rerun.log").read_text(errors="replace").strip().splitlines()
            why = tail[-1] if tail else f"exit {proc.returncode}"
            if "invalid choice: 'retrain'" in why:
                why = "the handed-in code has no retrain command (an older template)"
            rows.append(Row(run_id, seed, f"re-run ({name})", rel, "a re-run", short(why, 70),
                            "NOT RUN"))
            continue
        try:
            new = results.read_json(new_rec)
        except CourseworkError as exc:
            new = {"error": str(exc)}
        mine = rerun.compare(rec, new, path.parent / results.HISTORY, new_hist, run_id, seed,
                             rel, name, options.tolerance)
        print(f"        -> {'ok' if all(r.ok for r in mine) else 'MISMATCH'}", flush=True)
        rows += mine
    return rows


def report_settings(root: Path, results_set: str | None) -> dict:
    """The report's title and author: as its ``numbers.json`` records them, else the
    handed-in ``report.toml`` (read as data only)."""
    for path, read in (
            (results.report_dir(root / "results", results_set or "-") / report.NUMBERS,
             json.loads), (root / "code" / "report.toml", tomllib.loads)):
        try:
            raw = read(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            continue
        if isinstance(raw, dict) and "author" in raw:
            return {k: str(raw.get(k, "")) for k in ("title", "author")}
    return {}


def check_unpacked(sheet: Sheet, files: Path, work: Path, options: Options) -> None:
    """Every check of an unpacked submission, into ``sheet``."""
    root = submission_root(files)
    if root is None:
        sheet.rows.append(Row("-", "-", "layout", LISTING, "a folder with LISTING.txt",
                              "not found", "MISSING"))
        return
    try:
        _check(sheet, root, work, options)
    except CourseworkError as exc:  # a record too broken to read: named, the rest still shown
        sheet.rows.append(Row("-", "-", "submission readable", "-", "readable",
                              short(exc, 100), "BROKEN"))


def _check(sheet: Sheet, root: Path, work: Path, options: Options) -> None:
    sheet.rows += check_listing(root)
    desc, rows = read_description(root)
    sheet.rows += rows
    results_set = desc.get("results_set")
    results_dir = root / "results"
    sheet.facts.update(report_settings(root, results_set))
    if not results_set or not results.set_dir(results_dir, results_set).is_dir():
        sheet.rows.append(Row("-", "-", "results", f"results/{results_set or '?'}", "present",
                              "missing", "MISSING"))
        return
    templates = root / "code" / "report_templates"
    templates = templates if (templates / "question.tex.j2").is_file() else None
    try:
        sheet.rows += integrity(results_dir, results_set, left_out=WEIGHTS,
                                templates=templates)
        sheet.rows += check_lock(results_dir, results_set)
        sheet.rows += check_report_sources(results_dir, results_set, work, sheet, templates)
    except (CourseworkError, KeyError, ValueError, TypeError) as exc:  # too broken to read
        sheet.rows.append(Row("-", "-", "results readable", f"results/{results_set}",
                              "readable", short(exc, 80), "BROKEN"))
    sheet.rows += check_code(root, desc, sheet)
    if options.sample > 0:
        reruns = rerun_rows(root, results_set, work, options)
        agree = len({(r.run, r.seed) for r in reruns}) - len(
            {(r.run, r.seed) for r in reruns if not r.ok})
        sheet.facts["reruns_agreeing"] = f"{agree}/{len({(r.run, r.seed) for r in reruns})}"
        sheet.rows += reruns
    else:
        sheet.facts["reruns_agreeing"] = "not asked"


# --------------------------------------------------------------------------- the sheets


def write_sheet(sheet: Sheet, folder: Path) -> None:
    results.write_csv(folder / f"{SHEET}.csv", ["submission", *COLUMNS],
                      [{"submission": sheet.name, **r.csv()} for r in sheet.rows])
    results.write_text(folder / f"{SHEET}.md", sheet_markdown(sheet))
    results.write_text(folder / f"{SHEET}.json", json.dumps(sheet.to_json(), indent=1) + "\n")


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def sheet_markdown(sheet: Sheet) -> str:
    f, row = sheet.facts, sheet.mark_row()
    lines = [f"# Marking sheet: {sheet.name}", "",
             f"- verdict: **{sheet.verdict}**",
             f"- author: {f.get('author', '?')}; title: {f.get('title', '?')}",
             f"- unwritten: {f.get('unwritten', '?')}" + (
                 " (a note, not a failure: the paper built without them)"
                 if f.get("unwritten", "none") not in ("none", "?") else ""),
             f"- questions: {f.get('questions', '?')}",
             f"- body pages: {f.get('pages', '?')} (limit {sheet.options['page_limit']})",
             f"- checks: {row['passed']} of {row['checks']} passed"
             + (f"; first failure: {row['first_failure']}" if sheet.failures else ""),
             f"- re-runs agreeing: {f.get('reruns_agreeing', '-')}",
             f"- code changed against the template: {f.get('code_changed', '?')}",
             f"- runs made by the handed-in code: {f.get('runs_by_handed_in_code', '?')}",
             f"- zip sha256: `{sheet.sha256}`", ""]
    shown = [r for r in sheet.rows if not r.ok or r.verdict == "note" or r.kind == "re-run"]
    if shown:
        lines += ["## Failures, notes and re-runs", "",
                  "| run | seed | check | file | expected | got | verdict |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {_md(r.run)} | {_md(r.seed)} | {_md(r.check)} | {_md(r.file)} | "
                  f"{_md(r.expected)} | {_md(r.got)} | {_md(r.verdict)} |" for r in shown]
        lines.append("")
    counts: dict[str, list[int]] = {}
    for r in sheet.rows:
        c = counts.setdefault(r.kind, [0, 0])
        c[0] += 1
        c[1] += r.ok
    lines += ["## Checks by kind", "", "| check | passed | of |", "| --- | ---: | ---: |"]
    lines += [f"| {_md(k)} | {ok} | {n} |" for k, (n, ok) in counts.items()]
    if sheet.changed_files:
        lines += ["", "## Files changed against the template", "",
                  "| file | how | lines added | lines removed |", "| --- | --- | ---: | ---: |"]
        lines += [f"| {_md(n)} | {how} | {p} | {m} |" for n, p, m, how in sheet.changed_files]
    return "\n".join(lines) + "\n"


def write_marks(marking: Path, sheets: list[Sheet]) -> None:
    rows = [s.mark_row() for s in sheets]
    results.write_csv(Path(marking) / f"{MARKS}.csv", MARK_COLUMNS, rows)
    lines = ["| " + " | ".join(MARK_COLUMNS) + " |", "|" + " --- |" * len(MARK_COLUMNS)]
    lines += ["| " + " | ".join(_md(r[c]) for c in MARK_COLUMNS) + " |" for r in rows]
    results.write_text(table_path(marking), "\n".join(lines) + "\n")


# --------------------------------------------------------------------------- all of them


def already_marked(folder: Path, sha: str, options: Options) -> Sheet | None:
    path = folder / f"{SHEET}.json"
    try:
        sheet = Sheet.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return sheet if sheet.sha256 == sha and sheet.options == asdict(options) else None


def mark(path: Path, marking: Path, options: Options, again: bool = False) -> list[Sheet]:
    """Mark every submission of ``path``; write the sheets and the table; return the sheets."""
    zips = [z.resolve() for z in submissions(path)]
    marking = Path(marking).resolve()  # the re-runs work in the submission's code folder
    results.ensure_writable(marking)
    sheets: dict[Path, Sheet] = {}
    todo: list[Path] = []  # unpacked now, to check
    reused: set[Path] = set()  # marked before, with the same zip and options
    print(f"checking {len(zips)} archive(s) before anything runs ...", flush=True)
    for z in zips:  # every archive is checked and unpacked before anything runs
        folder, sha = folder_for(marking, z), manifest.sha256(z)
        done = None if again else already_marked(folder, sha, options)
        if done is not None:
            sheets[z] = done
            reused.add(z)
            continue
        sheets[z] = sheet = Sheet(z.name, sha, asdict(options),
                                  facts={"page_limit": str(options.page_limit)})
        for old in (folder / "work", folder / "files"):
            shutil.rmtree(old, ignore_errors=True)
        try:
            archive.unpack(z, folder / "files", options.max_bytes, options.max_files)
            todo.append(z)
        except SubmissionError as exc:
            sheet.rows.append(Row("-", "-", "archive", z.name, "a safe zip", str(exc),
                                  "BAD ARCHIVE"))
            write_sheet(sheet, folder)
    for i, z in enumerate(zips, start=1):
        sheet, folder = sheets[z], folder_for(marking, z)
        if z in todo:
            print(f"[{i}/{len(zips)}] {z.name}: checking ...", flush=True)
            check_unpacked(sheet, folder / "files", folder / "work", options)
            write_sheet(sheet, folder)
        skipped = "already marked (--again to redo): " if z in reused else ""
        first = f"; first failure: {describe(sheet.failures[0])}" if sheet.failures else ""
        print(f"[{i}/{len(zips)}] {z.name}: {skipped}{sheet.verdict}, "
              f"{len(sheet.rows) - len(sheet.failures)}/{len(sheet.rows)} checks passed"
              f"{first}", flush=True)
    out = [sheets[z] for z in zips]
    write_marks(marking, out)
    return out
