"""``make status``: where every run and seed of the questions stands against their experiment
files now (DVC's ``status`` is the model): complete, stale (with the settings that differ),
missing, stopped (it resumes), being trained by another process, failed or diverged; and each
tuned run's study."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from coursework.engine.estimate import backend_note
from coursework.engine.job import Job, State, finished_epochs, plan, state
from coursework.engine.tune import study_state
from coursework.records import layout
from coursework.records import spec as specs
from coursework.records.errors import SpecError
from coursework.records.record import Status
from coursework.records.spec import Spec

# what each state means for the next `make QUESTION`
NEXT = {
    Status.COMPLETE: "kept",
    Status.STALE: "trained again",
    Status.MISSING: "trained",
    Status.STOPPED: "resumes",
    Status.TRAINING: "left to the process training it",
    Status.FAILED: "trained again",
    Status.DIVERGED: "trained again",
}


def job_states(jobs: list[Job]) -> list[tuple[Job, State]]:
    """Each job with its state; a tuned run's seeds with the parameters its study chose (a
    study that has not chosen, or is stale, makes its seeds wait for it)."""
    out = []
    for job in jobs:
        run = job.run
        if run.tune is not None:
            kind, why = study_state(run, job.rs)
            if kind != Status.COMPLETE:
                reason = {
                    Status.STALE: f"its study is stale ({why})",
                    Status.MISSING: "its study has not started",
                    Status.TUNING: "its study has trials to go",
                }[Status(kind)]
                has = (job.out / layout.RECORD).exists()
                out.append((job, State(Status.STALE if has else Status.MISSING, (reason,))))
                continue
            try:
                job = replace(job, run=specs.with_best_params(job.rs, run))
            except SpecError:
                out.append((job, State(Status.MISSING, ("its study has not chosen",))))
                continue
        out.append((job, state(job)))
    return out


def report(
    specs_: list[Spec], profile: str, results_dir: Path, dataset: str | None, backend_name: str
) -> str:
    """The status table of the questions' runs and seeds, and what the next run does."""
    lines: list[str] = []
    total: Counter[Status] = Counter()
    other_code = 0
    for s in specs_:
        jobs = plan(s, profile, results_dir, dataset=dataset)
        states = job_states(jobs)
        counts = Counter(st.kind for _, st in states)
        total.update(counts)
        where = jobs[0].rs.question_dir(s.question)
        lines.append(
            f"{s.question} ({profile}, {where}): "
            + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        )
        width = max(len(job.run.name) for job, _ in states)
        for job, st in states:
            text = st.kind + (f": {'; '.join(st.changes)}" if st.changes else "")
            if st.kind == Status.STALE and (done := finished_epochs(job)):  # as `plan` says
                text += (
                    f"; its re-training stopped after epoch {done} of "
                    f"{job.run.config.epochs}: it resumes"
                )
            if st.kind == Status.COMPLETE and st.backend and st.backend != backend_name:
                text += f" (trained with {st.backend})"
            lines.append(f"  {job.run.name:{width}s}  seed {job.seed:<3d} {text}")
        for run in {job.run.name: job.run for job in jobs if job.run.tune is not None}.values():
            kind, why = study_state(run, jobs[0].rs)
            lines.append(f"  {run.name:{width}s}  study    {kind}" + (f": {why}" if why else ""))
        note = backend_note(states, backend_name)
        if note:
            lines.append(f"  note: {note}")
        other_code += sum(st.code_changed for _, st in states if st.kind == Status.COMPLETE)
    todo = {k: n for k, n in total.items() if k != Status.COMPLETE}
    lines.append("")
    if other_code:  # once, for all questions
        lines.append(
            f"note: {other_code} complete run(s) were trained by other code than today's "
            "(coursework/, or the models/ files their builder imports); they are kept: "
            "make verify re-trains a sample to compare"
        )
    lines.append(
        "next run: "
        + (
            ", ".join(f"{n} {k} ({NEXT[k]})" for k, n in sorted(todo.items()))
            if todo
            else "nothing to train: every run is complete"
        )
    )
    return "\n".join(lines)
