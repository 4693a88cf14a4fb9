"""The files shared by all runs of a results folder, rewritten from the run folders on disk:
``summary.csv``, ``stats.csv``, ``ensembles.csv`` and ``MANIFEST.json``. Needs no Keras, so
``collect`` (after Slurm array tasks) runs anywhere."""

from __future__ import annotations

from pathlib import Path

from coursework.analysis import ensemble, manifest, stats
from coursework.records import results
from coursework.records.layout import ResultsSet


def write_aggregates(results_dir: Path, results_set: str) -> None:
    """summary.csv, stats.csv, ensembles.csv and MANIFEST.json, from all runs on disk."""
    rs = ResultsSet(results_dir, results_set)  # engine/ passes the pair until issue 31 step 3
    with results.locked(rs.root, rs.name):
        results.write_summary(rs.root, rs.name)
        stats.write_stats(rs)
        ensemble.write_ensembles(rs)
        manifest.write(rs)
