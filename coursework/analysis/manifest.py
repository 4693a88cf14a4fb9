"""``results/<profile>/MANIFEST.json``: what is in a results folder and how it was made.

Rewritten (atomically, under the results lock) after every ``run``, ``plots`` and ``report``:
sha256 and size of every file under ``results/<profile>/``, the git commit and whether the
code was modified, package versions and whether they are the ones ``locks/`` pins, hardware,
dataset fingerprints, the command line and the digest of the training code
(:func:`coursework.records.project.code_digest`).
``make verify`` checks the files against it.

Left out: the manifest itself, ``verification.csv`` (the output of ``verify``, rewritten by
every marker's run), ``index.html`` (the results page, drawn from the results and the
manifest after it), and what :meth:`coursework.records.layout.ResultsSet.files` leaves out
(hidden files, ``backup/`` folders of runs in progress, LaTeX's ``report/build/``).

``make submission`` hands in a part of the results (the paper's questions) with a manifest of
that part (:func:`of_part`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from coursework import __version__
from coursework.records import layout, locks, storage
from coursework.records.errors import ResultsError
from coursework.records.layout import ResultsSet
from coursework.records.project import ROOT, project_digest
from coursework.records.record import SCHEMA_VERSION
from coursework.runtime import env

NAME = layout.MANIFEST
NOT_LISTED = {NAME, layout.VERIFICATION, layout.PAGE}  # the page is drawn after the manifest
PACKAGES = [
    "keras",
    "tensorflow",
    "jax",
    "jaxlib",
    "torch",
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "jinja2",
    "mlxtend",
]


def sha256(path: Path) -> str:
    """The sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def listed(rs: ResultsSet) -> dict[str, Path]:
    """The files the manifest lists: relative name -> path."""
    out = {rs.relative(p): p for p in rs.files()}
    return {rel: p for rel, p in out.items() if rel not in NOT_LISTED}


def file_table(rs: ResultsSet) -> dict[str, dict[str, Any]]:
    """Every listed file: relative name -> its sha256 and size."""
    return {rel: {"sha256": sha256(p), "size": p.stat().st_size} for rel, p in listed(rs).items()}


def git_state(results_dir: Path) -> dict[str, Any]:
    """Commit of the project's code and whether it differs from it (results/ not counted)."""

    def git(*args: str) -> str:
        """The output of one git command in the project."""
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        exclude = []
        try:
            exclude = [f":(exclude){Path(results_dir).resolve().relative_to(ROOT).as_posix()}"]
        except ValueError:  # results outside the project
            pass
        dirty = bool(git("status", "--porcelain", "--", ".", *exclude))
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def packages() -> dict[str, str | None]:
    """The installed version of each package of :data:`PACKAGES` (None: not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def run_provenance(rs: ResultsSet) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """What the runs recorded: dataset name -> fingerprint, shape and sizes; and every Keras
    backend (name, version) that trained them, with how many runs each."""
    sets: dict[str, dict[str, Any]] = {}
    backends: dict[tuple[Any, Any], int] = {}
    for path in rs.record_paths():
        rec = storage.read_record(path)
        ds = rec.dataset
        if ds.get("fingerprint"):
            sets.setdefault(
                ds["name"],
                {k: ds.get(k) for k in ("fingerprint", "input_shape", "num_classes", "sizes")},
            )
        e = rec.environment
        key = (e.get("backend"), e.get("backend_version"))
        backends[key] = backends.get(key, 0) + 1
    return sets, [
        {"name": n, "version": v, "runs": c}
        for (n, v), c in sorted(backends.items(), key=lambda kv: str(kv[0]))
    ]


def contents(rs: ResultsSet, command: list[str] | None = None) -> dict[str, Any]:
    """The manifest: how the results were made (code, packages, machine, data, backends)
    and every file's digest."""
    sets, backends = run_provenance(rs)
    return {
        "schema_version": SCHEMA_VERSION,
        "coursework_version": __version__,
        "profile": rs.profile,
        "results_set": rs.name,
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": list(command if command is not None else sys.argv),
        "git": git_state(rs.root),
        "code_sha256": project_digest(),
        "python": sys.version.split()[0],
        "packages": packages(),
        "lock": env.lock_state(),
        "hardware": env.hardware(),
        "backends": backends,
        "datasets": sets,
        "files": file_table(rs),
    }


def write(rs: ResultsSet, command: list[str] | None = None) -> Path:
    """Rewrite the manifest; the caller holds ``locks.locked``."""
    path = rs.aggregate(NAME)
    storage.write_json(path, contents(rs, command))
    return path


def update(rs: ResultsSet) -> Path:
    """Rewrite the manifest under the results lock (after ``plots`` and ``report``)."""
    with locks.locked(rs):
        return write(rs)


def read(rs: ResultsSet) -> dict[str, Any]:
    """The results set's manifest; a ResultsError where there is none."""
    path = rs.aggregate(NAME)
    if not path.exists():
        raise ResultsError(
            f"{path} does not exist: these results were not written by this project's "
            f"run/plots/report commands (or the file was deleted)"
        )
    return storage.read_json(path)


def of_part(
    recorded: dict[str, Any],
    rs: ResultsSet,
    origins: dict[str, tuple[str, str]],
    in_part: Callable[[str], bool],
    part: dict[str, Any],
) -> dict[str, Any]:
    """The manifest of a part of a results set, copied to ``<results_dir>/<results_set>``
    (``make submission``: the paper's questions and what a marker needs to check them):
    ``recorded``, the manifest of the whole set, with the part's runs' datasets and backends,
    ``part`` (what it is, as ``handed_in``), and its files as :func:`file_table` finds them in
    the part, each where the file it is (or was made from: a CSV of the part's rows) was as
    ``recorded`` lists it; ``origins``: name in the part -> (that file's name in the whole
    set, its sha256 as read). So an honest part checks whole, and an edit is never blessed:
    a file whose origin differs from the record is listed as recorded (it shows as edited),
    one the record lacks is not listed (unlisted, as it was), and one the record lists in
    the part (``in_part``) that is gone stays listed (missing, as it is)."""
    was, table = recorded.get("files", {}), file_table(rs)
    files = {}
    for rel, entry in table.items():
        origin, digest = origins.get(rel, (rel, entry["sha256"]))
        if origin in was:
            files[rel] = entry if was[origin].get("sha256") == digest else was[origin]
    files.update({rel: entry for rel, entry in was.items() if rel not in table and in_part(rel)})
    sets, backends = run_provenance(rs)
    return {
        **recorded,
        "backends": backends,
        "datasets": sets,
        "handed_in": part,
        "files": dict(sorted(files.items())),
    }
