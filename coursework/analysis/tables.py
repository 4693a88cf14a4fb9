"""Every number the report shows, from the results folder alone: no Keras, no model built.

:func:`numbers` turns the run records (``run.json``), ``stats.csv`` and ``ensembles.csv`` of
each question, with its recorded spec, into plain data: text facts and tables whose cells are
display strings (accuracies in %). The report renders exactly these strings and saves them as
``report/numbers.json``; ``make verify`` recomputes them and compares cell by cell.

The contract between this module and its two readers (the report's templates and ``verify``)
is :class:`QuestionNumbers` (:mod:`~coursework.analysis.contract`): facts, tables and
``\\result`` macros, every value a string. The numbers' formats live in
:mod:`~coursework.analysis.display`, the settings in words in :mod:`~coursework.analysis.words`,
the statistics table in :mod:`~coursework.analysis.stats_table` and one question's numbers in
:mod:`~coursework.analysis.question`.
"""

from __future__ import annotations

from coursework.analysis.contract import QuestionNumbers
from coursework.analysis.question import question
from coursework.analysis.stats_table import read_aggregate
from coursework.records import layout, spec, storage
from coursework.records.layout import ResultsSet


def numbers(rs: ResultsSet, order: list[str] | None = None) -> list[QuestionNumbers]:
    """:func:`question` for every question with results, in ``order`` (default: the project's
    questions first, in file-name order)."""
    stats_rows = read_aggregate(rs, layout.STATS)
    ensemble_rows = read_aggregate(rs, layout.ENSEMBLES)
    order = order if order is not None else spec.all_questions()
    present = sorted(
        rs.questions(),
        key=lambda q: (order.index(q) if q in order else len(order), q),
    )
    out = [question(rs, q, stats_rows, ensemble_rows) for q in present]
    return [q for q in out if q is not None]


def environment(rs: ResultsSet) -> list[list[str]]:
    """The environment of the runs (from the first run record): [label, value] rows."""
    paths = rs.record_paths()
    if not paths:
        return []
    e = storage.read_record(paths[0]).environment
    gpus = ", ".join(g.get("name") or g.get("device", "") for g in e.get("gpus", [])) or "none"
    return [
        ["Python", e["python"]],
        ["Backend", f"{e['backend']} {e['backend_version']}"],
        ["Keras", e["keras"]],
        ["NumPy", e["numpy"]],
        ["Platform", e["platform"]],
        ["CPU", f"{e['cpu']} ({e.get('cpu_count')} cores)"],
        ["GPU", gpus],
    ]
