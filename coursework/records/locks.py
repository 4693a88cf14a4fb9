"""Locks on a results folder: the files shared by all questions, and a run folder claimed
by the process training it. Advisory locks, released when a process ends (also when killed)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from coursework.records.layout import ResultsSet
from coursework.records.storage import ensure_writable


@contextlib.contextmanager
def locked(rs: ResultsSet) -> Iterator[None]:
    """Hold ``results/<profile>/.lock`` while rewriting the files shared by all questions
    (summary, stats, ensembles, manifest), so that two questions run at once
    (``make -j2 a b``) never write them from stale views."""
    folder = rs.dir()
    ensure_writable(folder)
    with file_lock(folder / ".lock"):
        yield


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (a hidden file, created if missing) until
    the block ends; released when the process ends, also when it is killed. Windows has no
    advisory locks: there, nothing is held (run one process at a time)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def claimed_elsewhere(run_folder: Path) -> bool:
    """Whether another process holds :func:`run_claim` on ``run_folder`` now. Only looks: a
    claim's file is made by the process that claims, so where there is none nobody does, and
    ``make plan`` or ``make status`` leave nothing behind."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks
        return False
    try:
        f = open(Path(run_folder).parent / f".{Path(run_folder).name}.lock")  # noqa: SIM115
    except OSError:
        return False
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


@contextlib.contextmanager
def run_claim(run_folder: Path, wait: bool = False) -> Iterator[bool]:
    """Claim a run folder for this process while it trains it: True if claimed, False if
    another process (a second ``run`` of the same question, a Slurm task) is training it now;
    ``wait``: until that process ends, then True. An advisory lock on a hidden file beside
    the folder, released when the process ends, also when it is killed."""
    run_folder = Path(run_folder)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks
        yield True
        return
    ensure_writable(run_folder.parent)
    with open(run_folder.parent / f".{run_folder.name}.lock", "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
