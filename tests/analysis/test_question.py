"""One question's numbers (analysis.question, stats_table, words) on the recorded set: each
cell the paper prints, worked out here from the runs' own records."""

from __future__ import annotations

import numpy as np

from coursework.analysis import aggregates, tables
from coursework.analysis.contract import QuestionNumbers
from coursework.records import layout, storage
from coursework.records.layout import ResultsSet


def shown(rs: ResultsSet, qid: str) -> QuestionNumbers:
    """The numbers of question ``qid`` as the report shows them."""
    return next(q for q in tables.numbers(rs) if q.id == qid)


def seed_accuracies(rs: ResultsSet, q: str, run: str) -> np.ndarray:
    """A run's test accuracies over its complete seeds, from their records."""
    recs = [storage.read_json(p) for p in sorted((rs.dir() / q / run).glob("seed-*/run.json"))]
    return np.array([r["metrics"]["test_accuracy"] for r in recs if r["status"] == "complete"])


def cells(q: QuestionNumbers, table: str) -> dict[str, dict[str, str]]:
    """Run -> column -> cell of one of the question's tables."""
    t = q.tables[table]
    return {r.run: dict(zip(t.columns[1:], r.cells, strict=True)) for r in t.rows}


def test_three_seeds_give_the_interval_the_test_and_whole_percent_of_50_images(recorded):
    rs = ResultsSet(recorded, "quick")
    q = shown(rs, "toy")
    fc, conv = seed_accuracies(rs, "toy", "fc"), seed_accuracies(rs, "toy", "conv")
    assert q.facts.sizes == "600 / 100 / 50" and q.facts.dataset == "npz:toy.npz"
    assert q.facts.seeds == "3 seeds" and q.facts.baseline == "fc" and q.facts.stats_note == ""
    main = cells(q, "main")
    assert list(q.tables["main"].columns) == ["Run", "Test", "95% CI", "Δ", "Verdict"]
    # 50 test images: one is 2 %, so whole percent
    assert main["fc"]["Test"] == f"{100 * fc.mean():.0f} ± {100 * fc.std(ddof=1):.0f}"
    assert main["conv"]["Δ"] == f"{100 * (conv.mean() - fc.mean()):+.0f}"
    assert main["conv"]["95% CI"].endswith(", 100]")  # the interval stops at 100 %
    stats_cells = cells(q, "stats")["conv"]
    verdict = "within noise" if float(stats_cells["p"]) >= 0.05 else "beyond noise"
    assert main["conv"]["Verdict"] == verdict and main["fc"]["Verdict"] == "baseline"
    per_seed = cells(q, "results")["conv"]["Test per seed"]
    assert per_seed == ", ".join(f"{100 * x:.0f}" for x in conv)
    macros = {(m.key, m.field): m.value for m in q.macros}
    assert macros["toy/conv", "test"] == f"{100 * conv.mean():.0f}"
    assert macros["toy/conv", "seeds"] == "3" and macros["toy/conv", "p"] == stats_cells["p"]
    assert macros["toy/conv", "ci"] == main["conv"]["95% CI"]
    best = "conv" if conv.mean() > fc.mean() else "fc"
    assert q.facts.findings.startswith(f"The best run is {best} (relu), {main[best]['Test']} %")
    assert f"With 3 seeds per run Welch's test gives p = {stats_cells['p']}" in q.facts.findings


def test_two_seeds_say_there_is_no_test_and_why(recorded):
    q = shown(ResultsSet(recorded, "quick"), "pair")
    assert q.tables["main"].columns == ["Run", "Test", "Δ"]
    assert q.facts.stats_note.startswith("With 2 seeds per run there is no confidence interval")
    assert "With 2 seeds per run there is no test" in q.facts.findings
    assert q.tables["stats"].caption.count(q.facts.stats_note) == 1
    assert {(m.key, m.field) for m in q.macros} >= {("pair/fc", "vote"), ("pair/conv", "ci")}


def test_a_failed_seed_is_named_and_the_seeds_are_counted_up_to(recorded):
    rs = ResultsSet(recorded, "quick")
    path = rs.dir() / "toy/conv/seed-2" / layout.RECORD
    storage.write_json(path, {**storage.read_json(path), "status": "failed"})
    aggregates.write_aggregates(rs)
    q = shown(rs, "toy")
    assert q.facts.not_complete == "conv seed 2 (failed)"
    assert q.facts.seeds == "up to 3 seeds"
    assert q.tables["main"].columns == ["Run", "Test", "Δ"]  # conv: 2 seeds, no test
    assert cells(q, "config")["conv"]["Seeds"] == "0, 1"


def test_the_settings_table_says_what_sets_a_run_apart_and_the_layers(recorded):
    q = shown(ResultsSet(recorded, "quick"), "toy")
    assert q.facts.common == "sgd, η = 0.1, mini-batch 32, 2 epochs"
    settings = cells(q, "settings")
    assert settings["conv"]["Setup"] == "relu" and settings["fc"]["Parameters"] == "12.7k"
    layers = cells(q, "architectures")
    assert layers["fc"]["Layers"] == "Dense 16 (12,560), Dense 10 (170)"
    assert layers["conv"]["Layers"].startswith("Conv2D 24x24x4 (104), MaxPooling2D")
