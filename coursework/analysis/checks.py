"""One check of ``make verify``: a row of ``verification.csv``, and the table a marker reads."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

COLUMNS = ["run", "seed", "check", "kind", "file", "expected", "got", "verdict"]
# which runs a check looks at: InScope("question/run") is True for those in scope
InScope = Callable[[str], bool]


class Verdict(enum.StrEnum):
    """A row's verdict (``OK`` and ``NOTE`` pass; ``PENDING`` neither passes nor fails) or a
    submission's (``PASS``, ``FAIL``, ``BROKEN``, ``PENDING``)."""

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
    PENDING = "pending"  # a re-run sent to a cluster, not back yet; a submission awaiting one
    PASS = "pass"  # a submission with no failure
    FAIL = "FAIL"  # a submission with a failure


# a note (other versions than the lock's, runs not trained) passes
PASSING = (Verdict.OK, Verdict.NOTE)


@dataclass
class Row:
    """``run`` is ``question/run`` (or ``-``), ``file`` relative to ``<results>/<profile>``;
    ``verdict`` is ``ok``, ``note`` (worth reading, not a failure: other package versions than
    the lock's) or what went wrong (``EDITED``, ``MISMATCH``, ``MISSING``, ...)."""

    run: str
    seed: str
    check: str
    file: str
    expected: str = ""
    got: str = ""
    verdict: Verdict = Verdict.OK

    @property
    def ok(self) -> bool:
        """Whether the check passed (a note passes)."""
        return self.verdict in PASSING

    @property
    def kind(self) -> str:
        """The group a check is counted in: ``re-run`` or the check's name before any ':'."""
        return "re-run" if self.check.startswith("re-run") else self.check.split(":")[0]

    def csv(self) -> dict[str, Any]:
        """The row as ``verification.csv`` writes it (:data:`COLUMNS`)."""
        return {
            "run": self.run,
            "seed": self.seed,
            "check": self.check,
            "kind": self.kind,
            "file": self.file,
            "expected": self.expected,
            "got": self.got,
            "verdict": self.verdict,
        }


def short(value: object, width: int = 40) -> str:
    """A value cut to ``width`` characters for the table a marker reads."""
    text = str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def table(rows: list[Row]) -> str:
    """The rows worth reading: every failure and every re-run, plus a count of the rest."""
    shown = [r for r in rows if not r.ok or r.kind == "re-run" or r.verdict == "note"]
    head = ["run", "seed", "check", "expected", "got", "verdict"]
    cells = [
        [
            short(r.run, 32),
            r.seed,
            short(r.check, 64),
            short(r.expected, 20),
            short(r.got, 20),
            r.verdict,
        ]
        for r in shown
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *cells, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    if not cells:
        lines = ["no failures (and no re-runs asked for)"]
    counts: dict[str, list[int]] = {}
    for r in rows:
        c = counts.setdefault(r.kind, [0, 0])
        c[0] += 1
        c[1] += r.ok
    lines.append("")
    lines += [f"  {kind:36s} {ok}/{n} ok" for kind, (n, ok) in counts.items()]
    return "\n".join(lines)
