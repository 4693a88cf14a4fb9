"""``make verify`` on the report: every number of ``report/numbers.json`` against a
recomputation from the results, and every number written in ``report/numbers.tex`` and
``report/<question>.tex`` against ``numbers.json``, so that a number edited in the LaTeX
sources, or a results file edited after the report was built, is named."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from coursework.analysis import tables
from coursework.analysis.checks import InScope, Row, short
from coursework.analysis.contract import Facts, QuestionNumbers, TableRow
from coursework.records import storage
from coursework.records.layout import ResultsSet
from coursework.report import render as report
from coursework.report import sources
from coursework.verify.verdicts import NONE, Verdict, absent, whole


def cells(q: QuestionNumbers) -> dict[tuple[str, str, str], str]:
    """Every number a question shows, keyed by (run, table, column); text facts by
    (``-``, ``text``, name)."""
    out = {(NONE, "text", k): v for k, v in vars(q.facts).items()}
    for name, t in q.tables.items():
        for row in t.rows:
            out.update(
                {(row.run, name, col): v for col, v in zip(t.columns[1:], row.cells, strict=True)}
            )
    out.update({(m.key, "macro", m.field): m.value for m in q.macros})
    return out


def check_numbers(
    written: list[QuestionNumbers],
    fresh: list[QuestionNumbers],
    in_scope: InScope,
) -> list[Row]:
    """``report/numbers.json`` against a recomputation from the results, number by number."""
    rows = []
    new = {q.id: cells(q) for q in fresh}
    for q in written:
        if not in_scope(f"{q.id}/"):
            continue
        have, want = cells(q), new.get(q.id, {})
        bad = [
            (k, want.get(k, "(none)"), have.get(k, "(none)"))
            for k in sorted(set(have) | set(want))
            if have.get(k) != want.get(k)
        ]
        for (run, table, col), expected, got in bad:
            label = run if table == "macro" else f"{q.id}/{run}"
            rows.append(
                Row(
                    label,
                    NONE,
                    f"numbers.json {table}: {col}",
                    f"report/{report.NUMBERS}",
                    short(expected),
                    short(got),
                    Verdict.MISMATCH,
                )
            )
        if not bad:
            rows.append(
                Row(
                    q.id,
                    NONE,
                    "report numbers recomputed",
                    f"report/{report.NUMBERS}",
                    f"{len(want)} numbers",
                    f"{len(have)} numbers",
                )
            )
    return rows


TOKEN = "@@{}@@"
PATH_LINES = ("\\input{", "\\includegraphics", "\\cwown{")


def tokenised(q: QuestionNumbers) -> tuple[QuestionNumbers, dict[str, tuple[str, str]]]:
    """``q`` with every number replaced by a unique token, and token -> (run, column)."""
    where: dict[str, tuple[str, str]] = {}

    def token(run: str, column: str, value: str = "x") -> str:
        if not value:  # an empty value stays empty: the template may leave its block out
            return value
        t = TOKEN.format(len(where))
        where[t] = (run, column)
        return t

    facts = Facts(**{k: token(NONE, k, v) for k, v in vars(q.facts).items()})
    tables_ = {
        name: replace(
            t,
            rows=[
                TableRow(
                    token(r.run, t.columns[0], r.run),
                    [token(r.run, c, v) for c, v in zip(t.columns[1:], r.cells, strict=True)],
                )
                for r in t.rows
            ],
        )
        for name, t in q.tables.items()
    }
    return replace(q, facts=facts, tables=tables_), where


def check_tex(
    path: Path,
    rel: str,
    template: str,
    q: QuestionNumbers,
    paths: dict,
    templates: Path | None = None,
) -> list[Row]:
    """Every number in a question's ``.tex`` against ``numbers.json``: the file is split where
    the numbers go (rendering the template with tokens in their place shows where), and each
    piece is compared with the same piece of a rendering from the recorded numbers.
    ``templates``: the report templates the file was made from (default: this project's)."""
    want = report.render_part(template, q, paths, templates).splitlines()
    shape, where = tokenised(q)
    tokens = report.render_part(template, shape, paths, templates).splitlines()
    have = path.read_text().splitlines()
    if len(have) != len(want):
        return [
            Row(
                q.id,
                NONE,
                "report lines",
                rel,
                f"{len(want)} lines",
                f"{len(have)} lines",
                Verdict.MISMATCH,
            )
        ]
    rows = []
    for i, (a, b, t) in enumerate(zip(want, have, tokens, strict=True)):
        if a == b or a.lstrip().startswith(PATH_LINES):
            continue
        names = re.findall(r"@@\d+@@", t)
        pattern = "^" + "(.*?)".join(re.escape(x) for x in re.split(r"@@\d+@@", t)) + "$"
        ma, mb = re.match(pattern, a), re.match(pattern, b)
        if not names or ma is None or mb is None:
            rows.append(
                Row(q.id, NONE, f"report line {i + 1}", rel, short(a), short(b), Verdict.MISMATCH)
            )
            continue
        for name, x, y in zip(names, ma.groups(), mb.groups(), strict=True):
            if x != y:
                run, col = where[name]
                rows.append(
                    Row(
                        q.id if run == NONE else f"{q.id}/{run}",
                        NONE,
                        f"report table: {col}",
                        rel,
                        short(x),
                        short(y),
                        Verdict.MISMATCH,
                    )
                )
    return rows


def check_numbers_tex(path: Path, written: list[QuestionNumbers], in_scope: InScope) -> list[Row]:
    """``numbers.tex`` line by line against the macros of ``numbers.json``."""
    want = sources.numbers_tex(written).splitlines()
    have = path.read_text().splitlines() if path.exists() else []
    macros = [m for q in written for m in q.macros]
    head = len(want) - len(macros)
    if len(have) != len(want):
        return [
            whole(
                "numbers.tex lines",
                "report/numbers.tex",
                f"{len(want)} lines",
                f"{len(have)} lines",
                Verdict.MISMATCH,
            )
        ]
    rows = []
    for i, (a, b) in enumerate(zip(want, have, strict=True)):
        key, field = (
            (macros[i - head].key, macros[i - head].field) if i >= head else (NONE, "header")
        )
        if a != b and in_scope(key):
            rows.append(
                Row(
                    key,
                    NONE,
                    f"numbers.tex {field}",
                    "report/numbers.tex",
                    short(a),
                    short(b),
                    Verdict.MISMATCH,
                )
            )
    return rows or [
        whole(
            "numbers.tex = numbers.json",
            "report/numbers.tex",
            f"{len(macros)} macros",
            f"{len(macros)} macros",
        )
    ]


def written_numbers(rs: ResultsSet) -> list[QuestionNumbers] | None:
    """``report/numbers.json``: the numbers the report was built from (None: no report)."""
    path = rs.report_dir() / report.NUMBERS
    if not path.exists():
        return None
    return [QuestionNumbers.from_json(q) for q in storage.read_json(path)["questions"]]


def check_sources(
    folder: Path,
    label: str,
    written: list[QuestionNumbers],
    paths: dict,
    in_scope: InScope,
    templates: Path | None = None,
) -> list[Row]:
    """The numbers written in a folder of the report's sources (``numbers.tex`` and each
    question's ``.tex``) against ``numbers.json``; ``label``: the folder as rows name it;
    ``paths``: question id -> :func:`coursework.report.render.question_paths`."""
    rows = check_numbers_tex(folder / "numbers.tex", written, in_scope)
    for row in rows:
        row.file = f"{label}/numbers.tex"
    for q in written:
        if not in_scope(f"{q.id}/"):
            continue
        for template, name in report.PARTS.items():
            path, rel = folder / name.format(q.id), f"{label}/{name.format(q.id)}"
            if not path.exists():
                rows.append(absent("report section", rel, run=q.id))
                continue
            rows += check_tex(path, rel, template, q, paths[q.id], templates) or [
                Row(q.id, NONE, "report tables = numbers.json", rel)
            ]
    return rows


def check_report(
    rs: ResultsSet,
    in_scope: InScope,
    templates: Path | None = None,
) -> list[Row]:
    """The report's numbers: recomputed, and as written in ``numbers.tex`` and each
    ``<question>.tex`` (nothing to check if no report was built)."""
    written = written_numbers(rs)
    if written is None:
        return []
    fresh = tables.numbers(rs, order=[q.id for q in written])
    paths = {q.id: report.question_paths(rs, q, None, write=False) for q in written}
    rdir = rs.report_dir()
    return check_numbers(written, fresh, in_scope) + check_sources(
        rdir, rs.relative(rdir), written, paths, in_scope, templates
    )
