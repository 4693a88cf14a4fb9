"""What a check found, spelled once: the verdicts of ``verification.csv`` and marking sheets.

:class:`Verdict` is a ``StrEnum``, so a row's verdict is written to CSV, JSON and markdown as
the same plain string as ever; the rows themselves are :class:`coursework.analysis.checks.Row`
(``analysis`` sits below ``verify``). :func:`whole` and :func:`absent` build the rows that
belong to no run and no seed (``-``), which most checks of files and reports are.
"""

from __future__ import annotations

import enum

from coursework.analysis.checks import Row

NONE = "-"  # the run or seed of a row about the results set, or a submission, as a whole
ABSENT = "missing"  # what a check got where a file, a row or a run is not there


class Verdict(enum.StrEnum):
    """A row's verdict (``OK`` and ``NOTE`` pass) or a submission's (``PASS``, ``FAIL``,
    ``BROKEN``)."""

    OK = "ok"
    NOTE = "note"  # worth reading, not a failure (other package versions, runs not trained)
    EDITED = "EDITED"  # a file whose sha256 is not the one recorded
    MISMATCH = "MISMATCH"  # a value that is not the one recomputed
    MISSING = "MISSING"  # a file, row or run that should be there
    UNLISTED = "UNLISTED"  # a file no manifest or listing names
    STALE = "STALE"  # a figure not drawn from these results
    UNRESOLVED = "UNRESOLVED"  # a \result of the prose with no macro
    FAILED = "FAILED"  # the report's sources did not compile
    NOT_RUN = "NOT RUN"  # a re-run that could not train
    BROKEN = "BROKEN"  # the marking of a submission stopped: the cause is on its sheet
    BAD_ARCHIVE = "BAD ARCHIVE"  # a zip refused before unpacking
    PASS = "pass"  # a submission with no failure
    FAIL = "FAIL"  # a submission with a failure


SUBMISSION_VERDICTS = (Verdict.PASS, Verdict.FAIL, Verdict.BROKEN)
STOPPED = (Verdict.BROKEN, Verdict.BAD_ARCHIVE)  # a row that stopped its submission's marking
COUNTS = ("checks", "passed", "failed")  # marks.csv's counts of a sheet's rows: all, pass, fail


def passed(good: bool) -> Verdict:
    """``ok`` if ``good``, else ``MISMATCH``: a value against the one recomputed."""
    return Verdict.OK if good else Verdict.MISMATCH


def whole(
    check: str,
    file: str,
    expected: str = "",
    got: str = "",
    verdict: Verdict = Verdict.OK,
) -> Row:
    """A row about the results set or the submission as a whole: no run, no seed."""
    return Row(NONE, NONE, check, file, expected, got, verdict)


def absent(
    check: str,
    file: str,
    expected: str = "present",
    run: str = NONE,
    seed: str = NONE,
) -> Row:
    """A row for what is not there (got ``missing``, verdict ``MISSING``)."""
    return Row(run, seed, check, file, expected, ABSENT, Verdict.MISSING)
