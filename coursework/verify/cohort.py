"""A cohort's re-runs on a Slurm cluster, ``make mark SLURM=1``: the tasks, their results,
and what runs on a node (the array job is written and sent by
:mod:`coursework.commands.cohort`).

The marking of each zip (unpacking, reading its files, its LaTeX, its code) stays on the
marker's machine; each sampled re-run becomes a task file, ``<name>/reruns/NNN.task.json``
(:func:`coursework.verify.marker_reruns.task_of`: the settings it is handed, the staged code, the
marker's limits), and every task not yet sent goes out as one array job
(``<marking>/slurm/mark-DATE-TIME-N.sbatch``). A task runs on a node in the same sandbox and
under the same limits as a local re-run (:func:`main`), and writes its result as one file,
``NNN.result.json``, whole or not at all: a task killed or requeued starts again from nothing
and never leaves half a result. The marker's machine holds no claim on a task once it is sent.

``make mark`` again (with ``SLURM=1`` or without) gathers what came back into each sheet
(:func:`gather`); what has not is a ``pending`` row and the submission's verdict is
``pending``, never a failure. With ``SLURM=1`` a task that is neither back nor in the queue
(cancelled, failed) is sent again; one in the queue is never sent twice.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from coursework.analysis.checks import Row
from coursework.records import storage
from coursework.verify.marker_reruns import RERUNS, agreeing, run_task, task_rows
from coursework.verify.sandbox import choose
from coursework.verify.sheets import Sheet
from coursework.verify.verdicts import Verdict

RESULT = ".result.json"  # beside a task's .task.json: what came back from the node
MAX_RESULT = 96 << 20  # bytes: a re-run's answer (64 MiB at most) and its capped log


def task_path(folder: Path, row: Row) -> Path:
    """The task file of a pending row (``task NNN`` in its expected column)."""
    return folder / RERUNS / f"{row.expected.removeprefix('task ')}.task.json"


def read_task(path: Path) -> dict[str, Any]:
    """A task file (the marker wrote it, in a folder no sandbox writes)."""
    return dict(json.loads(path.read_text()))


def result_path(task: Path) -> Path:
    """Where a task's node writes its result."""
    return task.with_name(task.name.removesuffix(".task.json") + RESULT)


def gather(sheet: Sheet, folder: Path) -> int:
    """Replace each pending row of ``sheet`` whose result came back by its comparison rows;
    the number gathered."""
    rows, got = [], 0
    for row in sheet.rows:
        if row.verdict != Verdict.PENDING:
            rows.append(row)
            continue
        task = task_path(folder, row)
        result = read_result(result_path(task))
        if result is None:
            rows.append(row)
            continue
        rows += task_rows(read_task(task), result)
        got += 1
    sheet.rows = rows
    agreeing(sheet, rows)
    return got


def read_result(path: Path) -> dict[str, Any] | None:
    """A node's result, or None where none came back yet (a result is written whole)."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_RESULT:
            return None
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def main(argv: list[str] | None = None) -> int:
    """On a node: run one task (a re-run) in the sandbox under its limits, and write its
    result whole beside it."""
    task = Path((argv if argv is not None else sys.argv[1:])[0])
    spec = read_task(task)
    box = choose(bool(spec.get("unsafe")), task.parent)
    if isinstance(box, str):
        result: dict[str, Any] = {
            "answer": None,
            "stopped": f"no sandbox on {os.uname()[1]}: {box}",
        }
    else:
        result = run_task(spec, box)
    storage.write_text(result_path(task), json.dumps(result))
    print(f"{task}: {'stopped: ' + result['stopped'] if result.get('stopped') else 'done'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
