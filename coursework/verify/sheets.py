"""The marking folder's records: one folder and sheet per submission, and the table of all.

``<marking>/<folder>/sheet.{md,csv,json}`` per submission (and ``results.html``, its results
page), the folder named from the zip's name (:mod:`.folders`);
``<marking>/marks.{md,csv}`` rebuilt from every sheet in the marking folder
(:func:`write_marks`), so that marking one zip again never loses the others' rows;
``<marking>/index.html``, the same table as a page. Every string a submission wrote (its zip's
name, author, file names, what a check got) is text in them: :func:`_md` escapes each cell and
line of the Markdown, :mod:`.marks_page` the page's.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from coursework.analysis.checks import COLUMNS, Row
from coursework.records import storage
from coursework.verify.folders import MARKS, SHEET
from coursework.verify.verdicts import COUNTS, NONE, STOPPED, SUBMISSION_VERDICTS, Verdict, whole

RESULTS_PAGE = "results.html"  # a submission's results drawn by this checkout's code
VERDICTS = SUBMISSION_VERDICTS
BROKEN_ROWS = STOPPED  # a row that stopped the marking of its submission
MARK_COLUMNS = [
    "submission",
    "author",
    "unwritten",
    "questions",
    "pages",
    "page_limit",
    *COUNTS,
    "first_failure",
    "reruns_agreeing",
    "rerun_sample",
    "rerun_seed",
    "sandbox",
    "code_changed",
    "runs_by_handed_in_code",
    "verdict",
]
RERUN_FACTS = (
    "reruns_agreeing",
    "rerun_sample",
    "rerun_seed",
    "sandbox",
    "catch_chance",
    "rerun_engine",
    "limits",
)


@dataclass
class Sheet:
    """The marking of one submission: every check as a row, and the facts of its summary.

    ``reran``: every run (``question/run seed``) re-trained for this zip so far, kept
    across markings so that marking it again samples others.
    """

    name: str
    sha256: str
    options: dict
    rows: list[Row] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    # [name, +lines, -lines, how, +bytes, -bytes] (a sheet written before bytes: the first 4)
    changed_files: list[list] = field(default_factory=list)
    reran: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Row]:
        """The rows that did not pass (a re-run still pending is none)."""
        return [r for r in self.rows if not r.ok and r.verdict != Verdict.PENDING]

    @property
    def pending(self) -> list[Row]:
        """The re-runs sent to a cluster and not back yet."""
        return [r for r in self.rows if r.verdict == Verdict.PENDING]

    @property
    def verdict(self) -> Verdict:
        """``BROKEN`` (it could not be marked: the cause is on the sheet), ``FAIL`` or
        ``pass``."""
        if any(r.verdict in BROKEN_ROWS for r in self.rows):
            return Verdict.BROKEN
        if self.failures:
            return Verdict.FAIL
        return Verdict.PENDING if self.pending else Verdict.PASS

    @property
    def rerun_rows(self) -> list[Row]:
        """The rows of the re-runs."""
        return [r for r in self.rows if r.kind == "re-run"]

    @property
    def counts(self) -> tuple[int, int, int]:
        """Its checks: all, passed and failed (:data:`COUNTS`)."""
        passed = len(self.rows) - len(self.failures) - len(self.pending)
        return len(self.rows), passed, len(self.failures)

    def mark_row(self) -> dict:
        """The submission's row of ``marks.csv``."""
        first = self.failures[0] if self.failures else None
        return {
            "submission": self.name,
            **{k: self.facts.get(k, "") for k in MARK_COLUMNS if k in _FACT_COLUMNS},
            **dict(zip(COUNTS, self.counts, strict=True)),
            "verdict": self.verdict,
            "first_failure": "" if first is None else describe(first),
        }

    def to_json(self) -> dict:
        """``sheet.json``: the sheet, its rows as ``verification.csv`` has them."""
        return {**asdict(self), "rows": [r.csv() for r in self.rows]}

    @classmethod
    def from_json(cls, data: dict) -> Sheet:
        """The sheet of a ``sheet.json`` (:meth:`to_json`)."""
        rows = [
            Row(**{k: r[k] for k in ("run", "seed", "check", "file", "expected", "got", "verdict")})
            for r in data["rows"]
        ]
        return cls(
            data["name"],
            data["sha256"],
            data["options"],
            rows,
            data["facts"],
            data["changed_files"],
            list(data.get("reran", [])),
        )


_FACT_COLUMNS = (
    "author",
    "unwritten",
    "questions",
    "pages",
    "page_limit",
    "reruns_agreeing",
    "rerun_sample",
    "rerun_seed",
    "sandbox",
    "code_changed",
    "runs_by_handed_in_code",
)


def describe(row: Row) -> str:
    """A failure in a line: what, where, expected and got."""
    where = (
        row.file
        if row.run in (NONE, "")
        else f"{row.run}: {row.file}"
        if row.seed in (NONE, "")
        else f"{row.run} seed {row.seed}: {row.file}"
    )
    return f"{row.check} ({where}): expected {row.expected}, got {row.got} [{row.verdict}]"


# --------------------------------------------------------------------------- writing them


def write_sheet(sheet: Sheet, folder: Path) -> None:
    """``sheet.{csv,md,json}`` of ``sheet`` in its folder."""
    storage.write_csv(
        folder / f"{SHEET}.csv",
        ["submission", *COLUMNS],
        [{"submission": sheet.name, **r.csv()} for r in sheet.rows],
    )
    storage.write_text(folder / f"{SHEET}.md", sheet_markdown(sheet))
    storage.write_text(folder / f"{SHEET}.json", json.dumps(sheet.to_json(), indent=1) + "\n")


def read_sheet(folder: Path) -> Sheet | None:
    """The sheet of a folder marked before (None: none, or unreadable)."""
    try:
        return Sheet.from_json(json.loads((folder / f"{SHEET}.json").read_text()))
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


_FLAT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")


def _md(value: object) -> str:
    """``value`` as Markdown that renders as its text, for every cell and line of
    ``sheet.md`` and ``marks.md`` (a submission's strings are untrusted): on one line (line
    breaks, control and bidi characters a space: no row or table broken, no terminal escape),
    HTML's specials as entities (no tag, no script), Markdown's inline ones backslashed (no
    link, code, emphasis or cell boundary). Every value starts after fixed text on its line,
    so no block (heading, list) can start."""
    flat = _FLAT.sub(" ", str(value))
    return _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def sheet_markdown(sheet: Sheet) -> str:
    """``sheet.md``: the summary, the failures, notes and re-runs, and the checks by kind;
    every value through :func:`_md`."""
    f, row = sheet.facts, sheet.mark_row()

    def fact(key: str, default: str = "?") -> str:
        return _md(f.get(key, default))

    unwritten = f.get("unwritten", "?")
    lines = [
        f"# Marking sheet: {_md(sheet.name)}",
        "",
        f"- verdict: **{_md(sheet.verdict)}**",
        f"- author: {fact('author')}; title: {fact('title')}",
        f"- unwritten: {_md(unwritten)}"
        + (
            " (a note, not a failure: the paper built without them)"
            if unwritten not in ("none", "?")
            else ""
        ),
        f"- questions: {fact('questions')}",
        f"- body pages: {fact('pages')} (limit {_md(sheet.options.get('page_limit', '?'))})",
        f"- checks: {_md(row['passed'])} of {_md(row['checks'])} passed"
        + (f"; first failure: {_md(row['first_failure'])}" if sheet.failures else ""),
        f"- re-runs agreeing: {fact('reruns_agreeing', '-')}; sample: "
        f"{fact('rerun_sample', '-')} (secret seed {fact('rerun_seed', '-')}); "
        f"sandbox: {fact('sandbox', '-')}",
        f"- chance that one faked quoted run was re-trained: {fact('catch_chance', '-')}; "
        f"engine: {fact('rerun_engine', '-')}; limits: {fact('limits', '-')}",
        f"- code changed against the template: {fact('code_changed')}",
        f"- runs made by the handed-in code: {fact('runs_by_handed_in_code')}",
        f"- zip sha256: {_md(sheet.sha256)}",
        "",
    ]
    shown = [r for r in sheet.rows if not r.ok or r.verdict == Verdict.NOTE or r.kind == "re-run"]
    if shown:
        lines += [
            "## Failures, notes and re-runs",
            "",
            "| run | seed | check | file | expected | got | verdict |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            _cells(r.run, r.seed, r.check, r.file, r.expected, r.got, r.verdict) for r in shown
        ]
        lines.append("")
    lines += _by_kind(sheet)
    if sheet.changed_files:
        lines += [
            "",
            "## Files changed against the template",
            "",
            "| file | how | lines added | lines removed | bytes added | bytes removed |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            _cells(n, how, p, m, *(b + ["?", "?"])[:2]) for n, p, m, how, *b in sheet.changed_files
        ]
    return "\n".join(lines) + "\n"


def _by_kind(sheet: Sheet) -> list[str]:
    """The sheet's "Checks by kind" table: per kind of check, passed and all."""
    counts: dict[str, list[int]] = {}
    for r in sheet.rows:
        c = counts.setdefault(r.kind, [0, 0])
        c[0] += 1
        c[1] += r.ok
    lines = ["## Checks by kind", "", "| check | passed | of |", "| --- | ---: | ---: |"]
    return lines + [_cells(k, ok, n) for k, (n, ok) in counts.items()]


def _cells(*values: object) -> str:
    """A row of a Markdown table, each cell through :func:`_md`."""
    return "| " + " | ".join(_md(v) for v in values) + " |"


def table_path(marking: Path) -> Path:
    """``marks.md`` of the marking folder."""
    return Path(marking) / f"{MARKS}.md"


def all_sheets(marking: Path) -> list[Sheet]:
    """Every sheet in the marking folder, by submission name; a folder whose sheet cannot be
    read (half-written by a killed marking) is a BROKEN row naming it."""
    return [sheet for _, sheet in sheet_folders(marking)]


def sheet_folders(marking: Path) -> list[tuple[Path, Sheet]]:
    """Each submission's folder in ``marking`` with its sheet (:func:`all_sheets`)."""
    out = []
    for folder in sorted(p for p in Path(marking).iterdir() if p.is_dir()):
        if not (folder / f"{SHEET}.json").exists():
            continue
        sheet = read_sheet(folder)
        if sheet is None:
            sheet = Sheet(
                folder.name,
                "?",
                {"page_limit": "?"},
                [
                    whole(
                        "sheet",
                        f"{folder.name}/{SHEET}.json",
                        "readable",
                        "unreadable: mark it again",
                        Verdict.BROKEN,
                    )
                ],
            )
        out.append((folder, sheet))
    return sorted(out, key=lambda fs: fs[1].name)


def write_marks(marking: Path) -> list[Sheet]:
    """``marks.md`` and ``marks.csv`` from every sheet in ``marking``; return those sheets."""
    sheets = all_sheets(marking)
    rows = [s.mark_row() for s in sheets]
    storage.write_csv(Path(marking) / f"{MARKS}.csv", MARK_COLUMNS, rows)
    lines = ["| " + " | ".join(MARK_COLUMNS) + " |", "|" + " --- |" * len(MARK_COLUMNS)]
    lines += [_cells(*(r[c] for c in MARK_COLUMNS)) for r in rows]
    storage.write_text(table_path(marking), "\n".join(lines) + "\n")
    return sheets


def summary(sheets: list[Sheet], marking: Path) -> str:
    """``marked 14: 11 pass, 2 FAIL, 1 BROKEN (marking/marks.md)``."""
    counts = {v: sum(s.verdict == v for s in sheets) for v in VERDICTS}
    waiting = sum(s.verdict == Verdict.PENDING for s in sheets)
    return (
        f"marked {len(sheets)}: "
        + ", ".join(f"{n} {v}" for v, n in counts.items())
        + (f", {waiting} pending" if waiting else "")
        + f" ({table_path(marking)})"
    )


def keep_reruns(sheet: Sheet, before: Sheet | None) -> None:
    """A marking without re-runs keeps the last re-run results of the same zip."""
    if before is None or before.sha256 != sheet.sha256 or not before.rerun_rows:
        return
    sheet.rows += before.rerun_rows
    sheet.facts.update({k: before.facts[k] for k in RERUN_FACTS if k in before.facts})
