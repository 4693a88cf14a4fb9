"""``make verify``: do the submitted results hold together, and do they reproduce?

Integrity (seconds), from the results folder and its recorded specs alone (no Keras):

- every file matches its sha256 in ``MANIFEST.json``, and no file is missing or unlisted;
- every row of ``summary.csv`` matches its ``run.json``, and every ``run.json`` matches its
  ``history.csv`` (epochs, best epoch, best validation accuracy);
- every ``run.json``'s config is the one its question's recorded spec gives the run;
- every run the recorded spec asks for is there;
- ``stats.csv`` and ``ensembles.csv`` match a recomputation from the runs;
- every figure is the one drawn from these results (``figures/provenance.json``: the digest of
  the files it was drawn from, and its own sha256);
- every number of the report (``report/numbers.json``) matches a recomputation, and every
  number in ``report/numbers.tex`` and ``report/<question>.tex`` is the one recorded there
  (:mod:`coursework.verify.numbers`).

``make verify`` may run while runs train: a run in progress (its ``backup/``, see
:func:`coursework.records.run_folders.in_progress`) is a note saying so, with the epochs it has
trained, instead of failures of its files, which are checked once it has completed; the complete
runs are checked as ever, and a run in progress is never re-trained.

The checks live in :mod:`.files` (files and records), :mod:`.pending` (runs missing or in
progress), :mod:`.derived` (statistics and figures) and :mod:`.numbers` (the report); this
module runs them all. Re-run (minutes): :mod:`coursework.verify.reproduce`. Every check is a row of
``results/<set>/verification.csv`` (:mod:`coursework.analysis.checks`).
"""

from __future__ import annotations

from pathlib import Path

from coursework.analysis import manifest
from coursework.analysis.checks import COLUMNS, InScope, Row
from coursework.records import layout, storage
from coursework.records.errors import ResultsError
from coursework.records.layout import ResultsSet
from coursework.report import questions
from coursework.runtime import env
from coursework.verify import reproduce
from coursework.verify.derived import check_aggregates, check_figures
from coursework.verify.files import check_configs, check_files, check_histories, check_summary
from coursework.verify.numbers import check_report
from coursework.verify.pending import check_expected_runs, check_in_progress
from coursework.verify.verdicts import Verdict, whole

# --------------------------------------------------------------------------- all checks


def integrity(
    rs: ResultsSet,
    question: str | None = None,
    left_out: tuple[str, ...] = (),
    templates: Path | None = None,
    running: bool = False,
) -> list[Row]:
    """Every check that reads files only; ``left_out``: see :func:`check_files`;
    ``templates``: the report templates the report was made from (default: this project's).
    ``running``: the student's own results, where runs may be training now (``make verify``):
    a run in progress is a note (:func:`check_in_progress`) and no check reads its files. Else
    (``make mark``: a submission never holds one, its ``backup/`` is not handed in) its files
    are checked as any."""
    if not rs.dir().is_dir():
        raise ResultsError(
            f"{rs.dir()} does not exist: "
            f"nothing to verify (run make quick, or make verify PROFILE=...)"
        )
    training = tuple(f"{rs.relative(d)}/" for d in rs.in_progress_dirs()) if running else ()
    in_scope = _scope(question, training)
    return [
        *(check_in_progress(rs, in_scope) if running else []),
        *check_files(rs, in_scope, left_out),
        *check_summary(rs, in_scope),
        *check_histories(rs, in_scope),
        *check_configs(rs, in_scope),
        *check_expected_runs(rs, in_scope),
        *check_aggregates(rs, in_scope),
        *check_figures(rs, question),
        *check_report(rs, in_scope, templates),
    ]


def _scope(question: str | None, training: tuple[str, ...]) -> InScope:
    """Which paths the checks look at: those of ``question`` (all: None), never a file of a
    run in progress (``training``: their folders)."""

    def in_scope(rel: str) -> bool:
        """``rel``: a path under the profile folder; question-level items are passed as
        ``q/``."""
        return (
            question is None or "/" not in rel or rel.split("/")[0] == question
        ) and not rel.startswith(training)

    return in_scope


def check_lock(rs: ResultsSet) -> list[Row]:
    """Whether the results were made, and are checked here, with the versions ``locks/`` pins:
    a ``note`` where not (a re-run on other versions may differ in the last digits)."""
    try:
        made = manifest.read(rs).get("lock") or {}
    except ResultsError:
        made = {}
    here = env.lock_state()
    rows = []
    for check, state in (("lock: results made with", made), ("lock: installed here", here)):
        if state.get("file"):
            verdict = Verdict.OK if state.get("matches") else Verdict.NOTE
            rows.append(
                whole(check, state["file"], "matches", env.lock_differences(state), verdict)
            )
    return rows


def verify(
    rs: ResultsSet,
    question: str | None = None,
    sample: int | None = None,
    tolerance: float = 0.005,
    do_rerun: bool = True,
) -> list[Row]:
    """All checks of the student's own results (runs may be training now: see
    :func:`integrity`); writes ``verification.csv`` and returns its rows."""
    rows = integrity(rs, question, running=True) + check_lock(rs)
    if do_rerun:
        among = None if question else questions.paper(rs).ids
        jobs = reproduce.rerun_jobs(rs, question, sample, among)  # never one in progress
        print(
            f"verify: re-training {len(jobs)} run(s) and seed(s) of "
            + (f"{question}" if question else f"the paper's questions, {', '.join(among or ())}")
            + (" (QUESTION=... for another)" if among else ""),
            flush=True,
        )
        rows += reproduce.rerun(rs, jobs, tolerance)
    storage.write_csv(
        rs.aggregate(layout.VERIFICATION),
        COLUMNS,
        [r.csv() for r in rows],
    )
    return rows
