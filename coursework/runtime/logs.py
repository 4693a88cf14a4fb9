"""What a command says while it works, through :mod:`logging`.

Every module of the package speaks through its own logger (``logging.getLogger(__name__)``,
under ``coursework``); nothing is configured at import. A command configures its output when it
starts (:func:`configure`: ``commands/cli.py``, a worker process, the sandbox's and the
cluster's entry points): each record becomes one line, its message alone, on standard output
(information) or standard error (warnings and errors), as the printed lines always were. The
stream is looked up when a line is written, so a test's capture or a redirected
``sys.stdout`` gets it. A program that embeds the package may configure ``coursework``'s logger
as it likes instead.
"""

from __future__ import annotations

import logging
import sys

ROOT = "coursework"


class Console(logging.Handler):
    """Each record as one line on ``sys.stdout`` or ``sys.stderr`` (``stream``), written in
    one piece and flushed, so lines of processes that share a terminal never mix."""

    def __init__(self, stream: str, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.stream = stream
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            out = getattr(sys, self.stream)
            out.write(self.format(record) + "\n")
            out.flush()
        except Exception:
            self.handleError(record)


def _information(record: logging.LogRecord) -> bool:
    return record.levelno < logging.WARNING


def configure() -> None:
    """Information on standard output and warnings on standard error, each line its message
    alone, for every logger of the package; a second call changes nothing."""
    logger = logging.getLogger(ROOT)
    if any(isinstance(h, Console) for h in logger.handlers):
        return
    out = Console("stdout")
    out.addFilter(_information)
    logger.addHandler(out)
    logger.addHandler(Console("stderr", logging.WARNING))
    logger.setLevel(logging.INFO)
    logger.propagate = False  # a root handler (a library's basicConfig) would say it twice
