"""The shape of the report's numbers: what :mod:`coursework.analysis.tables` hands its two
readers (the report's templates and ``make verify``), every value a display string.

Kept apart from the code that computes the numbers so that both readers, and the modules
that build a question's numbers, depend on the shape alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

Record = dict[str, Any]  # a part of a run's record (its dataset, a layer), as the file holds it
Row = dict[str, str]  # a CSV row (``stats.csv``, ``ensembles.csv``, ``summary.csv``) as text


@dataclass
class TableRow:
    """One row of a table: the run, and its cells as display strings."""

    run: str  # the first column
    cells: list[str]  # the others, one per remaining column label


@dataclass
class Table:
    """A table as the report prints it: caption, column labels, LaTeX alignment, rows."""

    caption: str
    columns: list[str]  # labels, the run's first
    align: str  # LaTeX column types, e.g. "lrr"
    rows: list[TableRow]


@dataclass
class Facts:
    """The text of a question's methods and results paragraphs."""

    dataset: str
    shape: str  # "28×28×1"
    classes: str
    sizes: str  # "50,000 / 10,000 / 10,000": training / validation / test
    common: str  # the settings every run shares
    class_names: str
    seeds: str  # the runs' seeds in words: "2 seeds", "up to 3 seeds"
    baseline: str
    noise: str  # the sentence on which differences are within the noise
    not_complete: str
    tuning: str = ""  # how the tuned runs chose their parameters, on the validation split
    citation: str = ""  # the work to cite for a dataset known by name: "LeCun et al. 1998"
    cite: str = ""  # its BibTeX key: "lecun1998"
    deviations: str = ""  # what this profile changes against the question's full setting
    stats_note: str = ""  # why the main table has no interval or test (too few seeds)
    findings: str = ""  # the best run against the baseline, and what the seeds allow one to say


@dataclass
class Macro:
    """``\\result{key}{field}`` in the student's prose gives ``value``."""

    key: str  # "question/run"
    field: str  # test, testsd, val, epoch, params, seeds, ci, p, vote, meanprob
    value: str


TABLES = ("settings", "main", "config", "results", "stats", "architectures", "ensembles")


@dataclass
class QuestionNumbers:
    """Everything the report shows about one question, as display strings."""

    id: str
    title: str
    research_question: str
    hypothesis: str
    facts: Facts
    tables: dict[str, Table]  # by name: TABLES
    macros: list[Macro]

    def to_json(self) -> dict[str, Any]:
        """The plain dict ``report/numbers.json`` holds."""
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> QuestionNumbers:
        """Read back what :meth:`to_json` wrote (``report/numbers.json``)."""
        tables = {
            name: Table(
                t["caption"],
                t["columns"],
                t["align"],
                [TableRow(r["run"], r["cells"]) for r in t["rows"]],
            )
            for name, t in d["tables"].items()
        }
        return cls(
            d["id"],
            d["title"],
            d["research_question"],
            d["hypothesis"],
            Facts(**{f.name: d["facts"][f.name] for f in fields(Facts) if f.name in d["facts"]}),
            tables,
            [Macro(**m) for m in d["macros"]],
        )


def table(
    caption: str,
    columns: list[str],
    align: str,
    rows: Sequence[tuple[str, Sequence[object]]],
) -> Table:
    """A :class:`Table` whose cells are the ``str`` of what ``rows`` holds."""
    return Table(
        caption, columns, align, [TableRow(name, [str(c) for c in cells]) for name, cells in rows]
    )
