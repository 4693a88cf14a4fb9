"""The paper's words from its numbers: one notation per quantity, each setting of a run said
once, the results paragraph on the best run, and each note of the statistics table once."""

from __future__ import annotations

from coursework.analysis import stats, stats_table, words
from coursework.analysis.display import plain
from coursework.records import storage
from coursework.records.record import TrainConfig


def test_a_quantity_keeps_one_notation_over_its_values():
    assert [plain(x) for x in (0.09111, 0.00221, 60, 0.5, 12_000)] == [
        "0.091",
        "0.0022",
        "60",
        "0.5",
        "12,000",
    ]
    fixed = words.notation([{"l2_lambda": 0.5}, {"l1_lambda": 0.0017, "learning_rate": 0.1}])
    assert fixed == {"λ": False, "η": False}
    assert [words.number("l1_lambda", x, fixed) for x in (0.5, 0.0017)] == ["0.5", "0.0017"]
    tiny = words.notation([{"l2_lambda": 0.5}, {"l1_lambda": 3.2e-5}])
    assert [words.number("l2_lambda", x, tiny) for x in (0.5, 3.2e-5)] == ["5e-1", "3.2e-5"]
    # a description's own numbers follow the quantity's notation, its words the symbols
    assert (
        words.in_notation("Adam, eta 1e-3; L2 lambda=0.5", fixed) == "Adam, η = 0.001; L2 λ = 0.5"
    )
    assert words.in_notation("λ = 0.5 (λ = 5.0 as chapter 3 scales it)", fixed).count("5.0") == 1


def test_what_sets_a_run_apart_says_each_setting_once():
    cfg = TrainConfig.from_dict(
        {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 32}
        | {"dataset": "mnist", "builder": "mlp:build", "epochs": 1, "seeds": [0]}
    )
    own = {"optimizer": "adam", "learning_rate": "η = 0.001", "batch_size": "mini-batch 32"}
    assert words.setup("Adam, eta 0.001", cfg, own) == "Adam, η = 0.001; mini-batch 32"
    assert words.setup("", cfg, own) == "adam; η = 0.001; mini-batch 32"
    assert not words.said("20 maps of 5x5", "epochs", 20)
    assert words.said("a learning rate of 1e-3", "learning_rate", 0.001)


def lines(accuracies: dict[str, list[float]]) -> list[stats_table.StatsLine]:
    rows = [{k: storage.fmt(v) for k, v in r.items()} for r in stats.question_rows("q", accuracies)]
    return stats_table.stats_table(rows, 1)[0]


def test_the_results_paragraph_names_the_best_run_its_difference_and_what_the_seeds_allow():
    two = lines({"base": [0.80, 0.82], "a": [0.85, 0.86], "b": [0.70, 0.72]})
    shown = {r["name"]: f"{r['mean']} ± {r['sd']}" for r in two}
    said = stats_table.findings(two, shown, {"a": "L2 λ = 0.5"})
    assert said.startswith("The best run is a (L2 λ = 0.5), 85.5 ± 0.7 %: +4.5\u00a0pp")
    assert "With 2 seeds per run there is no test" in said and "larger than" in said
    three = lines({"base": [0.80, 0.81, 0.82], "a": [0.78, 0.79, 0.80]})
    shown = {r["name"]: f"{r['mean']} ± {r['sd']}" for r in three}
    said = stats_table.findings(three, shown, {})
    assert said.startswith("No run is above the baseline base (81.0 ± 1.0 %); the closest is a")
    assert said.endswith(
        "With 3 seeds per run Welch's test gives p = 0.070: within the noise, "
        "so these seeds do not show a difference."
    )
    one = lines({"base": [0.8], "a": [0.9]})
    shown = {r["name"]: r["mean"] for r in one}
    assert "one seed per run" in stats_table.findings(one, shown, {})


def test_the_statistics_table_says_a_shared_note_once_and_drops_empty_columns():
    few = lines({"base": [0.80, 0.82], "a": [0.85, 0.86], "b": [0.70, 0.72]})
    t = stats_table.statistics("Q", few, "With 2 seeds per run there is no test.")
    assert t.columns == ["Run", "Seeds", "Mean", "SD", "Δ (pp)"]
    assert t.caption.count("With 2 seeds per run there is no test.") == 1
    mixed = lines({"base": [0.8, 0.81, 0.82], "a": [0.85, 0.86], "b": [0.7, 0.72], "c": [0.9] * 3})
    t = stats_table.statistics("Q", mixed, "")
    verdicts = [r.cells[t.columns.index("Verdict") - 1] for r in t.rows]
    assert verdicts == ["baseline", "no test", "no test", "beyond noise"]
    assert "a, b: 2 seed(s): an interval and a test need 3." in t.caption
    notes = [r.cells[t.columns.index("Note") - 1] for r in t.rows]
    assert notes[:3] == ["", "", ""] and "no spread" in notes[3]
