"""Structured progress: one JSON object per line, for a process that follows training.

The human lines a command says (logged: :mod:`coursework.runtime.logs`) stay as they are;
beside them, where the environment variable :data:`ENV` names a file, every event is appended
to it as one JSON line: ``status`` (a line about the command: the backend, the plan, a run
skipped), ``run_started``, ``epoch`` (its metrics) and ``run_finished`` (its status and
metrics). The lab book names the file and reads it (:func:`read`) instead of parsing the
printed text. Worker processes inherit the variable, and each event is one short append, so
their lines never mix. What every event of a run says of it (its question, run and seed) is
:func:`scope`'s, a context variable: nested scopes and threads never see one another's.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

ENV = "COURSEWORK_EVENTS"

log = logging.getLogger(__name__)

# what every event says now (the question, run and seed being trained): scoped to a context,
# so that a thread, a worker or a nested scope never sees another's
_scope: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "events_scope", default=MappingProxyType({})
)


@contextlib.contextmanager
def scope(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (e.g. ``question``, ``run``, ``seed``) to every event emitted inside."""
    token = _scope.set({**_scope.get(), **fields})
    try:
        yield
    finally:
        _scope.reset(token)


def emit(event: str, **fields: Any) -> None:
    """Append one event to the file :data:`ENV` names (nothing where it names none)."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"event": event, **_scope.get(), **fields}, default=str)
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def say(text: str) -> None:
    """Say a status line (logged, see :mod:`coursework.runtime.logs`) and emit it as a
    ``status`` event."""
    log.info(text, stacklevel=2)
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
