"""Where the project itself is: its root folder (the clone), which holds ``experiments/``,
``locks/``, ``models/`` and ``report_templates/``, wherever a command is run from; which of its
files are its code, and the digest of the code that trains (recorded in every ``run.json``, so
a marker can tell whether the runs were made by the code handed in)."""

from __future__ import annotations

import hashlib
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"
LOCKS = ROOT / "locks"
REPORT_TEMPLATES = ROOT / "report_templates"
# without git: the project's own files and folders
CODE = (
    "coursework",
    "models",
    "experiments",
    "report_templates",
    "notebooks",
    "tests",
    ".ci",
    "locks",
    "Makefile",
    "README.md",
    "pyproject.toml",
    "report.toml",
)
TRAINING_CODE = ("coursework/", "models/")  # what the digest covers: the Python that trains


def code_files(root: Path = ROOT) -> list[Path]:
    """The project's files as git sees them (tracked, or new and not ignored); without git,
    the project's own folders. Never ``__pycache__``."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.splitlines()
        paths = [root / p for p in out]
    except (OSError, subprocess.SubprocessError):
        paths = [
            p
            for name in CODE
            for p in (
                [root / name] if (root / name).is_file() else sorted((root / name).rglob("*"))
            )
        ]
    return sorted(p for p in paths if p.is_file() and "__pycache__" not in p.parts)


def code_digest(files: dict[str, Path]) -> str:
    """sha256 over the training code among ``files`` (name relative to the project root, with
    '/' -> path): every ``.py`` file under ``coursework/`` and ``models/``, name and content."""
    h = hashlib.sha256()
    for name in sorted(files):
        if name.startswith(TRAINING_CODE) and name.endswith(".py"):
            h.update(f"{name}\0{hashlib.sha256(files[name].read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()


@cache
def project_digest() -> str:
    """:func:`code_digest` of this project's code, as it is now (once per process)."""
    return code_digest({p.relative_to(ROOT).as_posix(): p for p in code_files()})
