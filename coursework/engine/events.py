"""Structured progress: one JSON object per line, for a process that follows training.

The human lines a command prints stay as they are; beside them, where the environment
variable :data:`ENV` names a file, every event is appended to it as one JSON line: ``status``
(a line about the command: the backend, the plan, a run skipped), ``run_started``, ``epoch``
(its metrics) and ``run_finished`` (its status and metrics). The lab book names the file and
reads it (:func:`read`) instead of parsing the printed text. Worker processes inherit the
variable, and each event is one short append, so their lines never mix.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENV = "COURSEWORK_EVENTS"

_scope: dict[str, Any] = {}  # what every event of this process says now (the run and seed)


@contextlib.contextmanager
def scope(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (e.g. ``question``, ``run``, ``seed``) to every event emitted inside."""
    before = dict(_scope)
    _scope.update(fields)
    try:
        yield
    finally:
        _scope.clear()
        _scope.update(before)


def emit(event: str, **fields: Any) -> None:
    """Append one event to the file :data:`ENV` names (nothing where it names none)."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"event": event, **_scope, **fields}, default=str)
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def say(text: str) -> None:
    """Print a status line (as before) and emit it as a ``status`` event."""
    print(text, flush=True)
    emit("status", text=text)


class Reader:
    """The events appended to a file since the last :meth:`read` (a partly written last line
    waits for the next read)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        return [json.loads(line) for line in chunk[:end].decode("utf-8").splitlines() if line]
