"""The results page as one self-contained HTML file: the page's data (:mod:`.page`) as one
JSON blob, Plotly's bundled script (the ``plotly`` package's, gzipped: 1.5 MB instead of
4.8 MB, unpacked by the browser's ``DecompressionStream``) and the page's own small script
and style (``page_assets/``). Nothing is fetched: a Content-Security-Policy forbids every
request, so the page opens offline from an unpacked zip. The marking table
(:mod:`coursework.verify.marks_page`) is drawn the same way, without Plotly."""

from __future__ import annotations

import base64
import gzip
import html
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from coursework.records import storage
from coursework.records.errors import ReportError
from coursework.records.layout import ResultsSet

ASSETS = Path(__file__).parent / "page_assets"
SCRIPTS = {"results": ("results.js", "question.js"), "marking": ("marking.js",)}
# what JSON may hold that would end the <script> it sits in, or HTML could misread
UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


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


def results_html(rs: ResultsSet) -> str:
    """The results page of a set, from its files."""
    from coursework.report.page import page_data

    return document("results", f"Results: {rs.name}", page_data(rs))


def write(rs: ResultsSet, out: Path | None = None) -> Path:
    """Write the results page (default: ``results/<set>/index.html``); return its path."""
    path = Path(out) if out is not None else rs.page_file()
    storage.write_text(path, results_html(rs))
    return path
