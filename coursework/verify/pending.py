"""The runs a results set should hold and does not yet: those its recorded specs ask for that
were never trained, and those in progress (their files are checked once they complete)."""

from __future__ import annotations

from pathlib import Path

from coursework.analysis.checks import InScope, Row
from coursework.records import layout, spec, storage
from coursework.records.layout import ResultsSet
from coursework.records.record import Status
from coursework.verify.verdicts import Verdict

NOW = "training now, or stopped part-way: `make` resumes it"


def check_expected_runs(rs: ResultsSet, in_scope: InScope) -> list[Row]:
    """The runs and seeds that the question's trained spec asks for and that have no
    ``run.json``: a note per run (results may hold some of a question's runs: ``run --only``).
    A run folder deleted after the manifest listed it is a failure of
    :func:`coursework.verify.files.check_files`."""
    rows = []
    for q in rs.questions():
        s = spec.trained_spec(rs, q)
        if not in_scope(f"{q}/") or s is None or rs.profile not in s.profiles:
            continue
        for run in s.resolve(rs.name):
            records = [rs.run_dir(q, run.name, seed) / layout.RECORD for seed in run.seeds]
            seeds = [
                str(seed)
                for seed, path in zip(run.seeds, records, strict=True)
                if not path.exists()  # one in progress has its own note
                and in_scope(rs.relative(path))
            ]
            if seeds:
                folder = rs.question_dir(q) / run.name
                rows.append(
                    Row(
                        f"{q}/{run.name}",
                        ", ".join(seeds),
                        "not trained",
                        rs.relative(folder),
                        f"in {layout.SPEC} of {q}",
                        f"no run.json for seed {', '.join(seeds)}",
                        Verdict.NOTE,
                    )
                )
    return rows


def check_in_progress(rs: ResultsSet, in_scope: InScope) -> list[Row]:
    """A note per run in progress (:func:`coursework.records.run_folders.in_progress`: training
    now, or stopped part-way for ``make`` to resume) with the epochs it has trained: its files
    are checked once it completes. A complete run trained again beside itself
    (``.seed-0.next``) stays, and is checked, until the new one has completed."""
    rows: list[Row] = []
    totals: dict[str, dict[str, object]] = {}
    for folder in rs.in_progress_dirs():
        rel = rs.relative(folder)
        q, name, part = rel.split("/")[:3]
        if not in_scope(f"{q}/"):
            continue
        if q not in totals:
            totals[q] = _epochs(rs, q)
        try:
            done = len(storage.read_csv(folder / layout.HISTORY))
        except (OSError, ValueError):
            done = 0
        seed, got = _progress(folder, part, done, totals[q].get(name))
        rows.append(
            Row(f"{q}/{name}", seed, "run in progress", rel, Status.COMPLETE, got, Verdict.NOTE)
        )
    return rows


def _epochs(rs: ResultsSet, question: str) -> dict[str, object]:
    """Run name -> the epochs the question's trained spec gives it (none: no such spec)."""
    s = spec.trained_spec(rs, question)
    if s is None or rs.profile not in s.profiles:
        return {}
    return {r.name: r.config.epochs for r in s.resolve(rs.name)}


def _progress(folder: Path, part: str, done: int, total: object) -> tuple[str, str]:
    """The seed (or trial) of a run in progress, and what its note says of it; ``part``:
    the folder under the run (``seed-0``, ``tune``, or a staging ``.seed-0.next``)."""
    epochs = f"{done} of {total} epochs" if total else f"{done} epoch(s)"
    if part == layout.TUNE:
        seed = f"trial {folder.name.removeprefix('trial-').lstrip('0') or '0'}"
        return seed, f"tuning trial: {done} epoch(s) trained ({NOW}); checked once it completes"
    if part.startswith("."):  # staging_dir: the complete run stays in place
        seed = part[1:].split(".")[0].removeprefix("seed-")
        return seed, (
            f"a new run of it: {epochs} trained ({NOW}); the complete run stays, and "
            "is checked, until the new one completes"
        )
    seed = part.removeprefix("seed-")
    return seed, f"{epochs} trained ({NOW}); its files are checked once it completes"
