"""The results layout: a ResultsSet's paths, where the module docstring says they are."""

from __future__ import annotations

from pathlib import Path

from coursework.records import layout
from coursework.records.layout import ResultsSet


def test_results_set_paths_are_the_layout():
    root = Path("res")
    s = ResultsSet(root, "quick@bees-1a2b3c")
    assert s.profile == "quick"
    assert s.dir() == root / "quick@bees-1a2b3c"
    assert s.question_dir("q") == root / s.name / "q"
    assert s.run_dir("q", "r", 3) == root / s.name / "q" / "r" / "seed-3"
    assert s.tune_dir("q", "r") == root / s.name / "q" / "r" / layout.TUNE
    assert s.trial_dir("q", "r", 7) == root / s.name / "q" / "r" / "tune" / "trial-007"
    assert s.spec_copy("q") == root / s.name / "q" / layout.SPEC
    assert s.figures_dir() == root / s.name / "figures"
    assert s.provenance_file() == s.figures_dir() / layout.PROVENANCE
    assert s.report_dir() == root / s.name / "report"
    assert s.aggregate(layout.SUMMARY) == root / s.name / "summary.csv"
    assert s.slurm_logs() == root / "slurm-logs" / s.name
    assert s.relative(s.run_dir("q", "r", 0) / layout.HISTORY) == "q/r/seed-0/history.csv"


def test_results_set_finds_records(tmp_path):
    s = ResultsSet(tmp_path, "full")
    assert s.record_paths() == [] and s.questions() == [] and s.trial_paths() == []
    path = s.run_dir("q", "r", 0) / layout.RECORD
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    assert s.record_paths() == [path] and s.record_paths("q") == [path]
    assert s.questions() == ["q"]
