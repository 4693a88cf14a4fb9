"""What the report's LaTeX sources take from beyond its templates: ``numbers.tex`` (the
``\\result`` macros), the document class and the files beside it (a course's own class or
style file), the references cited (by the student's prose and by the specs' texts), and the
reproducibility appendix from ``verification.csv``."""

from __future__ import annotations

import re
from pathlib import Path

from coursework.analysis import manifest
from coursework.analysis.checks import PASSING, Verdict
from coursework.analysis.contract import QuestionNumbers
from coursework.records import storage
from coursework.records.errors import ReportError, ResultsError
from coursework.records.layout import VERIFICATION, ResultsSet
from coursework.records.project import REPORT_TEMPLATES
from coursework.report.latex import spec_cites, tex
from coursework.report.settings import Settings

STYLE_FILES = ("cw.sty", "cwpaper.sty")


def document(settings: Settings) -> tuple[dict, dict[str, Path]]:
    """Which document class (the built-in style, or the course's class or style file), and the
    files the report needs beside it: name -> source."""
    files = {name: REPORT_TEMPLATES / name for name in STYLE_FILES}
    files.update(settings.companions)
    for path in (settings.document_class, settings.style_file, settings.bibliography):
        if path is not None:
            files[path.name] = path
    if settings.bibliography_style.endswith(".bst"):
        files[Path(settings.bibliography_style).name] = Path(settings.bibliography_style)
    if settings.document_class is not None:
        return {"kind": "class", "name": settings.document_class.stem}, files
    if settings.style_file is not None:
        return {"kind": "style", "name": settings.style_file.stem}, files
    return {"kind": settings.style, "name": settings.style}, files


_BIB_KEY = re.compile(
    r"^\s*@(?!comment|preamble|string)\w+\s*[{(]\s*([^,\s]+)\s*,", re.IGNORECASE | re.MULTILINE
)
_CITE = re.compile(r"\\[A-Za-z]*cite[A-Za-z]*\*?\s*[\[{]")


def bib_keys(path: Path) -> set[str]:
    """The entry keys of a BibTeX file."""
    return set(_BIB_KEY.findall(path.read_text(encoding="utf-8", errors="replace")))


def cites(path: Path) -> bool:
    """Whether a LaTeX file cites anything outside its comments."""
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8", errors="replace")
    return bool(_CITE.search(re.sub(r"(?<!\\)%.*", "", text)))


def spec_citations(questions: list[QuestionNumbers], known: set[str] | None) -> set[str]:
    """The keys the questions' spec texts cite (``[@key]``); a key the bibliography
    (``known``; None: there is none) lacks is a ReportError naming the question."""
    keys: set[str] = set()
    for q in questions:
        texts = [
            q.research_question,
            q.hypothesis,
            *(cell for t in q.tables.values() for r in t.rows for cell in r.cells),
        ]
        found = {k for text in texts for k in spec_cites(text)}
        missing = sorted(found - known) if known is not None else []
        if missing:
            raise ReportError(
                f"experiments/{q.id}.toml cites {', '.join(missing)}, which "
                "the bibliography does not have: add it to references.bib (or "
                "report.toml's bibliography), or correct the key"
            )
        keys |= found
    return keys


def verification_context(rs: ResultsSet, questions: list[str]) -> dict | None:
    """The reproducibility appendix, from ``verification.csv`` when ``make verify`` ran: the
    counts of every kind of check of the paper's questions (and of the set as a whole), and
    their re-runs, one row per run and check with its seeds. None (no appendix) where verify
    has not run, or did not check the paper's results as they are now (:func:`unverified`):
    an appendix may only say what was checked."""
    path = rs.aggregate(VERIFICATION)
    if not path.exists():
        return None
    rows = [r for r in storage.read_csv(path) if r["run"].split("/")[0] in ("-", *questions)]
    if why := unverified(rs, rows, questions):
        print(
            f"note: the report has no verification appendix: {why} "
            f"(make verify PROFILE={rs.profile}, then make report)"
        )
        return None
    bad = [r for r in rows if r.get("verdict") not in PASSING]
    counts: dict[str, dict] = {}
    for r in rows:
        c = counts.setdefault(r["kind"], {"check": r["kind"], "count": 0, "ok": 0})
        c["count"] += 1
        c["ok"] += r.get("verdict") in PASSING
    reruns = [r for r in rows if r["kind"] == "re-run"]
    grouped: dict[tuple, list[str]] = {}
    for r in reruns:
        grouped.setdefault((r["run"], r["check"], r["verdict"]), []).append(r["seed"])
    table = [
        {"run": run, "check": check, "verdict": verdict, "seeds": ", ".join(seeds)}
        for (run, check, verdict), seeds in grouped.items()
    ]
    retrained = len({(r["run"], r["seed"]) for r in reruns})
    sentence = (
        f"make verify checked {len(rows)} item(s) of these results"
        + (f" and re-trained {retrained} run(s) and seed(s)" if reruns else "")
        + (": all matched." if not bad else f": {len(bad)} did not match.")
        + "".join(
            f" Note, {r['check']}: {r['file']}, {r['got']}."
            for r in rows
            if r.get("verdict") == Verdict.NOTE
        )
    )
    return {"sentence": sentence, "counts": list(counts.values()), "reruns": table}


def unverified(rs: ResultsSet, rows: list[dict], questions: list[str]) -> str | None:
    """Why ``verification.csv``'s ``rows`` are not of the paper's results as they are now
    (None: they are): a file of the paper's questions that the manifest lists now and verify
    did not check with these bytes (added, or changed since, e.g. a run trained again)."""
    checked = {r["file"]: r["got"] for r in rows if r["check"] == "file sha256"}
    try:
        files = manifest.read(rs).get("files", {})
    except ResultsError as exc:
        return str(exc)
    now = {
        rel: meta["sha256"][:12]
        for rel, meta in files.items()
        if rel.split("/")[0] in questions and "/" in rel
    }
    changed = sorted(rel for rel, sha in now.items() if checked.get(rel) != sha)
    if not changed:
        return None
    more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
    how = (
        "changed since make verify checked"
        if changed[0] in checked
        else "not checked by make verify"
    )
    return f"{changed[0]}{more}: {how}"


def numbers_tex(questions: list[QuestionNumbers]) -> str:
    """``numbers.tex``: one ``\\cwset{question/run}{field}{value}`` line per macro."""
    head = [
        "% Generated from summary.csv, stats.csv and ensembles.csv: one value per run",
        "% and field. In your prose: \\result{question/run}{field}, fields: test, testsd,",
        "% val, epoch, params, seeds, ci, p (and vote, meanprob for ensembles).",
        "\\makeatletter",
        "\\newcommand{\\cwset}[3]{\\expandafter\\def\\csname cw@#1@#2\\endcsname{#3}}",
        "\\newcommand{\\result}[2]{\\ifcsname cw@#1@#2\\endcsname"
        "\\csname cw@#1@#2\\endcsname\\else\\textbf{??}\\fi}",
        "\\makeatother",
    ]
    return (
        "\n".join(head + [macro_line(m.key, m.field, m.value) for q in questions for m in q.macros])
        + "\n"
    )


def macro_line(key: str, field: str, value: str) -> str:
    """One ``\\cwset`` line of ``numbers.tex`` (the value LaTeX-safe, commas braced)."""
    return f"\\cwset{{{key}}}{{{field}}}{{{tex(value).replace(',', '{,}')}}}"
