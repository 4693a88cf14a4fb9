"""What a student changed: the handed-in code against the template's commit it started from.

The submission records its git history (``SUBMISSION.json``); the newest of those commits that
this checkout of the template also has is the one the work started from. The handed-in files
are compared with that commit's: added, removed and changed files, and lines added and removed.
"""

from __future__ import annotations

import difflib
import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coursework.records.project import ROOT

NOT_CODE = ("results/", "submission/", "marking/")  # never handed in as code


@dataclass
class Changes:
    """The handed-in code against template commit ``base`` (None: not found here)."""

    base: str | None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # every file that differs (added and removed ones too) -> lines (added, removed)
    changed: dict[str, tuple[int, int]] = field(default_factory=dict)
    note: str = ""

    @property
    def lines(self) -> tuple[int, int]:
        """Lines added and removed, over every changed file."""
        return (sum(a for a, _ in self.changed.values()), sum(r for _, r in self.changed.values()))

    def summary(self) -> str:
        """The changes in a line, for the sheet (``none`` with the template's commit)."""
        if self.base is None:
            return f"unknown ({self.note})"
        files = len(self.changed)
        if not files:
            return f"none (template {self.base[:10]})"
        plus, minus = self.lines
        return f"{files} files, +{plus} -{minus} lines (template {self.base[:10]})"


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


def _lines(data: bytes) -> list[str] | None:
    """A file's lines, or None for a binary one (a NUL byte, or not UTF-8)."""
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return None


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
    out = Changes(base)
    for name, path in sorted(code.items()):
        data = path.read_bytes()
        if name not in template:
            lines = _lines(data)
            out.added.append(name)
            out.changed[name] = (len(lines or []), 0)
        elif blob_id(data) != template[name]:
            old = _git("cat-file", "blob", template[name], root=root, text=False) or b""
            a, b = _lines(old), _lines(data)
            if a is None or b is None:
                out.changed[name] = (0, 0)
                continue
            diff = list(difflib.unified_diff(a, b, lineterm="", n=0))
            out.changed[name] = (
                sum(d.startswith("+") and not d.startswith("+++") for d in diff),
                sum(d.startswith("-") and not d.startswith("---") for d in diff),
            )
    for name in sorted(set(template) - set(code)):
        if not name.startswith(NOT_CODE):
            old = _git("cat-file", "blob", template[name], root=root, text=False) or b""
            out.removed.append(name)
            out.changed[name] = (0, len(_lines(old) or []))
    return out
