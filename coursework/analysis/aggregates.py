"""The files shared by all runs of a results folder, rewritten from the run folders on disk:
``summary.csv``, ``stats.csv``, ``ensembles.csv`` and ``MANIFEST.json``. Needs no Keras, so
``collect`` (after Slurm array tasks) runs anywhere."""

from __future__ import annotations

from coursework.analysis import ensemble, manifest, stats
from coursework.records import layout, locks, results
from coursework.records.errors import ResultsError
from coursework.records.layout import ResultsSet

FILES = (layout.SUMMARY, layout.STATS, layout.ENSEMBLES, layout.MANIFEST)


def write_aggregates(rs: ResultsSet) -> None:
    """summary.csv, stats.csv, ensembles.csv and MANIFEST.json, from all runs on disk."""
    with locks.locked(rs):
        results.write_summary(rs)
        stats.write_stats(rs)
        ensemble.write_ensembles(rs)
        manifest.write(rs)


def current(rs: ResultsSet) -> bool:
    """Whether the shared files are there and newer than every record they are made from
    (each run's and trial's ``run.json``, each study's choice, each question's recorded
    spec), and listing those records and no others (a run folder deleted since): a command
    that trained nothing leaves them alone (rewriting them, the manifest's hashes of every
    file, took seconds), unless an earlier one was stopped before it wrote them."""
    made = [rs.aggregate(name) for name in FILES]
    if not all(p.exists() for p in made):
        return False
    oldest = min(p.stat().st_mtime_ns for p in made)
    sources = [
        *rs.record_paths(),
        *rs.trial_paths(),
        *rs.study_choices(),
        *(rs.spec_copy(q) for q in rs.questions()),
    ]
    if not all(p.stat().st_mtime_ns <= oldest for p in sources if p.exists()):
        return False
    try:  # and of these records, none gone since: a deleted run folder is news too
        listed = set(manifest.read(rs).get("files", {}))
    except ResultsError:
        return False
    records = {rs.relative(p) for p in [*rs.record_paths(), *rs.trial_paths()]}
    return {f for f in listed if f.endswith(f"/{layout.RECORD}")} == records
