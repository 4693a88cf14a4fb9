"""What a check found, spelled once: the verdicts of ``verification.csv`` and marking sheets.

:class:`Verdict` (a ``StrEnum``: a verdict is written to CSV, JSON and markdown as the same
plain string as ever) and the rows, :class:`Row`, live in :mod:`coursework.analysis.checks`
(``analysis`` sits below ``verify``, and checks too). :func:`whole` and :func:`absent` build
the rows that belong to no run and no seed (``-``), which most checks of files and reports are.
"""

from __future__ import annotations

from coursework.analysis.checks import Row, Verdict

NONE = "-"  # the run or seed of a row about the results set, or a submission, as a whole
ABSENT = "missing"  # what a check got where a file, a row or a run is not there


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
