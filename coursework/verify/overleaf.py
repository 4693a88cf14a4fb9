"""The report's sources handed in (the Overleaf folder): their numbers against
``numbers.json`` and their prose (read in the sandbox, :mod:`.inside`), and their compilation
in the sandbox (the body's pages against the course's limit). Also which runs the prose
quotes, which weigh more in the marker's sample of re-runs."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from coursework.analysis.checks import Row, short
from coursework.analysis.contract import QuestionNumbers
from coursework.records import layout
from coursework.records.errors import CourseworkError, SubmissionError
from coursework.records.layout import ResultsSet
from coursework.report import latex, prose
from coursework.report import render as report
from coursework.verify import archive
from coursework.verify.bounded import Limits
from coursework.verify.numbers import check_sources, written_numbers
from coursework.verify.sandbox import ENGINE, Sandbox, call
from coursework.verify.sheets import Sheet
from coursework.verify.verdicts import Verdict, absent, whole


def check_report_sources(
    rs: ResultsSet,
    sources: Path,
    sheet: Sheet,
    templates: Path | None,
) -> list[Row]:
    """The Overleaf folder handed in, unpacked into ``sources``: its numbers against
    ``numbers.json`` and its prose (in the sandbox: ``templates``, the handed-in report
    templates, render here)."""
    written = written_numbers(rs)
    if written is None:
        return [absent("report", "report/numbers.json")]
    sheet.facts["questions"] = " ".join(q.id for q in written)
    zipped = rs.report_dir() / report.OVERLEAF
    label = f"report/{report.OVERLEAF}"
    try:
        archive.unpack(zipped, sources)
    except SubmissionError as exc:
        return [whole("report sources", label, "a safe zip", short(exc, 80), Verdict.MISSING)]
    paths = {q.id: report.question_paths(rs, q, None, write=False) for q in written}
    rows = check_sources(sources, label, written, paths, lambda rel: True, templates)
    return rows + check_prose(sources, label, written, sheet)


def compiled(
    sources: Path,
    folder: Path,
    ids: list[str],
    sheet: Sheet,
    box: Sandbox | str,
    limits: Limits,
) -> list[Row]:
    """Compile the unpacked ``sources`` (a folder the marker unpacked) in ``box`` under
    ``limits`` (a copy in its work folder, ``folder/work``): the layout's problems, and the
    body's pages against the sheet's page limit. ``box`` a string: why nothing may run."""
    label = f"report/{report.OVERLEAF}"
    sheet.facts["pages"] = "?"
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        why = "LaTeX not installed here"
        return [whole("report compiles", label, "compiled here", why, Verdict.NOTE)]
    if isinstance(box, str):
        why = f"not compiled: {short(box, 100)}"
        return [whole("report compiles", label, "compiled in a sandbox", why, Verdict.NOTE)]
    sheet.facts.setdefault("sandbox", box.kind)
    answer, outcome = call(
        box,
        "latex",
        {"sources": str(sources), "questions": ids},
        code=folder.parent / ENGINE,
        work=folder / "work",
        readable=[sources],
        limits=limits,
        env=dict(latex.PARANOID),
    )
    if answer is None or "error" in answer or "crashed" in answer:
        why = (
            f"stopped: {outcome.stopped}"
            if outcome.stopped
            else (answer or {}).get("error") or (answer or {}).get("crashed") or "no answer"
        )
        return [whole("report compiles", label, "compiles", short(why, 80), Verdict.FAILED)]
    rows = [
        whole("report layout", label, "none", short(problem, 160), Verdict.NOTE)
        for problem in answer.get("layout", [])[:20]
    ]
    pages = answer.get("pages")
    pages = pages if isinstance(pages, int) else None
    limit = int(sheet.options["page_limit"])
    sheet.facts["pages"] = "?" if pages is None else str(pages)
    over = pages is None or pages > limit  # the student's problem, not a failed check
    got = str(pages) + (f" (over by {pages - limit})" if pages and over else "")
    verdict = Verdict.NOTE if over else Verdict.OK
    return rows + [whole("report pages (body)", label, f"<= {limit}", got, verdict)]


def check_prose(
    sources: Path,
    label: str,
    written: list[QuestionNumbers],
    sheet: Sheet,
) -> list[Row]:
    """The prose of the handed-in sources (``label``: as rows name them): every ``\\result``
    against the macros of ``numbers.json`` (one it lacks printed ``??``: UNRESOLVED), and what
    is unwritten (the author as ``numbers.json`` has it): a note, and a fact of the sheet."""
    ids = [q.id for q in written]
    paths = prose.paper_paths(
        sources / "prose" / "abstract.tex", {q: sources / "prose" / q for q in ids}
    )
    texts = prose.read_texts(paths)
    rows = [
        whole(
            "report \\result",
            f"{label}/prose/{name}.tex:{line}",
            "a macro of numbers.tex",
            short(why, 120),
            Verdict.UNRESOLVED,
        )
        for name, line, why in prose.unresolved(texts, written)
    ]
    missing = prose.unwritten(sheet.facts.get("author", ""), texts, ids)
    sheet.facts["unwritten"] = ", ".join(missing) or "none"
    got = f"unwritten: {sheet.facts['unwritten']}" if missing else "written"
    verdict = Verdict.NOTE if missing else Verdict.OK
    return rows + [whole("prose written", f"{label}/prose", "written", got, verdict)]


def weight(rs: ResultsSet, sources: Path) -> Callable[[Path], float]:
    """How much a run counts in the marker's sample: 4 if the prose of the paper's sources
    (``sources``: the Overleaf folder, unpacked) quotes it (``\\result``), 2 if its question
    is in the paper, 1 otherwise (tuning trials, runs of questions left out)."""
    try:
        written = written_numbers(rs) or []
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
        rel = rs.relative(path).split("/")
        if len(rel) < 4 or rel[2] == layout.TUNE:
            return 1.0
        return 4.0 if f"{rel[0]}/{rel[1]}" in quoted else 2.0 if rel[0] in ids else 1.0

    return of
