"""A run folder's life: in progress, complete, and replaced by a new run without a moment
in which neither is there."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from coursework.records.errors import ResultsError
from coursework.records.layout import BACKUP, RECORD, retired_run_dir, staging_dir, temporaries
from coursework.records.record import ENDED, Status
from coursework.records.storage import clear_temporaries, read_record


def replace_run(run_folder: Path) -> None:
    """Put the completed run in :func:`staging_dir` in the place of the old one: the old is
    renamed aside, the new renamed in, then the old deleted. A kill between the steps is
    mended by :func:`recover_run`."""
    run_folder = Path(run_folder)
    staged, old = staging_dir(run_folder), retired_run_dir(run_folder)
    clear_leftovers(staged)
    try:
        if old.exists():
            shutil.rmtree(old)
        if run_folder.exists():
            os.replace(run_folder, old)
        os.replace(staged, run_folder)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise ResultsError(f"cannot replace {run_folder}: {exc.strerror or exc}") from exc


def clear_leftovers(run_folder: Path) -> None:
    """Remove the temporary files (:func:`coursework.records.storage.atomic`'s) that a kill
    left in a run folder that has ended: no write is under way in it (its claim is held, or
    it is complete), so each is a dead writer's, and would be carried into the run's place."""
    clear_temporaries(temporaries(Path(run_folder)), older_than=-1)


def recover_run(run_folder: Path) -> None:
    """Finish a :func:`replace_run` that a kill interrupted: a completed new run goes in,
    or else the old one goes back (a new one still training stays, to resume)."""
    run_folder = Path(run_folder)
    staged, old = staging_dir(run_folder), retired_run_dir(run_folder)
    if is_complete(staged):
        replace_run(run_folder)
    elif old.exists():
        if run_folder.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, run_folder)


def is_complete(run_folder: Path) -> bool:
    """Whether a run folder holds a finished run (its ``run.json`` says ``complete``); an
    unreadable record is not one."""
    path = Path(run_folder) / RECORD
    try:
        return path.exists() and read_record(path).status == Status.COMPLETE
    except ResultsError:
        return False


def in_progress(run_folder: Path) -> bool:
    """Whether ``run_folder`` (a seed's, its :func:`staging_dir`, a tuning trial's) holds a run
    in progress: training now, or stopped part-way, to be resumed. Its ``backup/`` (the
    training state and its key) is there from the start until the run ends; a ``run.json``
    newer than everything in it is the end of that run (a failed run keeps its backup to
    resume from), an older one a run's earlier end, before it was started again."""
    backup = Path(run_folder) / BACKUP
    if not backup.is_dir():
        return False
    record = Path(run_folder) / RECORD
    if not record.exists():
        return True
    try:  # a record of no end, or one half-written, is no end either
        if read_record(record).status not in ENDED:
            return True
    except ResultsError:
        return True
    newest = max((p.stat().st_mtime_ns for p in backup.iterdir()), default=0)
    return newest > record.stat().st_mtime_ns
