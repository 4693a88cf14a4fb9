"""The marking folder's own names, and each submission's folder in it: named from the zip's
name by :func:`folder_name` (never ``.``, ``..``, empty, over :data:`NAME_LIMIT` characters or
a file of the marking folder's own; two zips never share one: :func:`assign`). Nothing outside
the marking folder is created or deleted (:func:`inside`, :func:`clear`)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from coursework.records import layout

SHEET, MARKS = "sheet", "marks"
PAGE = layout.PAGE  # index.html: the marking table as a page (marks_page.py), as a set's page
TOP_FILES = (f"{MARKS}.md", f"{MARKS}.csv", PAGE)  # what make mark writes in the marking folder
RESERVED = frozenset(n.casefold() for n in TOP_FILES)  # never a submission's folder
NAME_LIMIT = 64  # characters of a submission's folder name (file systems allow 255 bytes)


def folder_name(zip_name: str) -> str:
    """A safe folder name for the zip named ``zip_name``: its stem where that is made of
    letters, digits and ``_ . @ + -`` (not first: ``.`` or ``-``), is at most
    :data:`NAME_LIMIT` characters and is not a file of the marking folder's own
    (:data:`RESERVED`, letter case aside: ``marks.md.zip`` would stop the table being
    written); otherwise the stem made so, cut, and ``-`` plus 8 hex digits of the name's
    sha256 (so that ``s 1.zip`` and ``s?1.zip`` differ)."""
    stem = zip_name[:-4] if zip_name.lower().endswith(".zip") else zip_name
    safe = re.sub(r"[^A-Za-z0-9_.@+-]", "_", stem)
    safe = re.sub(r"^[.-]", "_", safe)
    if safe == stem and 0 < len(safe) <= NAME_LIMIT and safe.casefold() not in RESERVED:
        return safe
    digest = hashlib.sha256(zip_name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{safe[: NAME_LIMIT - 9] or 'submission'}-{digest}"


def owner(folder: Path) -> str | None:
    """The zip name a marked folder belongs to (its sheet's), or None."""
    try:
        return json.loads((folder / f"{SHEET}.json").read_text())["name"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def assign(marking: Path, zip_names: list[str]) -> dict[str, Path]:
    """Zip name -> its folder in ``marking``: :func:`folder_name`, with ``-2``, ``-3``, ...
    where another zip of this batch (letter case aside) or of an earlier marking has it."""
    out: dict[str, Path] = {}
    taken: set[str] = set()
    for name in zip_names:
        base = candidate = folder_name(name)
        n = 1
        while candidate.casefold() in taken or owner(marking / candidate) not in (None, name):
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate.casefold())
        out[name] = inside(marking, marking / candidate)
    return out


def inside(marking: Path, path: Path) -> Path:
    """``path``, after checking that it is a folder directly in ``marking`` (nothing outside
    the marking folder is ever created or deleted)."""
    path = Path(path)
    if path.parent.resolve() != Path(marking).resolve() or path.name in ("", ".", ".."):
        raise ValueError(f"{path}: not a folder of the marking folder {marking}")
    return path


def clear(marking: Path, path: Path) -> None:
    """Remove ``path`` (a folder in a submission's folder of ``marking``) if it is there."""
    if Path(path).parent.parent.resolve() != Path(marking).resolve():
        raise ValueError(f"{path}: not inside a submission's folder of {marking}")
    shutil.rmtree(path, ignore_errors=True)
