"""The numbers of one question: its runs' records, ``stats.csv`` and ``ensembles.csv`` rows
and its recorded spec turned into the facts, tables and macros of :class:`QuestionNumbers`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coursework.analysis import stats
from coursework.analysis.contract import Facts, Macro, QuestionNumbers, Record, Row, Table, table
from coursework.analysis.display import (
    dataset_label,
    macro_key,
    mean_sd,
    params_text,
    pct,
    run_decimals,
)
from coursework.analysis.stats_table import StatsLine, findings, statistics, stats_table
from coursework.analysis.words import (
    Notation,
    class_list,
    common_settings,
    deviations,
    flat,
    layers_text,
    notation,
    number,
    run_bits,
    run_other,
    setup,
    tuning_text,
)
from coursework.data.named import CITATIONS
from coursework.records import results, spec
from coursework.records.layout import ResultsSet
from coursework.records.record import RunRecord, Status, TrainConfig

Cells = list[tuple[str, list[object]]]  # a table's rows before they become text


@dataclass
class Runs:
    """A question's complete runs, what the rows of its tables are built from."""

    qid: str
    seeds: dict[str, list[results.SeedResult]]  # run -> its complete seeds
    recs: dict[str, RunRecord]  # run -> the record of its first seed
    configs: dict[str, TrainConfig]  # run -> its training config (its first seed's)
    described: dict[str, str]  # run -> its description in the spec (this profile's)
    digits: int  # the decimals of every accuracy (:func:`run_decimals`)
    n_seeds: int  # the fewest seeds of a run
    has_published: bool  # whether a run records a published accuracy
    by_run: dict[str, StatsLine]  # run -> its line of the statistics table
    notes: Notation  # quantity -> whether it is written in scientific notation
    rows: dict[str, Cells] = field(default_factory=dict)
    macros: list[Macro] = field(default_factory=list)


def seed_metric(seeds: list[results.SeedResult], key: str) -> np.ndarray:
    """One metric of a run's seeds, as an array."""
    return np.array([x.metrics[key] for x in seeds])


def run_rows(q: Runs, name: str, differs: dict[str, str]) -> None:
    """One run's rows of the settings, main, config, results and architecture tables
    (``differs``: the shared settings it has its own value of, key -> phrase)."""
    seeds, rec, d = q.seeds[name], q.recs[name], q.digits
    cfg = q.configs[name]
    test = results.test_accuracies(seeds)
    val, ep = seed_metric(seeds, "best_val_accuracy"), seed_metric(seeds, "best_epoch")
    secs = seed_metric(seeds, "train_seconds")
    pub = rec.published_accuracy
    what = setup(q.described.get(name) or "", cfg, differs, q.notes)
    st = q.by_run.get(name)
    q.rows["settings"].append((name, [what, params_text(rec.params or 0)]))
    tested = [st["ci"], st["diff"], st["verdict"]] if st else ["-", "-", "-"]
    q.rows["main"].append(
        (name, [mean_sd(test, d), *(tested if q.n_seeds >= stats.MIN_SEEDS else tested[1:2])])
    )
    q.rows["config"].append(
        (
            name,
            [
                cfg.optimizer,
                number("learning_rate", cfg.learning_rate, q.notes),
                cfg.batch_size,
                cfg.epochs,
                f"{rec.params:,}",
                run_other(cfg, q.notes),
                ", ".join(str(x.seed) for x in seeds),
            ],
        )
    )
    q.rows["results"].append(
        (
            name,
            [
                mean_sd(val, d),
                mean_sd(test, d),
                f"{ep.mean():.1f}",
                *([f"{pub:.2f}" if pub is not None else "-"] if q.has_published else []),
                f"{secs.mean():.1f}",
                ", ".join(pct(t, d) for t in test),
            ],
        )
    )
    q.rows["architectures"].append((name, [layers_text(rec.architecture or [])]))


def run_macros(q: Runs, name: str) -> None:
    """One run's ``\\result`` macros: its accuracies, epoch, parameters, seeds and test."""
    seeds, rec, d = q.seeds[name], q.recs[name], q.digits
    test = results.test_accuracies(seeds)
    val, ep = seed_metric(seeds, "best_val_accuracy"), seed_metric(seeds, "best_epoch")
    st = q.by_run.get(name)
    key = f"{macro_key(q.qid)}/{macro_key(name)}"
    q.macros += [
        Macro(key, "test", pct(test.mean(), d)),
        Macro(key, "testsd", pct(test.std(ddof=1), d) if len(test) > 1 else f"{0:.{d}f}"),
        Macro(key, "val", pct(val.mean(), d)),
        Macro(key, "epoch", f"{ep.mean():.1f}"),
        Macro(key, "params", f"{rec.params:,}"),
        Macro(key, "seeds", str(len(seeds))),
        Macro(key, "ci", st["ci"] if st else "-"),
        Macro(key, "p", st["p"] if st else "-"),
    ]


def ensembles(q: Runs, ensemble_rows: list[Row]) -> list[Row]:
    """The question's ``ensembles.csv`` rows in run order; their macros added to ``q``."""
    runs = list(q.seeds)
    ens = sorted(
        (e for e in ensemble_rows if e["question"] == q.qid),
        key=lambda e: runs.index(e["run"]) if e["run"] in runs else len(runs),
    )
    for e in ens:
        key = f"{macro_key(q.qid)}/{macro_key(e['run'])}"
        q.macros += [
            Macro(key, "vote", pct(float(e["vote_accuracy"]), q.digits)),
            Macro(key, "meanprob", pct(float(e["mean_prob_accuracy"]), q.digits)),
        ]
    return ens


def stats_note(n_seeds: int) -> str:
    """Why the main table has no interval or test ('' with enough seeds)."""
    if n_seeds >= stats.MIN_SEEDS:
        return ""
    return (
        f"With {n_seeds} seed{'s' if n_seeds > 1 else ''} per run there is no confidence "
        f"interval or test of the difference: they need at least {stats.MIN_SEEDS} (the full "
        "profile has them)."
    )


def main_table(q: Runs, title: str, base: str, note: str) -> Table:
    """The body's table: test accuracy, and the test against the baseline where it can be."""
    caption = f"{title}: test accuracy in % at the epoch of best validation accuracy, " + (
        "mean ± standard deviation over seeds, 95% confidence interval of the mean, "
        f"difference from the baseline {base} in percentage points, and Welch's test "
        "against it."
        if not note
        else ("mean ± standard deviation over seeds" if q.n_seeds > 1 else "one seed")
        + f", and the difference from the baseline {base} in percentage points. "
        + note
    )
    return table(
        caption,
        ["Run", "Test", "95% CI", "Δ", "Verdict"] if not note else ["Run", "Test", "Δ"],
        "lrrrl" if not note else "lrr",
        q.rows["main"],
    )


def results_table(q: Runs, title: str) -> Table:
    """The appendix's accuracies: validation, test, epoch, time, each seed's test."""
    return table(
        f"{title}: accuracy in %, mean ± standard deviation over seeds"
        + (", beside the published figure." if q.has_published else "."),
        [
            "Run",
            "Best validation",
            "Test",
            "Best epoch",
            *(["Published"] if q.has_published else []),
            "Time (s)",
            "Test per seed",
        ],
        "lrrr" + ("r" if q.has_published else "") + "rl",
        q.rows["results"],
    )


def all_tables(
    q: Runs, title: str, q_stats: list[StatsLine], ens: list[Row], note: str
) -> dict[str, Table]:
    """Every table of a question, by name (:data:`contract.TABLES`)."""
    base, d = (q_stats[0]["name"] if q_stats else ""), q.digits
    return {
        "settings": table(
            f"{title}: the runs and what sets each apart.",
            ["Run", "Setup", "Parameters"],
            "lXr",
            q.rows["settings"],
        ),
        "main": main_table(q, title, base, note),
        "config": table(
            f"{title}: every setting of every run.",
            ["Run", "Optimizer", "η", "Batch", "Epochs", "Parameters", "Other", "Seeds"],
            "llrrrrll",
            q.rows["config"],
        ),
        "results": results_table(q, title),
        "stats": statistics(title, q_stats, note),
        "architectures": table(
            f"{title}: architectures (trainable parameters).",
            ["Run", "Layers"],
            "lp{0.75\\linewidth}",
            q.rows["architectures"],
        ),
        "ensembles": table(
            f"{title}: ensembles over seeds (test accuracy in %).",
            ["Run", "Members", "Majority vote", "Mean probability", "Mean member"],
            "lrrrr",
            [
                (
                    e["run"],
                    [
                        e["members"],
                        *(pct(float(e[k]), d) for k in ENSEMBLE_ACCURACIES),
                    ],
                )
                for e in ens
            ],
        ),
    }


ENSEMBLE_ACCURACIES = ("vote_accuracy", "mean_prob_accuracy", "mean_member_accuracy")


def dataset_facts(ds: Record) -> dict[str, str]:
    """The facts of a question's dataset, from a run's record: its name as the paper gives
    it, shape, classes, split sizes, class names and the work to cite for it."""
    cite, citation = CITATIONS.get(ds["name"], ("", ""))
    return {
        "dataset": dataset_label(ds["name"]),
        "shape": "×".join(map(str, ds["input_shape"])),
        "classes": str(ds["num_classes"]),
        "sizes": " / ".join(f"{ds['sizes'][k]:,}" for k in ("train", "val", "test")),
        "class_names": class_list(ds),
        "cite": cite,
        "citation": citation,
    }


def question_notation(s: spec.Spec, recs: dict[str, RunRecord]) -> Notation:
    """The notation of each quantity over every value the question prints: its runs'
    settings, the values their tuning chose and the full profile's settings."""
    settings = [flat(rec.config) for rec in recs.values()]
    settings += [(rec.tuned.params if rec.tuned else None) or {} for rec in recs.values()]
    if "full" in s.profiles:
        settings += [flat(r.config) for r in s.resolve("full")]
    return notation(settings)


def settings_phrases(q: Runs, own: list[dict[str, str]]) -> dict[str, str]:
    """Run -> what sets it apart in the settings' notation (what every run shares left out):
    how the results paragraph names a run."""
    bits = {
        name: [*run_bits(cfg, q.notes), *differs.values()]
        for (name, cfg), differs in zip(q.configs.items(), own, strict=True)
    }
    everyone = set.intersection(*(set(b) for b in bits.values()))
    return {name: ", ".join(b for b in bs if b not in everyone) for name, bs in bits.items()}


def seeds_text(counts: list[int]) -> str:
    """How many seeds the runs have, in words: ``one seed``, ``3 seeds``, ``up to 3 seeds``."""
    most = max(counts)
    return ("up to " if min(counts) < most else "") + ("one seed" if most == 1 else f"{most} seeds")


def not_complete(rs: ResultsSet, qid: str) -> str:
    """The seeds of the question that did not complete, with their status."""
    return ", ".join(
        sorted(
            {
                f"{r['run']} seed {r['seed']} ({r['status']})"
                for r in results.summary_rows(rs)
                if r["question"] == qid and r["status"] != Status.COMPLETE
            }
        )
    )


def question(
    rs: ResultsSet,
    qid: str,
    stats_rows: list[Row],
    ensemble_rows: list[Row],
) -> QuestionNumbers | None:
    """Everything the report shows about one question (None without complete runs or a
    recorded spec): facts, tables, the noise sentence and the ``\\result`` macros."""
    s = spec.trained_spec(rs, qid)
    runs = results.load_question(rs, qid, spec.run_order(rs, qid))
    if not runs or s is None:
        return None
    profile = rs.profile
    recs = {name: seeds[0].record for name, seeds in runs.items()}
    configs = {name: rec.config for name, rec in recs.items()}
    notes = question_notation(s, recs)
    phrase, own = common_settings(list(configs.values()), notes)
    d = run_decimals(runs)
    q_stats, noise = stats_table([r for r in stats_rows if r["question"] == qid], d)
    q = Runs(
        qid=qid,
        seeds=runs,
        recs=recs,
        configs=configs,
        described={r.name: r.description for r in s.resolve(rs.name)}
        if profile in s.profiles
        else {},
        digits=d,
        n_seeds=min(len(x) for x in runs.values()),
        has_published=any(rec.published_accuracy is not None for rec in recs.values()),
        by_run={r["name"]: r for r in q_stats},
        notes=notes,
        rows={k: [] for k in ("settings", "main", "config", "results", "architectures")},
    )
    for name, differs in zip(runs, own, strict=True):
        run_rows(q, name, differs)
        run_macros(q, name)
    ens = ensembles(q, ensemble_rows)
    note = stats_note(q.n_seeds)
    facts = dataset_facts(next(iter(recs.values())).dataset)
    facts.update(
        common=phrase,
        seeds=seeds_text([len(x) for x in runs.values()]),
        baseline=q_stats[0]["name"] if q_stats else "",
        noise=noise,
        not_complete=not_complete(rs, qid),
        tuning=tuning_text(recs, notes),
        deviations=deviations(s, profile, recs, notes),
        stats_note=note,
        findings=findings(
            q_stats, {n: str(cells[0]) for n, cells in q.rows["main"]}, settings_phrases(q, own)
        ),
    )
    tables = all_tables(q, s.title, q_stats, ens, note)
    return QuestionNumbers(
        qid, s.title, s.research_question, s.hypothesis, Facts(**facts), tables, q.macros
    )
