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
from dataclasses import replace
from pathlib import Path

from coursework.commands.cluster import Resources
from coursework.engine.request import TrainRequest
from coursework.records import storage
from coursework.records.errors import SpecError
from coursework.records.spec import Run, Spec
from coursework.runtime import backend

SCRIPTS = Path("slurm")


def collect_command(profile: str, dataset: str | None) -> str:
    return f"make collect PROFILE={profile}" + (f" DATASET={dataset}" if dataset else "")


def script(spec: Spec, request: TrainRequest, res: Resources) -> tuple[str, int]:
    """The sbatch script for every (run, seed) of ``spec`` under the request's profile, and
    its number of tasks; with ``request.tune``: a task per trial of the tuned runs' studies
    instead (they share each study's journal), to run before the seeds. Each task runs the
    request with ``--task K``."""
    profile, dataset = request.profile, request.dataset
    tasks = _tasks(spec, profile, dataset, request.tune)
    name = f"{spec.question}-{request.rs.name}".replace("@", "-")
    name += "-tune" if request.tune else ""
    task = replace(
        request,
        questions=(str(Path(spec.path).resolve()),),
        results=Path(request.results).resolve(),
        task=None,
    )
    logs = task.rs.slurm_logs()
    command = [sys.executable, "-m", "coursework", *task.to_argv(), "--task"]
    lines = [
        "#!/bin/bash",
        f"# {spec.question} ({spec.title}), profile {profile}: {len(tasks)} tasks, one per "
        + (
            "trial of the tuned runs' studies (then collect, then the seeds' script):"
            if request.tune
            else "run and seed:"
        ),
        *(f"#   task {k}: {r.name} {what}" for k, (r, what) in enumerate(tasks)),
        f"# Submit with sbatch; when every task has ended: {collect_command(profile, dataset)}",
        *directives(name, len(tasks), res, logs),
        "set -euo pipefail",
        f"cd {shlex.quote(str(Path.cwd()))}",
        f"mkdir -p {shlex.quote(str(logs))}",
        f"export KERAS_BACKEND={backend.current()}",
        "export PYTHONUNBUFFERED=1",
        *res.setup.splitlines(),
        'task="${SLURM_ARRAY_TASK_ID:?submit with sbatch (or set SLURM_ARRAY_TASK_ID)}"',
        'echo "task $task on $(hostname), $(date -Is)"',
        f'exec {shlex.join(command)} "$task"',
    ]
    return "\n".join(line for line in lines if line) + "\n", len(tasks)


def tuning_notes(spec: Spec, profile: str, dataset: str | None) -> list[str]:
    """What parallel trial tasks choose: the same trials as ``make tune`` for a random or
    grid study without pruning (each trial's values depend on its number alone); otherwise
    which trials have finished when a task starts changes what it samples or prunes."""
    notes = []
    for r, seed in spec.tasks(profile, dataset=dataset):
        t = r.tune
        if t is None or seed != r.seeds[0]:
            continue
        why = []
        if t.sampler == "tpe":
            why.append(
                f"TPE samples trials after the first {t.startup_trials} from those that "
                "have finished when it starts"
            )
        if t.pruning:
            why.append("pruning compares a trial with those that reported before it")
        if why:
            notes.append(
                f"{r.name}: tasks running at once may try other values than one `make tune` "
                f'would ({"; ".join(why)}); `sampler = "random"` or `"grid"` with '
                "`prune = false` gives make tune's trials exactly"
            )
    return notes


def _tasks(spec: Spec, profile: str, dataset: str | None, tune: bool) -> list[tuple[Run, str]]:
    """The array's tasks: a run and what of it each trains (a seed, or a study's trial)."""
    if tune:
        tuned = [
            (r, r.tune)
            for r, seed in spec.tasks(profile, dataset=dataset)
            if r.tune is not None and seed == r.seeds[0]
        ]
        tasks = [(r, f"trial {i + 1} of {t.size}") for r, t in tuned for i in range(t.size)]
        if not tasks:
            raise SpecError(
                f"{spec.path}: no tuned runs (a run's tune table) in profile {profile!r}"
            )
    else:
        tasks = [(r, f"seed {s}") for r, s in spec.tasks(profile, dataset=dataset)]
    if not tasks:
        raise SpecError(f"{spec.path}: no runs in profile {profile!r}")
    return tasks


def directives(name: str, n: int, res: Resources, logs: Path) -> list[str]:
    """The ``#SBATCH`` lines (empty where a resource is left to the cluster)."""
    return [
        f"#SBATCH --job-name={name}",
        f"#SBATCH --array=0-{n - 1}",
        f"#SBATCH --time={res.time}" if res.time else "",
        f"#SBATCH --mem={res.mem}" if res.mem else "",
        f"#SBATCH --cpus-per-task={res.cpus}" if res.cpus else "",
        f"#SBATCH --gres=gpu:{res.gpus}" if res.gpus else "",
        f"#SBATCH --partition={res.partition}" if res.partition else "",
        f"#SBATCH --output={logs}/%x-%A_%a.out",  # %A: the job, so two submissions never mix
        "#SBATCH --open-mode=append",
        "#SBATCH --requeue",
    ]


def write(
    spec: Spec,
    request: TrainRequest,
    res: Resources,
    out: Path | None = None,
) -> tuple[Path, int]:
    """Write the script (``slurm/<question>-<results set>[-tune].sbatch`` unless ``out``);
    return its path and its number of tasks."""
    suffix = "-tune" if request.tune else ""
    path = Path(out) if out else SCRIPTS / f"{spec.question}-{request.rs.name}{suffix}.sbatch"
    text, n = script(spec, request, res)
    storage.write_text(path, text)
    os.chmod(path, 0o755)
    # before sbatch
    request.rs.slurm_logs().mkdir(parents=True, exist_ok=True)
    return path, n
