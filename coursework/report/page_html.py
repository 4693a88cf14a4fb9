"""The results page as one self-contained HTML file: the page's data (:mod:`.page`) as one
JSON blob, Plotly's bundled script (the ``plotly`` package's, gzipped: 1.5 MB instead of
4.8 MB, unpacked by the browser's ``DecompressionStream``) and the page's own small script
and style (``page_assets/``). Nothing is fetched: a Content-Security-Policy forbids every
request, so the page opens offline from an unpacked zip. The marking table
(:mod:`coursework.verify.marks_page`) is drawn the same way, without Plotly.

What the page shares with the paper's look is taken from the paper's code, never copied: each
run's colour and line (:func:`run_styles`, figstyle's own, compiled from its source so that
the page needs no matplotlib) and a spec's citations (:func:`cited`, ``[@key]`` as the
paper's fallback writes it, authors and year from the bibliography)."""

from __future__ import annotations

import ast
import base64
import gzip
import html
import io
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from coursework.records import storage
from coursework.records.errors import CourseworkError, ReportError
from coursework.records.layout import ResultsSet
from coursework.records.project import REPORT_TEMPLATES
from coursework.report.latex import SPEC_CITE

ASSETS = Path(__file__).parent / "page_assets"
SCRIPTS = {"results": ("results.js", "question.js"), "marking": ("marking.js",)}
# what JSON may hold that would end the <script> it sits in, or HTML could misread
UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
FIGSTYLE = Path(__file__).with_name("figstyle.py")
STYLE_NAMES = ("run_styles", "tuned_runs", "COLOURS")  # figstyle's, and what they use
# a matplotlib line style as Plotly's dash; a marker as Plotly's symbol
DASHES = {"-": "solid", "--": "dash", ":": "dot", "-.": "dashdot"}
SYMBOLS = {"o": "circle", "s": "square", "^": "triangle-up", "D": "diamond", "v": "triangle-down"}
BIB_ENTRY = re.compile(r"^\s*@(?!comment|preamble|string)\w+\s*[{(]\s*([^,\s]+)\s*,", re.I | re.M)


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
    from coursework.report.page import page_data

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


def png(image: np.ndarray) -> str:
    """An image in [0, 1] (H, W, 1 or 3) as a ``data:`` URI of a PNG (Pillow)."""
    from PIL import Image

    img = np.clip(np.nan_to_num(image.astype(np.float32)) * 255, 0, 255).astype(np.uint8)
    img = 255 - img[..., 0] if img.shape[-1] == 1 else img  # dark on light, as the appendix
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def write(rs: ResultsSet, out: Path | None = None) -> Path:
    """Write the results page (default: ``results/<set>/index.html``); return its path."""
    path = Path(out) if out is not None else rs.page_file()
    storage.write_text(path, results_html(rs, path))
    return path


@cache
def figstyle() -> dict[str, Any]:
    """figstyle's :func:`run_styles`, :func:`tuned_runs` and ``COLOURS``, with the names they
    use, compiled from its source: the page draws each run as the figures do, without figstyle's
    import of matplotlib (``make page`` stays quick) and without a second copy of its palette."""
    tree = ast.parse(FIGSTYLE.read_text(encoding="utf-8"))
    top: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            top[node.name] = node
        elif isinstance(node, ast.Assign):
            top.update((t.id, node) for t in node.targets if isinstance(t, ast.Name))
    wanted: set[str] = set()
    todo = list(STYLE_NAMES)
    while todo:
        name = todo.pop()
        if name in top and name not in wanted:
            wanted.add(name)
            todo += [n.id for n in ast.walk(top[name]) if isinstance(n, ast.Name)]
    lazy = ast.parse("from __future__ import annotations").body  # they name matplotlib's types
    body = lazy + [n for n in tree.body if any(top.get(name) is n for name in wanted)]
    code = compile(ast.Module(body, []), str(FIGSTYLE), "exec", dont_inherit=True)
    space: dict[str, Any] = {}
    exec(code, space)  # the project's own module, a part of it: no import, no matplotlib
    return space


def run_styles(names: list[str], tuned: set[str]) -> dict[str, dict[str, Any]]:
    """figstyle's :func:`run_styles`: run -> ``color``, ``ls`` and ``marker``."""
    styles: dict[str, dict[str, Any]] = figstyle()["run_styles"](names, tuned)
    return styles


def run_looks(runs: dict[str, list[Any]]) -> dict[str, dict[str, str]]:
    """Each run of a question (run -> its complete seeds, in the spec's order, as the
    figures have them) as its figures draw it, in Plotly's words (:func:`plotly_style`)."""
    tuned = figstyle()["tuned_runs"](runs)
    return {name: plotly_style(st) for name, st in run_styles(list(runs), tuned).items()}


def plotly_style(style: dict[str, Any]) -> dict[str, str]:
    """A run's figstyle (matplotlib's keywords) as the page's Plotly draws it: ``color``,
    ``dash`` and, past eight runs, ``marker``."""
    ls = style["ls"]
    dash = DASHES.get(ls) if isinstance(ls, str) else ",".join(f"{2 * x:g}px" for x in ls[1])
    out = {"color": str(style["color"]), "dash": dash or "solid"}
    if style.get("marker"):
        out["marker"] = SYMBOLS.get(style["marker"], "circle")
    return out


def bib_field(entry: str, name: str) -> str:
    """A field of a BibTeX entry as plain text: its braces balanced, LaTeX's accents and
    braces dropped (``Cire{\\c{s}}an`` -> ``Ciresan``); '' where it has none."""
    m = re.search(rf"\b{name}\s*=\s*", entry, re.I)
    if m is None:
        return ""
    value, depth = entry[m.end() :], 0
    if value.startswith("{"):
        for i, c in enumerate(value):
            depth += (c == "{") - (c == "}")
            if depth == 0:
                value = value[1:i]
                break
    else:
        value = re.split(r'[",}\n]', value.lstrip('"'), maxsplit=1)[0]
    return " ".join(re.sub(r"\\[A-Za-z]+\s*|\\.|[{}]", "", value).split())


def author_year(entry: str) -> str:
    """``Nielsen 2015``, ``Glorot and Bengio 2010``, ``Simard et al. 2003`` of an entry."""
    names = [a for a in re.split(r"\s+and\s+", bib_field(entry, "author")) if a.strip()]
    last = [n.split(",")[0].strip() if "," in n else n.split()[-1] for n in names]
    who = last[0] if len(last) == 1 else " and ".join(last) if len(last) == 2 else ""
    if len(last) > 2 or "others" in last:
        who = f"{last[0]} et al."
    return f"{who} {bib_field(entry, 'year')}".strip()


def bibliography() -> dict[str, str]:
    """Key -> authors and year, of the template's ``references.bib`` and of ``report.toml``'s
    bibliography (its entries win); a file that cannot be read adds nothing."""
    from coursework.report.settings import read_settings

    files = [REPORT_TEMPLATES / "references.bib"]
    try:
        own = read_settings().bibliography
    except CourseworkError:
        own = None
    out: dict[str, str] = {}
    for path in files + ([Path(own)] if own else []):
        try:
            bib = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        starts = [(m.start(), m.group(1)) for m in BIB_ENTRY.finditer(bib)] + [(len(bib), "")]
        for (start, key), (end, _) in zip(starts, starts[1:], strict=False):
            out[key] = author_year(bib[start:end]) or key
    return out


def cited(value: object, bib: dict[str, str]) -> str:
    """A spec's text with each ``[@key]`` or ``[@key, note]`` as ``(Authors Year, note)``,
    the key itself where ``bib`` lacks it: what the paper prints where the bibliography has no
    entry for it (``\\cwcite``), so that no raw key reaches the page."""

    def one(m: re.Match[str]) -> str:
        note = f", {m.group(2).strip()}" if m.group(2) else ""
        return f" ({bib.get(m.group(1), m.group(1))}{note})"

    return SPEC_CITE.sub(one, str(value)).strip()
