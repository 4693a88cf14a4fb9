"""The files shared by all runs of a results folder, rewritten from the run folders on disk:
``summary.csv``, ``stats.csv``, ``ensembles.csv`` and ``MANIFEST.json``. Needs no Keras, so
``collect`` (after Slurm array tasks) runs anywhere."""

from __future__ import annotations

from pathlib import Path

from coursework.analysis import ensemble, manifest, stats
from coursework.records import results


def write_aggregates(results_dir: Path, results_set: str) -> None:
    """summary.csv, stats.csv, ensembles.csv and MANIFEST.json, from all runs on disk."""
    with results.locked(results_dir, results_set):
        results.write_summary(results_dir, results_set)
        stats.write_stats(results_dir, results_set)
        ensemble.write_ensembles(results_dir, results_set)
        manifest.write(results_dir, results_set)
