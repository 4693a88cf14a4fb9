"""The results page as one self-contained HTML file: the page's data (:func:`page_data`,
from :mod:`.page`) as one JSON blob, Plotly's bundled script (the ``plotly`` package's,
gzipped: 1.5 MB instead of 4.8 MB, unpacked by the browser's ``DecompressionStream``) and the
page's own small script and style (``page_assets/``). Nothing is fetched: a
Content-Security-Policy forbids every request, so the page opens offline from an unpacked zip.
The marking table (:mod:`coursework.verify.marks_page`) is drawn the same way, without Plotly.

Each question as the paper has it: the paper's questions first (:func:`questions.paper`),
each with the figures the built paper shows of it and a link to its PDF, a summary row per run
(``stats.csv``, at the paper's decimals), and each run in the colour and line of its figures
(:mod:`.styles`, the figures' own, which needs no matplotlib)."""

from __future__ import annotations

import base64
import gzip
import html
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from coursework.analysis import display, stats_table
from coursework.records import layout, results, spec, storage
from coursework.records.errors import CourseworkError, ReportError, ResultsError
from coursework.records.layout import ResultsSet
from coursework.report import page, questions, styles
from coursework.report.page import text

ASSETS = Path(__file__).parent / "page_assets"
SCRIPTS = {"results": ("results.js", "gradients.js", "question.js"), "marking": ("marking.js",)}
# what JSON may hold that would end the <script> it sits in, or HTML could misread
UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
MOST_FIGURES = 50  # of a question's part of the paper, shown
# a matplotlib line style as Plotly's dash; a marker as Plotly's symbol
DASHES = {"-": "solid", "--": "dash", ":": "dot", "-.": "dashdot"}
SYMBOLS = {"o": "circle", "s": "square", "^": "triangle-up", "D": "diamond", "v": "triangle-down"}


def asset(name: str) -> str:
    """A file of ``page_assets/`` (package data)."""
    return (ASSETS / name).read_text(encoding="utf-8")


def embedded_json(data: Any) -> str:
    """``data`` as JSON that can sit inside a ``<script>``: no ``<``, ``>`` or ``&`` in it
    (escaped as ``\\u003c`` ...), so a run named ``</script><script>...`` stays a string."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: UNSAFE[m.group()], text)


@cache
def plotly_gz() -> str:
    """Plotly's bundled ``plotly.min.js``, gzipped (no time stamp: the same bytes each
    time), in base64."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:
        raise ReportError(
            "the results page needs plotly, which is not installed: make setup installs it "
            f"(or pip install plotly) ({exc})"
        ) from exc
    packed = gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode("ascii")


def document(kind: str, title: str, data: Any) -> str:
    """The page of ``kind`` (``results`` or ``marking``): its body, style, data and scripts
    put into ``page.html`` in one pass (a placeholder inside the data stays as it is)."""
    parts = {
        "title": html.escape(title),
        "style": asset("page.css"),
        "body": asset(f"{kind}.html"),
        "data": embedded_json(data),
        "plotly": plotly_gz() if kind == "results" else "",
        "table": asset("table.js"),
        "script": "\n".join(asset(n) for n in SCRIPTS[kind]),
    }
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], asset("page.html"))


def results_html(rs: ResultsSet, out: Path | None = None) -> str:
    """The results page of a set, from its files, to be written to ``out`` (default:
    ``results/<set>/index.html``; its link to the paper's PDF is relative to it)."""
    data = page_data(rs)
    data["paper"]["pdf"] = pdf_link(rs, out)
    return document("results", f"Results: {rs.name}", data)


def pdf_link(rs: ResultsSet, out: Path | None) -> str | None:
    """The paper's PDF relative to the page written to ``out`` (default: the set's page);
    None where there is none, or it is not beside or below the page (no link to nowhere)."""
    pdf = rs.report_dir() / "report.pdf"
    if not pdf.is_file():
        return None
    rel = Path(os.path.relpath(pdf, (out or rs.page_file()).parent))
    return None if ".." in rel.parts else rel.as_posix()


def write(rs: ResultsSet, out: Path | None = None) -> Path:
    """Write the results page (default: ``results/<set>/index.html``); return its path."""
    path = Path(out) if out is not None else rs.page_file()
    storage.write_text(path, results_html(rs, path))
    return path


def run_looks(runs: dict[str, list[Any]]) -> dict[str, dict[str, str]]:
    """Each run of a question (run -> its complete seeds, in the spec's order, as the
    figures have them) as its figures draw it, in Plotly's words (:func:`plotly_style`)."""
    tuned = styles.tuned_runs(runs)
    return {name: plotly_style(st) for name, st in styles.run_styles(list(runs), tuned).items()}


def plotly_style(style: dict[str, Any]) -> dict[str, str]:
    """A run's figstyle (matplotlib's keywords) as the page's Plotly draws it: ``color``,
    ``dash`` and, past eight runs, ``marker``."""
    ls = style["ls"]
    dash = DASHES.get(ls) if isinstance(ls, str) else ",".join(f"{2 * x:g}px" for x in ls[1])
    out = {"color": str(style["color"]), "dash": dash or "solid"}
    if style.get("marker"):
        out["marker"] = SYMBOLS.get(style["marker"], "circle")
    return out


def paper_figures(rs: ResultsSet, question: str) -> list[dict[str, str]]:
    """The figures the built paper shows of a question, as its LaTeX has them (each figure's
    ``\\label{fig:<name>}``): name (``conv-val``) and where (``body``: ``<q>.tex``, or
    ``appendix``); none where no paper is built."""
    out = []
    for where, part in (("body", f"{question}.tex"), ("appendix", f"{question}-appendix.tex")):
        try:
            tex = (rs.report_dir() / part).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found = re.findall(r"\\label\{fig:([^}]{1,100})\}", tex)[:MOST_FIGURES]
        out += [{"name": name, "where": where} for name in dict.fromkeys(found)]
    return out


def summary(rows: list[dict[str, str]], digits: int) -> list[dict[str, Any]]:
    """A row per run of the question's ``stats.csv`` ``rows``: its seeds, the mean and sd of
    their test accuracy and its difference from the baseline, as numbers and as the paper's
    statistics table prints them (:func:`stats_table.stats_table`, ``digits`` decimals)."""
    try:
        lines, _ = stats_table.stats_table(rows, digits)
    except (KeyError, TypeError, ValueError):  # a stats.csv not training's
        return []
    return [
        {"run": text(r.get("run")), "n": page.number(r.get("n"))}
        | {k: page.number(r.get(k), 17) for k in ("mean", "sd", "diff")}
        | {"test": text(f"{x['mean']} ± {x['sd']}" if x["sd"] != "-" else x["mean"])}
        | {"delta": text(x["diff"]), **{k: text(x[k]) for k in ("ci", "p", "verdict", "note")}}
        for r, x in zip(rows, lines, strict=True)
    ]


def question_panel(
    rs: ResultsSet, question: str, paper: questions.Paper, bib: dict[str, str], stats: list
) -> dict[str, Any]:
    """What the page shows of one question beside its rows: its title, question and hypothesis,
    whether the paper has it and the figures it shows there (:func:`paper_figures`),
    its decimals (:func:`display.run_decimals`), its runs' colours and lines (their figures'),
    its summary, the appendix's confusion matrix and errors, the tuning studies."""
    s = spec.trained_spec(rs, question)
    runs: dict[str, list[results.SeedResult]] = {}
    digits = 2
    try:
        runs = results.load_question(rs, question, spec.run_order(rs, question))
        shown = page.appendix(runs) if runs else {}
        digits = display.run_decimals(runs) if runs else 2
    except (ResultsError, AttributeError, KeyError, TypeError, ValueError) as exc:  # not training's
        shown = {"unreadable": text(exc)}
    said = {
        k: text(page.cited(getattr(s, k), bib) if s is not None else "")
        for k in ("title", "research_question", "hypothesis")
    }
    return {
        "id": text(question),
        **said,
        "title": said["title"] or text(question),
        "paper": question in paper,
        "figures": paper_figures(rs, question) if question in paper else [],
        "digits": digits,
        "styles": {text(r): st for r, st in run_looks(runs).items()},
        "summary": summary([r for r in stats if r.get("question") == question], digits),
        **({"appendix": shown} if shown else {}),
        "studies": page.studies(rs, question),
    }


def page_data(rs: ResultsSet) -> dict[str, Any]:
    """Everything the page shows, as one JSON-able dict: the paper's questions first, in its
    order, then the others (the link to its PDF is the page's: :func:`pdf_link`)."""
    paper = questions.paper(rs)
    order = paper.first(*rs.questions())
    bib = page.bibliography()
    try:
        stats = stats_table.read_aggregate(rs, layout.STATS)
    except (CourseworkError, OSError, UnicodeDecodeError, ValueError, KeyError):
        stats = []
    rows, histories = page.runs_table(rs, order, paper, bib)
    return {
        "set": text(rs.name),
        "profile": text(rs.profile),
        "paper": {"questions": [text(q) for q in paper.ids], "built": paper.built},
        "colours": styles.COLOURS,
        "rows": rows,
        "curves": histories,
        "questions": [question_panel(rs, q, paper, bib, stats) for q in order],
        "provenance": page.provenance(rs),
    }
