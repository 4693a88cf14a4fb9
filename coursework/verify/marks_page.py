"""``<marking>/index.html``: the marking table as one page, a row per submission with every
column ``marks.md`` has (questions, unwritten, pages, checks, re-runs, code changed, runs made
by the handed-in code, verdict), each linking to its sheet and to its results page,
``<folder>/results.html``, which :func:`results_page` draws with this checkout's code from
the results the submission hands in (the student's own ``index.html`` is code nobody
checked: it is never what the marker opens). Sortable and filterable, as the results page's
table; every string of a sheet is shown as text."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from coursework.records import storage
from coursework.records.layout import ResultsSet
from coursework.report import page_html
from coursework.report.page import text
from coursework.verify import folders, sheets
from coursework.verify.verdicts import COUNTS

NUMBERS = {"pages", "page_limit", *COUNTS}  # columns that sort as numbers
LABELS = {
    "page_limit": "limit",
    "reruns_agreeing": "re-runs agreeing",
    "rerun_sample": "re-run sample",
}
LABELS |= {"rerun_seed": "re-run seed", "runs_by_handed_in_code": "runs by the handed-in code"}


def link(marking: Path, path: Path) -> str | None:
    """``path`` (in ``marking``) as a relative link, each part quoted; None: no such file."""
    if not path.is_file():
        return None
    return "/".join(quote(part, safe="") for part in path.relative_to(marking).parts)


def rows(marking: Path) -> list[dict]:
    """One row per sheet of the marking folder, with its links."""
    out = []
    for folder, sheet in sheets.sheet_folders(marking):
        out.append(
            {
                **{k: text(v) for k, v in sheet.mark_row().items()},
                "sheet": link(marking, folder / f"{folders.SHEET}.md"),
                "page": link(marking, folder / sheets.RESULTS_PAGE),
            }
        )
    return out


def columns() -> list[dict[str, object]]:
    """The table's columns: ``marks.md``'s (:data:`sheets.MARK_COLUMNS`, in its order), then
    the link to the results page; each with its label and whether it sorts as a number."""
    out: list[dict[str, object]] = [
        {"key": k, "label": LABELS.get(k, k.replace("_", " ")), "num": k in NUMBERS}
        for k in sheets.MARK_COLUMNS
    ]
    return out + [{"key": "page", "label": "results", "num": False}]


def write(marking: Path) -> Path:
    """Write ``<marking>/index.html`` from every sheet there; return its path."""
    marking = Path(marking)
    path = marking / folders.PAGE
    data = {"marking": marking.resolve().name, "columns": columns(), "rows": rows(marking)}
    storage.write_text(path, page_html.document("marking", "Marking", data))
    return path


def results_page(rs: ResultsSet, folder: Path) -> Path:
    """A submission's results page, ``<folder>/results.html``, drawn from its handed-in
    results set ``rs`` by this checkout's code."""
    return page_html.write(rs, Path(folder) / sheets.RESULTS_PAGE)
