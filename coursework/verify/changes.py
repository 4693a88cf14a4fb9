"""What a student changed: the handed-in code against the template's commit it started from.

The submission records its git history (``SUBMISSION.json``); the newest of those commits that
this checkout of the template also has is the one the work started from. The handed-in files
are compared with that commit's: added, removed and changed files, lines and bytes added and
removed. Bytes count every file, so that a binary or non-UTF-8 file (a compiled
``sitecustomize.py``) never looks unchanged; a file past :data:`MAX_DIFF_BYTES` or
:data:`MAX_DIFF_LINES` is counted by its size alone, never diffed nor read whole, so that the
marker's time and memory do not grow with a hostile file.
"""

from __future__ import annotations

import difflib
import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from coursework.records.project import ROOT

NOT_CODE = ("results/", "submission/", "marking/")  # never handed in as code
MAX_DIFF_BYTES = 1 << 20  # the template's largest file is ~17 kB
MAX_DIFF_LINES = 20_000  # its longest ~400 lines: a diff stays ~10^7 steps at worst
CHUNK = 1 << 16  # bytes read at a time from a file too large to read whole
BINARY, TOO_LARGE = "binary", "too large to diff"


class FileChange(NamedTuple):
    """One file's change. ``note``: why its lines are not counted (:data:`BINARY`: a NUL
    byte or not UTF-8; :data:`TOO_LARGE`); its bytes are counted all the same."""

    lines_added: int
    lines_removed: int
    bytes_added: int
    bytes_removed: int
    note: str = ""


@dataclass
class Changes:
    """The handed-in code against template commit ``base`` (None: not found here)."""

    base: str | None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, FileChange] = field(default_factory=dict)  # added and removed too
    note: str = ""

    @property
    def lines(self) -> tuple[int, int]:
        """Lines added and removed, over every changed file."""
        c = self.changed.values()
        return sum(x.lines_added for x in c), sum(x.lines_removed for x in c)

    @property
    def bytes(self) -> tuple[int, int]:
        """Bytes added and removed, over every changed file."""
        c = self.changed.values()
        return sum(x.bytes_added for x in c), sum(x.bytes_removed for x in c)

    def summary(self) -> str:
        """The changes in a line, for the sheet (``none`` with the template's commit)."""
        if self.base is None:
            return f"unknown ({self.note})"
        files = len(self.changed)
        if not files:
            return f"none (template {self.base[:10]})"
        (plus, minus), (bplus, bminus) = self.lines, self.bytes
        return (
            f"{files} files, +{plus} -{minus} lines, +{bplus} -{bminus} bytes "
            f"(template {self.base[:10]})"
        )


def _git(*args: str, root: Path = ROOT, text: bool = True) -> Any:
    """Git's output for ``args`` in ``root`` (text, or bytes: ``text``); None where git
    fails or is not there."""
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=text, timeout=120, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def template_commits(root: Path = ROOT) -> set[str]:
    """Every commit of this checkout of the template (empty without git)."""
    out = _git("rev-list", "--all", root=root)
    return set(out.split()) if out else set()


def blob_id(data: bytes) -> str:
    """git's object id of a file's content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def file_blob_id(path: Path, size: int) -> str:
    """git's object id of the file ``path`` of ``size`` bytes, read :data:`CHUNK` at a time
    (never whole: it may be as large as the archive allows)."""
    h = hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _lines(data: bytes) -> list[bytes] | None:
    """A file's lines with their ends, or None for a binary one (a NUL byte, or not UTF-8)."""
    if b"\0" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return data.splitlines(keepends=True)


def _too_long(data: bytes) -> bool:
    """Whether ``data`` may hold over :data:`MAX_DIFF_LINES` lines (counted before it is
    split: ``\\n`` and ``\\r`` each end one at most)."""
    return data.count(b"\n") + data.count(b"\r") > MAX_DIFF_LINES


def count(old: bytes, new: bytes | None, new_size: int) -> FileChange:
    """The change from ``old`` (the template's file; ``b""``: none) to ``new`` (the handed-in
    file of ``new_size`` bytes; ``b""``: removed; None: past :data:`MAX_DIFF_BYTES`, not
    read). Text: its lines, and the bytes of the lines added and removed; binary, or too large
    to diff: the whole new size added and the old size removed."""
    if new is None or _too_long(new) or _too_long(old):
        return FileChange(0, 0, new_size, len(old), TOO_LARGE)
    a, b = _lines(old), _lines(new)
    if a is None or b is None:
        return FileChange(0, 0, len(new), len(old), BINARY)
    plus: list[bytes] = []
    minus: list[bytes] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        if tag != "equal":
            minus += a[i1:i2]
            plus += b[j1:j2]
    return FileChange(len(plus), len(minus), sum(map(len, plus)), sum(map(len, minus)))


def changes(code: dict[str, Path], history: list[str], root: Path = ROOT) -> Changes:
    """``code``: the handed-in files (name relative to the project -> file); ``history``: the
    submission's commits, newest first."""
    known = template_commits(root)
    if not known:
        return Changes(None, note="no git history in this checkout of the template")
    base = next((c for c in history if c in known), None)
    if base is None:
        return Changes(
            None,
            note="none of the submission's commits is in this checkout (git pull the template)",
        )
    tree = _git("ls-tree", "-r", "--full-tree", base, root=root) or ""
    template = {}
    for line in tree.splitlines():
        meta, _, name = line.partition("\t")
        if meta.split()[1] == "blob":
            template[name] = meta.split()[2]

    def old(name: str) -> bytes:
        return _git("cat-file", "blob", template[name], root=root, text=False) or b""

    out = Changes(base)
    for name, path in sorted(code.items()):
        size = path.stat().st_size
        data = path.read_bytes() if size <= MAX_DIFF_BYTES else None
        blob = blob_id(data) if data is not None else file_blob_id(path, size)
        if name not in template:
            out.added.append(name)
            out.changed[name] = count(b"", data, size)
        elif blob != template[name]:
            out.changed[name] = count(old(name), data, size)
    for name in sorted(set(template) - set(code)):
        if not name.startswith(NOT_CODE):
            out.removed.append(name)
            out.changed[name] = count(old(name), b"", 0)
    return out
