"""A question as a Slurm array job: one array task per run and seed.

``python -m coursework slurm QUESTION --profile full [--gpus 1 --time 04:00:00 ...]`` writes
``slurm/<question>-<profile>.sbatch``. Its task ``k`` runs ``run QUESTION --task k``: the
``k``-th (run, seed) of :meth:`coursework.records.spec.Spec.tasks`, in its own run folder.
A task that was killed or requeued resumes from its last finished epoch (the run's ``backup/``); a
finished one is skipped. Tasks write nothing shared (no summary, no lock), so any number can
run at once on a shared file system; ``collect`` then rebuilds the summary, statistics,
ensembles and manifest from the run folders.

The script is plain bash with ``#SBATCH`` comments: ``SLURM_ARRAY_TASK_ID=3 bash FILE`` runs
task 3 on any machine, which is how the tests check it.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from coursework.records import results
from coursework.records.errors import SpecError
from coursework.records.spec import Spec
from coursework.runtime import backend

SCRIPTS = Path("slurm")


@dataclass
class Resources:
    """What each array task asks Slurm for; empty fields are left to the cluster's defaults."""

    partition: str = ""
    gpus: int = 1
    time: str = "04:00:00"
    mem: str = "16G"
    cpus: int = 4
    setup: str = ""  # shell lines before training, e.g. "module load cuda"


def collect_command(profile: str, dataset: str | None) -> str:
    return f"make collect PROFILE={profile}" + (f" DATASET={dataset}" if dataset else "")


def script(
    spec: Spec,
    profile: str,
    results_dir: Path,
    res: Resources,
    dataset: str | None = None,
    run_flags: list[str] | None = None,
    tune: bool = False,
) -> tuple[str, int]:
    """The sbatch script for every (run, seed) of ``spec`` under ``profile``, and its number
    of tasks; ``tune``: a task per trial of the tuned runs' studies instead (they share each
    study's journal), to run before the seeds."""
    if tune:
        tuned = [
            r
            for r, seed in spec.tasks(profile, on=dataset)
            if r.tune is not None and seed == r.seeds[0]
        ]
        tasks = [(r, f"trial {i + 1} of {r.tune.size}") for r in tuned for i in range(r.tune.size)]
        if not tasks:
            raise SpecError(
                f"{spec.path}: no tuned runs (a run's tune table) in profile {profile!r}"
            )
        run_flags = [*(run_flags or []), "--tune"]
    else:
        tasks = [(r, f"seed {s}") for r, s in spec.tasks(profile, on=dataset)]
    if not tasks:
        raise SpecError(f"{spec.path}: no runs in profile {profile!r}")
    results_set = results.set_name(profile, dataset)
    name = f"{spec.question}-{results_set}".replace("@", "-") + ("-tune" if tune else "")
    logs = results.slurm_logs(Path(results_dir).resolve(), results_set)
    on = ["--dataset", dataset] if dataset else []
    command = [
        sys.executable,
        "-m",
        "coursework",
        "--results",
        str(Path(results_dir).resolve()),
        "run",
        str(Path(spec.path).resolve()),
        "--profile",
        profile,
        *on,
        *(run_flags or []),
        "--task",
    ]
    lines = [
        "#!/bin/bash",
        f"# {spec.question} ({spec.title}), profile {profile}: {len(tasks)} tasks, one per "
        + (
            "trial of the tuned runs' studies (then collect, then the seeds' script):"
            if tune
            else "run and seed:"
        ),
        *(f"#   task {k}: {r.name} {what}" for k, (r, what) in enumerate(tasks)),
        f"# Submit with sbatch; when every task has ended: {collect_command(profile, dataset)}",
        f"#SBATCH --job-name={name}",
        f"#SBATCH --array=0-{len(tasks) - 1}",
        f"#SBATCH --time={res.time}" if res.time else "",
        f"#SBATCH --mem={res.mem}" if res.mem else "",
        f"#SBATCH --cpus-per-task={res.cpus}" if res.cpus else "",
        f"#SBATCH --gres=gpu:{res.gpus}" if res.gpus else "",
        f"#SBATCH --partition={res.partition}" if res.partition else "",
        f"#SBATCH --output={logs}/%x-%a.out",
        "#SBATCH --open-mode=append",
        "#SBATCH --requeue",
        "set -euo pipefail",
        f"cd {shlex.quote(str(Path.cwd()))}",
        f"mkdir -p {shlex.quote(str(logs))}",
        f"export KERAS_BACKEND={backend.chosen()}",
        "export PYTHONUNBUFFERED=1",
        *res.setup.splitlines(),
        'task="${SLURM_ARRAY_TASK_ID:?submit with sbatch (or set SLURM_ARRAY_TASK_ID)}"',
        'echo "task $task on $(hostname), $(date -Is)"',
        f'exec {shlex.join(command)} "$task"',
    ]
    return "\n".join(line for line in lines if line) + "\n", len(tasks)


def write(
    spec: Spec,
    profile: str,
    results_dir: Path,
    res: Resources,
    dataset: str | None = None,
    run_flags: list[str] | None = None,
    out: Path | None = None,
    tune: bool = False,
) -> tuple[Path, int]:
    """Write the script (``slurm/<question>-<results set>[-tune].sbatch`` unless ``out``);
    return its path and its number of tasks."""
    results_set = results.set_name(profile, dataset)
    suffix = "-tune" if tune else ""
    path = Path(out) if out else SCRIPTS / f"{spec.question}-{results_set}{suffix}.sbatch"
    text, n = script(spec, profile, results_dir, res, dataset, run_flags, tune)
    results.write_text(path, text)
    os.chmod(path, 0o755)
    results.slurm_logs(results_dir, results_set).mkdir(parents=True, exist_ok=True)  # before sbatch
    return path, n
