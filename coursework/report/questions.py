"""The paper's questions: the one place that decides them, for the report, ``make verify``,
``make submission`` and the results page.

``make report`` builds the questions ``report.toml`` chooses (or ``QUESTIONS="a b"``), in its
order; where it chooses none, every question with results. Once built, the paper's
``report/numbers.json`` records them, and that record is what every later command reads: verify
re-trains and reports on them, the submission hands them in, the page shows them first. Where
``report.toml`` now chooses others than the paper built, :func:`mismatch` says so in one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from coursework.records import storage
from coursework.records.errors import CourseworkError, ReportError, ResultsError
from coursework.records.layout import ResultsSet
from coursework.report.settings import Settings, read_settings

NUMBERS = "numbers.json"  # in report/: the paper's numbers, and its questions in order


@dataclass(frozen=True)
class Paper:
    """The paper's questions, in its order; ``built``: as the built paper records them (its
    ``numbers.json``), else as ``report.toml`` chooses them now (no paper built yet)."""

    ids: tuple[str, ...]
    built: bool

    def __contains__(self, question: object) -> bool:
        return question in self.ids

    def first(self, *others: str) -> list[str]:
        """``others`` (questions), the paper's first in its order, then the rest sorted."""
        return [q for q in self.ids if q in others] + sorted(set(others) - set(self.ids))


def choose(settings: Settings, available: list[str], other_data: bool = False) -> list[str]:
    """The questions a report of ``settings`` holds, of those with complete runs
    (``available``): ``settings.questions`` in its order, else all; a chosen question without
    complete runs is one ReportError naming ``report.toml``'s field. ``other_data``: the
    results of a question or two on other data (``DATASET=``, a set of its own): the chosen
    ones it has, else all it has, and a note says so."""
    if not settings.questions:
        return list(available)
    missing = [q for q in settings.questions if q not in available]
    if missing and other_data:
        mine = [q for q in settings.questions if q in available] or list(available)
        print(
            f"note: {settings.source.name} chooses {', '.join(settings.questions)}; these "
            f"results on other data have {', '.join(available)}: the report holds {', '.join(mine)}"
        )
        return mine
    if missing:
        raise ReportError(
            f"{settings.source}: questions: no complete runs of {', '.join(missing)}"
            f" (questions with results: {', '.join(available) or 'none'})"
        )
    return list(settings.questions)


def built(rs: ResultsSet) -> list[str]:
    """The questions of the paper built, as its ``report/numbers.json`` records them; a
    ReportError saying to build it where there is none (or it is unreadable)."""
    path = rs.report_dir() / NUMBERS
    again = f"build the report again (make report PROFILE={rs.profile})"
    if not path.exists():
        raise ReportError(f"{path} does not exist: {again}")
    try:
        ids = [q["id"] for q in storage.read_json(path)["questions"]]
    except (KeyError, TypeError) as exc:
        raise ReportError(f"{path}: no list of questions with ids: {again}") from exc
    except ResultsError as exc:
        raise ReportError(f"{exc}: {again}") from exc
    if not ids or not all(isinstance(q, str) and q and "/" not in q for q in ids):
        raise ReportError(f"{path}: no list of questions with ids: {again}")
    return ids


def paper(rs: ResultsSet) -> Paper:
    """The paper's questions: the built paper's where there is one, else ``report.toml``'s
    choice among the questions with runs (all of them where it chooses none, or cannot be
    read: the report names that mistake when it is built)."""
    try:
        return Paper(tuple(built(rs)), built=True)
    except ReportError:
        pass
    available = rs.questions()
    try:
        chosen = [q for q in read_settings().questions if q in available]
    except CourseworkError:
        chosen = []
    return Paper(tuple(chosen or available), built=False)


def mismatch(rs: ResultsSet) -> str | None:
    """One line where ``report.toml`` chooses other questions than the paper built has (None
    where they agree, no paper is built, or ``report.toml`` chooses none)."""
    try:
        ids = built(rs)
        wanted = read_settings().questions
    except CourseworkError:
        return None
    if not wanted or wanted == ids:
        return None
    return (
        f"note: the report built ({rs.report_dir() / NUMBERS}) has the questions "
        f"{', '.join(ids)}; report.toml now chooses {', '.join(wanted)}: "
        f"make report PROFILE={rs.profile} builds that paper"
    )
