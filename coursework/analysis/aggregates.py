"""The files shared by all runs of a results folder, rewritten from the run folders on disk:
``summary.csv``, ``stats.csv``, ``ensembles.csv`` and ``MANIFEST.json``. Needs no Keras, so
``collect`` (after Slurm array tasks) runs anywhere."""

from __future__ import annotations

from coursework.analysis import ensemble, manifest, stats
from coursework.records import locks, results
from coursework.records.layout import ResultsSet


def write_aggregates(rs: ResultsSet) -> None:
    """summary.csv, stats.csv, ensembles.csv and MANIFEST.json, from all runs on disk."""
    with locks.locked(rs):
        results.write_summary(rs)
        stats.write_stats(rs)
        ensemble.write_ensembles(rs)
        manifest.write(rs)
