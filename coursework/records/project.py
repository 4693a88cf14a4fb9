"""Where the project itself is: its root folder (the clone), which holds ``experiments/``,
``locks/``, ``models/`` and ``report_templates/``, wherever a command is run from; which of its
files are its code, and the digest of the code that trains (recorded in every ``run.json``, so
a marker can tell whether the runs were made by the code handed in)."""

from __future__ import annotations

import ast
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


def code_digest(files: dict[str, Path], builder: str | None = None) -> str:
    """sha256 over the training code among ``files`` (name relative to the project root, with
    '/' -> path), name and content: every ``.py`` file under ``coursework/``, and of
    ``models/`` those a run of ``builder`` (``"conv:build"``) imports (:func:`models_used`;
    all of them where None). A question added in ``models/`` is no change to the code of the
    runs of the others."""
    used = models_used(files, builder) if builder is not None else None
    h = hashlib.sha256()
    for name in sorted(files):
        if not (name.startswith(TRAINING_CODE) and name.endswith(".py")):
            continue
        if used is not None and name.startswith("models/") and name not in used:
            continue
        h.update(f"{name}\0{hashlib.sha256(files[name].read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()


def models_used(files: dict[str, Path], builder: str) -> set[str]:
    """The files of ``models/`` a run of ``builder`` (``"conv:build"``) loads: its module,
    ``models/__init__.py``, and what they import from ``models``, in turn (read with
    :mod:`ast`, never run)."""
    todo = ["models/__init__.py", f"models/{builder.partition(':')[0]}.py"]
    used: set[str] = set()
    while todo:
        name = todo.pop()
        if name in used or name not in files:
            continue
        used.add(name)
        try:
            tree = ast.parse(files[name].read_bytes())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                # from models.x import ..., from .x import ..., from . import x
                parts = ["models"] * (node.level > 0) + (node.module or "").split(".")
                parts = [p for p in parts if p]
                if parts and parts[0] == "models":
                    todo.append("/".join(parts) + ".py")
                    todo += [f"{'/'.join(parts)}/{a.name}.py" for a in node.names]
            elif isinstance(node, ast.Import):
                todo += [f"{a.name.replace('.', '/')}.py" for a in node.names]
    return used


@cache
def project_digest(builder: str | None = None) -> str:
    """:func:`code_digest` of this project's code, as it is now (once per process and
    ``builder``)."""
    return code_digest({p.relative_to(ROOT).as_posix(): p for p in _files()}, builder)


@cache
def _files() -> tuple[Path, ...]:
    return tuple(code_files())
