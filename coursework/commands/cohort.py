"""``make mark SLURM=1``: the pending re-runs of a batch sent to Slurm as one array job.

:mod:`coursework.verify.cohort` keeps the tasks and gathers their results; this module
writes the array job (``<marking>/slurm/mark-DATE-TIME-N.sbatch``: task ``k`` runs
``python -m coursework.verify.cohort`` on the ``k``-th task file), says what it costs before
anything is sent, and sends what is neither back nor in the queue: never a task twice.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from coursework.commands.cluster import Resources
from coursework.commands.slurm import directives
from coursework.records import storage
from coursework.records.errors import CourseworkError
from coursework.records.project import ROOT
from coursework.verify.bounded import GiB
from coursework.verify.cohort import read_result, read_task, result_path, task_path
from coursework.verify.sheets import Sheet
from coursework.verify.verdicts import Verdict


def queued() -> set[str]:
    """The array tasks Slurm has queued or running (``123_4``), every user's."""
    try:
        out = subprocess.run(
            ["squeue", "-h", "-r", "-o", "%i"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise CourseworkError(f"squeue: {exc}: is this a Slurm cluster's login node?") from exc
    if out.returncode != 0:
        raise CourseworkError(f"squeue: {out.stderr.strip() or out.returncode}")
    return set(out.stdout.split())


def to_send(sheets: list[tuple[Sheet, Path]], alive: set[str]) -> list[tuple[Sheet, int, Path]]:
    """The pending re-runs to send: not back, and not in the queue (never sent, or sent and
    ended without a result: cancelled, failed, out of time)."""
    out = []
    for sheet, folder in sheets:
        for i, row in enumerate(sheet.rows):
            if row.verdict == Verdict.PENDING and row.got not in alive:
                task = task_path(folder, row)
                if read_result(result_path(task)) is None:
                    out.append((sheet, i, task))
    return out


def plan_line(tasks: list[Path], res: Resources, speed: float) -> str:
    """What is about to be sent and its cost: re-runs, zips, images, and the time at the
    marker's speed (``--rerun-speed``), before anything is sent."""
    specs = [read_task(t) for t in tasks]
    zips = len({t.parent.parent for t in tasks})
    images = sum(int(s.get("images", 0)) for s in specs)
    return (
        f"mark on Slurm: {len(tasks)} re-run(s) of {zips} submission(s), "
        f"{images:,} training images: about {duration(images / speed)} of tasks at "
        f"{speed:,.0f} images/s (--rerun-speed: one task's speed there); each task: "
        f"{res.gpus} GPU(s), {res.cpus} CPU(s), {res.mem} memory, time {res.time}, partition "
        f"{res.partition or 'the cluster default'}"
    )


def duration(seconds: float) -> str:
    """``42 s``, ``17 min``, ``3.5 h``, ``12 days``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:,.1f} h" if seconds < 72 * 3600 else f"{seconds / 86400:,.1f} days"


def script(marking: Path, tasks: list[Path], res: Resources, name: str) -> str:
    """The array job's script: task ``k`` runs :func:`main` on the ``k``-th task file."""
    logs = marking / "slurm"
    command = [sys.executable, "-m", "coursework.verify.cohort"]
    return (
        "\n".join(
            [
                "#!/bin/bash",
                f"# make mark: {len(tasks)} re-run(s) in the sandbox, one per task; results "
                "come back with `make mark` again",
                *[d for d in directives(name, len(tasks), res, logs) if d],
                "set -euo pipefail",
                f"cd {shlex.quote(str(ROOT))}",
                *res.setup.splitlines(),
                "tasks=(" + " ".join(shlex.quote(str(t)) for t in tasks) + ")",
                'task="${SLURM_ARRAY_TASK_ID:?submit with sbatch}"',
                f'exec {shlex.join(command)} "${{tasks[$task]}}"',
            ]
        )
        + "\n"
    )


def submit(marking: Path, tasks: list[Path], res: Resources) -> str:
    """Write the array job of ``tasks`` and send it with sbatch; its job id."""
    folder = marking / "slurm"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"mark-{time.strftime('%Y%m%d-%H%M%S')}-{len(tasks)}.sbatch"
    storage.write_text(path, script(marking, tasks, res, f"mark-{marking.name}"))
    try:
        out = subprocess.run(
            ["sbatch", "--parsable", str(path)], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise CourseworkError(f"sbatch {path}: {exc}") from exc
    if out.returncode != 0:
        raise CourseworkError(f"sbatch {path}: {out.stderr.strip() or out.returncode}")
    print(f"sent {path}: {len(tasks)} task(s), job {out.stdout.strip()}", flush=True)
    return out.stdout.strip().split(";")[0]


def send(
    sheets: list[tuple[Sheet, Path]], marking: Path, res: Resources, speed: float
) -> list[Sheet]:
    """Send every pending re-run that is neither back nor queued, as one array job; each
    such row then names its task (``123_4``). The sheets changed."""
    todo = to_send(sheets, queued())
    if not todo:
        print("mark on Slurm: nothing to send (every re-run is back or queued)", flush=True)
        return []
    longest = max(read_task(t)["limits"]["seconds"] for _, _, t in todo)
    memory = max(read_task(t)["limits"]["memory"] for _, _, t in todo)
    res = _fitted(res, longest, memory)
    print(plan_line([t for _, _, t in todo], res, speed), flush=True)
    job = submit(marking, [t for _, _, t in todo], res)
    changed = []
    for k, (sheet, i, _) in enumerate(todo):
        sheet.rows[i].got = f"{job}_{k}"
        changed.append(sheet)
    return list({id(s): s for s in changed}.values())


def _fitted(res: Resources, seconds: float, memory: int) -> Resources:
    """``res`` with a time that covers the longest re-run's limit (where none was set) and
    memory above the sandbox's."""
    minutes = int(seconds // 60) + 10
    time = res.time or f"{minutes // 60:02d}:{minutes % 60:02d}:00"
    mem = res.mem or f"{int(memory / GiB) + 2}G"
    return replace(res, time=time, mem=mem)
