"""Every number the report shows, from the results folder alone: no Keras, no model built.

:func:`numbers` turns the run records (``run.json``), ``stats.csv`` and ``ensembles.csv`` of
each question, with its recorded spec, into plain data: text facts and tables whose cells are
display strings (accuracies in %). The report renders exactly these strings and saves them as
``report/numbers.json``; ``make verify`` recomputes them and compares cell by cell.

The contract between this module and its two readers (the report's templates and ``verify``)
is :class:`QuestionNumbers`: facts, tables and ``\\result`` macros, every value a string.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from coursework.analysis import ensemble, stats
from coursework.records import data, results, spec
from coursework.records.project import ROOT

POOLS_AND_DROPOUT = ("MaxPooling2D", "AveragePooling2D", "L2Pooling2D", "Dropout")


@dataclass
class TableRow:
    run: str  # the first column
    cells: list[str]  # the others, one per remaining column label


@dataclass
class Table:
    caption: str
    columns: list[str]  # labels, the run's first
    align: str  # LaTeX column types, e.g. "lrr"
    rows: list[TableRow]


@dataclass
class Facts:
    """The text of a question's methods and results paragraphs."""

    dataset: str
    shape: str  # "28×28×1"
    classes: str
    sizes: str  # "50,000 / 10,000 / 10,000": training / validation / test
    common: str  # the settings every run shares
    class_names: str
    seeds: str
    baseline: str
    noise: str  # the sentence on which differences are within the noise
    not_complete: str
    tuning: str = ""  # how the tuned runs chose their parameters, on the validation split
    citation: str = ""  # the work to cite for a dataset known by name: "LeCun et al. 1998"
    cite: str = ""  # its BibTeX key: "lecun1998"
    deviations: str = ""  # what this profile changes against the question's full setting
    stats_note: str = ""  # why the main table has no interval or test (too few seeds)


@dataclass
class Macro:
    """``\\result{key}{field}`` in the student's prose gives ``value``."""

    key: str  # "question/run"
    field: str  # test, testsd, val, epoch, params, seeds, ci, p, vote, meanprob
    value: str


TABLES = ("settings", "main", "config", "results", "stats", "architectures", "ensembles")


@dataclass
class QuestionNumbers:
    """Everything the report shows about one question, as display strings."""

    id: str
    title: str
    research_question: str
    hypothesis: str
    facts: Facts
    tables: dict[str, Table]  # by name: TABLES
    macros: list[Macro]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> QuestionNumbers:
        """Read back what :meth:`to_json` wrote (``report/numbers.json``)."""
        tables = {
            name: Table(
                t["caption"],
                t["columns"],
                t["align"],
                [TableRow(r["run"], r["cells"]) for r in t["rows"]],
            )
            for name, t in d["tables"].items()
        }
        return cls(
            d["id"],
            d["title"],
            d["research_question"],
            d["hypothesis"],
            Facts(**{f.name: d["facts"][f.name] for f in fields(Facts) if f.name in d["facts"]}),
            tables,
            [Macro(**m) for m in d["macros"]],
        )


def pct(x: float, digits: int = 2) -> str:
    return f"{100 * x:.{digits}f}"


def mean_sd(values: np.ndarray, digits: int = 2) -> str:
    if len(values) > 1:
        return f"{100 * values.mean():.{digits}f} ± {100 * values.std(ddof=1):.{digits}f}"
    return f"{100 * values.mean():.{digits}f}"


def decimals(n_test: int, sds: list[float]) -> int:
    """Decimals of a question's accuracies in %: no more than its test set resolves (one
    image is 100/n %: 500 images, 0.2 %, one decimal) and than the spread over seeds
    supports (the smallest standard deviation, in %, to two significant digits), at most
    two; one for every accuracy of the question, so that a column has one."""
    res = max(0, math.ceil(-math.log10(100 / max(n_test, 1)) - 1e-9))
    spread = [sd for sd in sds if sd > 0]
    by_sd = max(0, 1 - math.floor(math.log10(min(spread)))) if spread else res
    return min(2, res, by_sd)


def dataset_label(name: str) -> str:
    """A dataset as the paper names it: a named one as it is, one of files by its kind and
    file or folder name (``npz:/home/me/data/bees.npz`` -> ``npz:bees.npz``): a path would
    run out of the column."""
    kind, sep, rest = name.partition(":")
    return f"{kind}:{Path(rest.rstrip('/')).name}" if sep and "/" in rest else name


def run_decimals(runs: dict[str, list[results.SeedResult]]) -> int:
    """:func:`decimals` for a question's runs (run -> its seeds): what its tables, macros and
    the comparison figure print."""
    first = next(iter(runs.values()))[0].record
    n_test = first.get("dataset", {}).get("sizes", {}).get("test", 10_000)  # a record's
    return decimals(
        n_test, [100 * results.test_accuracies(x).std(ddof=1) for x in runs.values() if len(x) > 1]
    )


def plain(x: object, digits: int = 2) -> str:
    """A setting as a paper writes it: ``0.09111`` -> ``0.091``, ``0.00221`` -> ``2.2e-3``,
    ``60`` -> ``60``; text as it is."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if float(x).is_integer():
        return f"{int(x):,}" if abs(x) >= 10_000 else str(int(x))
    if 1e-2 <= abs(x) < 1e4:
        return f"{x:.{digits}g}"
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def params_text(n: int) -> str:
    """A parameter count for the body: ``7,850``, ``25.0k``, ``1.23M`` (three significant
    digits once it has five; the appendix has the exact count)."""
    if n < 10_000:
        return f"{n:,}"
    return f"{n / 1000:.3g}k" if n < 1_000_000 else f"{n / 1e6:.3g}M"


def macro_key(text: str) -> str:
    """A safe key for ``\\result{key}{field}``: letters, digits, '-', '.', '/' only."""
    return re.sub(r"[^A-Za-z0-9./-]", "", text)


def run_other(cfg: dict) -> str:
    """What else sets a run apart: activation, penalties, early stopping, augmentation."""
    bits = [cfg["model"]["activation"]] if cfg["model"].get("activation") else []
    for key, label in (
        ("l2_lambda", "L2 λ = {}"),
        ("l1_lambda", "L1 λ = {}"),
        ("early_stopping", "early stopping, patience {}"),
    ):
        if cfg.get(key):
            bits.append(label.format(plain(cfg[key])))
    if cfg.get("augment", "none") != "none":
        bits.append(f"augment {cfg['augment']}")
    if cfg["model"].get("dropout"):
        bits.append(f"dropout {plain(cfg['model']['dropout'])}")
    if cfg["optimizer"] == "momentum":
        bits.append(f"momentum {plain(cfg['momentum'])}")
    return ", ".join(bits) or "-"


def layers_text(architecture: list[dict]) -> str:
    """The layers that have weights, pooling or dropout: ``Conv2D 24x24x20 (520), ...``."""
    return ", ".join(
        f"{la['type']} {la['output']} ({la['params']:,})"
        for la in architecture
        if la["params"] or la["type"] in POOLS_AND_DROPOUT
    )


def p_text(p: str) -> str:
    if p == "":
        return "-"
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def table(caption: str, columns: list[str], align: str, rows: list[tuple[str, list]]) -> Table:
    return Table(
        caption, columns, align, [TableRow(name, [str(c) for c in cells]) for name, cells in rows]
    )


# --------------------------------------------------------------------------- statistics


def verdict(r: dict, baseline: str) -> str:
    """A ``stats.csv`` row's verdict against the baseline, in words."""
    if r["run"] == baseline:
        return "baseline"
    if r["within_noise"]:
        return "within noise" if r["within_noise"] == "yes" else "beyond noise"
    return "no test: too few seeds" if "seed" in r.get("note", "") else "no test"


def stats_table(rows: list[dict], digits: int = 2) -> tuple[list[dict], str]:
    """Rows of the statistics table (``stats.csv`` rows of one question, as text, accuracies
    with ``digits`` decimals) and a plain sentence on which differences from the baseline are
    within noise (nothing on runs too few seeds could test: the table's caption says it)."""
    out = []
    baseline = rows[0]["baseline"] if rows else ""
    groups: dict[str, list[str]] = {}
    for r in rows:
        ci = (
            f"[{pct(float(r['ci95_low']), digits)}, {pct(float(r['ci95_high']), digits)}]"
            if r["ci95_low"] != ""
            else "-"
        )
        v = verdict(r, baseline)
        groups.setdefault(v, []).append(r["run"])
        out.append(
            {
                "name": r["run"],
                "n": str(int(r["n"])),
                "mean": pct(float(r["mean"]), digits),
                "sd": pct(float(r["sd"]), digits) if r["sd"] != "" else "-",
                "ci": ci,
                "diff": f"{100 * float(r['diff']):+.{digits}f}" if r["diff"] != "" else "-",
                "p": p_text(r["p_value"]),
                "verdict": v,
                "note": r.get("note", ""),
            }
        )
    parts = []
    if groups.get("within noise"):
        parts.append(
            f"Within noise: the difference from the baseline {baseline} is no larger "
            f"than the spread over seeds (Welch p >= 0.05), so these results do not "
            f"show a difference: {', '.join(groups['within noise'])}."
        )
    if groups.get("beyond noise"):
        parts.append(
            f"Beyond noise: the difference from the baseline {baseline} is larger "
            f"than the spread over seeds (Welch p < 0.05): "
            f"{', '.join(groups['beyond noise'])}."
        )
    if groups.get("no test"):
        parts.append(f"Not tested (see the note in the appendix): {', '.join(groups['no test'])}.")
    return out, " ".join(parts)


def read_aggregate(results_dir: Path, results_set: str, name: str) -> list[dict]:
    """``stats.csv`` or ``ensembles.csv`` rows as text (recomputed if the file is missing)."""
    path = results.set_dir(results_dir, results_set) / name
    if path.exists():
        return results.read_csv(path)
    rows = (
        stats.stats_rows(results_dir, results_set)
        if name == results.STATS
        else ensemble.ensemble_rows(results_dir, results_set)
    )
    return [{k: results.fmt(v) for k, v in r.items()} for r in rows]


# --------------------------------------------------------------------------- one question

COMMON = (
    ("optimizer", "{}"),
    ("learning_rate", "η = {}"),
    ("batch_size", "mini-batch {}"),
    ("epochs", "{} epochs"),
)
SETTING_WORDS = {
    "dataset": "dataset {}",
    "epochs": "{} epochs",
    "batch_size": "mini-batch {}",
    "learning_rate": "η = {}",
    "optimizer": "{}",
    "l2_lambda": "L2 λ = {}",
    "l1_lambda": "L1 λ = {}",
    "early_stopping": "early-stopping patience {}",
    "augment": "augmentation {}",
    "momentum": "momentum {}",
    "model.activation": "{} units",
    "model.dropout": "dropout {}",
    "seeds": "{} seeds",
}


def class_list(ds: dict) -> str:
    """The class names when they say more than the labels (``bee, no-bee``), else ''."""
    names = ds.get("class_names") or []
    if not names or names == [str(i) for i in range(len(names))]:
        return ""
    return ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")


def common_settings(configs: list[dict]) -> tuple[str, list[list[str]]]:
    """What every run shares (a phrase for the methods) and, per run, what it sets apart."""
    shared = [(k, f) for k, f in COMMON if len({str(c[k]) for c in configs}) == 1]
    phrase = ", ".join(f.format(plain(configs[0][k])) for k, f in shared)
    own = [[f.format(plain(c[k])) for k, f in COMMON if (k, f) not in shared] for c in configs]
    return phrase, own


def flat(cfg: dict) -> dict[str, object]:
    """A config with its model's keys as ``model.<key>``."""
    out = {k: v for k, v in cfg.items() if k != "model"}
    out.update({f"model.{k}": v for k, v in cfg.get("model", {}).items()})
    return out


def builder_defaults(builder: str) -> dict[str, object]:
    """The defaults of a builder's keyword arguments (``conv:build`` -> ``{"activation":
    "sigmoid", ...}``), read from its source, not imported (no Keras here)."""
    module, _, func = builder.partition(":")
    path = ROOT / "models" / f"{module}.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == func:
            args = node.args.args[len(node.args.args) - len(node.args.defaults) :]
            out = {}
            for a, d in zip(args, node.args.defaults, strict=True):
                try:
                    out[a.arg] = ast.literal_eval(d)
                except ValueError:
                    continue
            return out
    return {}


def value_text(key: str, value: object) -> str:
    if isinstance(value, list):
        return str(len(value)) if key == "seeds" else "[" + ", ".join(map(str, value)) + "]"
    return "the default" if value is None else plain(value)


def setting(key: str, value: object) -> str:
    """A setting in words: ``η = 0.01``, ``relu units``, ``4 epochs``."""
    return SETTING_WORDS.get(key, key.removeprefix("model.") + " {}").format(value_text(key, value))


def deviations(s: spec.Spec, profile: str, recs: dict[str, dict]) -> str:
    """One sentence on what ``profile`` changes against the question's full setting (the
    one its research question and hypothesis speak of); '' for the full profile."""
    if profile == "full" or "full" not in s.profiles:
        return ""
    full = {r.name: flat(r.config) for r in s.resolve("full")}
    changes: dict[str, list[str]] = {}  # change -> runs
    for name, rec in recs.items():
        if name not in full:
            continue
        mine, theirs = flat(rec["config"]), full[name]
        defaults = {
            f"model.{k}": v for k, v in builder_defaults(rec["config"].get("builder", "")).items()
        }
        chosen = set((rec.get("tuned") or {}).get("params") or {})  # the tuning's, said there
        for key in sorted((set(mine) | set(theirs)) - chosen):
            a = mine.get(key, defaults.get(key))
            b = theirs.get(key, defaults.get(key))
            if a != b and key != "builder":
                text = f"{setting(key, a)} instead of {value_text(key, b)}"
                changes.setdefault(text, []).append(name)
    if not changes:
        return ""
    everyone = [c for c, runs in changes.items() if len(runs) == len(recs)]
    some = [f"{c} for {', '.join(runs)}" for c, runs in changes.items() if c not in everyone]
    return (
        f"The {profile} profile departs from the question's full setting: "
        + "; ".join(everyone + some)
        + "."
    )


def question(
    results_dir: Path, results_set: str, qid: str, stats_rows: list[dict], ensemble_rows: list[dict]
) -> QuestionNumbers | None:
    """Everything the report shows about one question (None without complete runs or a
    recorded spec): facts, tables, the noise sentence and the ``\\result`` macros."""
    s = spec.trained_spec(results_dir, results_set, qid)
    runs = results.load_question(
        results_dir, results_set, qid, spec.run_order(results_dir, results_set, qid)
    )
    if not runs or s is None:
        return None
    described = (
        {r.name: r.description for r in s.resolve(results_set)}
        if (results.profile_of(results_set) in s.profiles)
        else {}
    )
    recs = {name: seeds[0].record for name, seeds in runs.items()}
    phrase, own = common_settings([rec["config"] for rec in recs.values()])
    has_published = any(rec.get("published_accuracy") is not None for rec in recs.values())
    first = next(iter(recs.values()))
    ds = first["dataset"]
    n_seeds = min(len(x) for x in runs.values())
    d = run_decimals(runs)
    q_stats, noise = stats_table([r for r in stats_rows if r["question"] == qid], d)
    by_run = {r["name"]: r for r in q_stats}
    rows: dict[str, list] = {
        k: [] for k in ("settings", "main", "config", "results", "architectures")
    }
    macros = []
    for (name, seeds), differs in zip(runs.items(), own, strict=True):
        rec, cfg = recs[name], recs[name]["config"]
        test = results.test_accuracies(seeds)
        val = np.array([x.metrics["best_val_accuracy"] for x in seeds])
        ep = np.array([x.metrics["best_epoch"] for x in seeds])
        secs = np.array([x.metrics["train_seconds"] for x in seeds])
        pub = rec.get("published_accuracy")
        own_words = described.get(name) or run_other(cfg)
        what = "; ".join(
            x for x in [own_words, *(x for x in differs if x.split()[-1] not in own_words)] if x
        )
        st = by_run.get(name, {})
        rows["settings"].append((name, [what, params_text(rec["params"])]))
        tested = [st.get("ci", "-"), st.get("diff", "-"), st.get("verdict", "-")]
        rows["main"].append(
            (name, [mean_sd(test, d), *(tested if n_seeds >= stats.MIN_SEEDS else tested[1:2])])
        )
        rows["config"].append(
            (
                name,
                [
                    cfg["optimizer"],
                    plain(cfg["learning_rate"]),
                    cfg["batch_size"],
                    cfg["epochs"],
                    f"{rec['params']:,}",
                    run_other(cfg),
                    ", ".join(str(x.seed) for x in seeds),
                ],
            )
        )
        rows["results"].append(
            (
                name,
                [
                    mean_sd(val, d),
                    mean_sd(test, d),
                    f"{ep.mean():.1f}",
                    *([f"{pub:.2f}" if pub is not None else "-"] if has_published else []),
                    f"{secs.mean():.1f}",
                    ", ".join(pct(t, d) for t in test),
                ],
            )
        )
        rows["architectures"].append((name, [layers_text(rec["architecture"])]))
        key = f"{macro_key(qid)}/{macro_key(name)}"
        macros += [
            Macro(key, "test", pct(test.mean(), d)),
            Macro(key, "testsd", pct(test.std(ddof=1), d) if len(test) > 1 else f"{0:.{d}f}"),
            Macro(key, "val", pct(val.mean(), d)),
            Macro(key, "epoch", f"{ep.mean():.1f}"),
            Macro(key, "params", f"{rec['params']:,}"),
            Macro(key, "seeds", str(len(seeds))),
            Macro(key, "ci", st.get("ci", "-")),
            Macro(key, "p", st.get("p", "-")),
        ]
    ens = sorted(
        (e for e in ensemble_rows if e["question"] == qid),
        key=lambda e: list(runs).index(e["run"]) if e["run"] in runs else len(runs),
    )
    for e in ens:
        key = f"{macro_key(qid)}/{macro_key(e['run'])}"
        macros += [
            Macro(key, "vote", pct(float(e["vote_accuracy"]), d)),
            Macro(key, "meanprob", pct(float(e["mean_prob_accuracy"]), d)),
        ]
    title, base = s.title, (q_stats[0]["name"] if q_stats else "")
    stats_note = (
        ""
        if n_seeds >= stats.MIN_SEEDS
        else (
            f"With {n_seeds} seed{'s' if n_seeds > 1 else ''} per run there is no confidence "
            f"interval or test of the difference: they need at least {stats.MIN_SEEDS} (the full "
            "profile has them)."
        )
    )
    main_caption = f"{title}: test accuracy in % at the epoch of best validation accuracy, " + (
        "mean ± standard deviation over seeds, 95% confidence interval of the mean, "
        f"difference from the baseline {base} in percentage points, and Welch's test "
        "against it."
        if not stats_note
        else ("mean ± standard deviation over seeds" if n_seeds > 1 else "one seed")
        + f", and the difference from the baseline {base} in percentage points. "
        + stats_note
    )
    not_complete = sorted(
        {
            f"{r['run']} seed {r['seed']} ({r['status']})"
            for r in results.summary_rows(results_dir, results_set)
            if r["question"] == qid and r["status"] != "complete"
        }
    )
    tables = {
        "settings": table(
            f"{title}: the runs and what sets each apart.",
            ["Run", "Setup", "Parameters"],
            "lXr",
            rows["settings"],
        ),
        "main": table(
            main_caption,
            ["Run", "Test", "95% CI", "Δ", "Verdict"] if not stats_note else ["Run", "Test", "Δ"],
            "lrrrl" if not stats_note else "lrr",
            rows["main"],
        ),
        "config": table(
            f"{title}: every setting of every run.",
            ["Run", "Optimizer", "η", "Batch", "Epochs", "Parameters", "Other", "Seeds"],
            "llrrrrll",
            rows["config"],
        ),
        "results": table(
            f"{title}: accuracy in %, mean ± standard deviation over seeds"
            + (", beside the published figure." if has_published else "."),
            [
                "Run",
                "Best validation",
                "Test",
                "Best epoch",
                *(["Published"] if has_published else []),
                "Time (s)",
                "Test per seed",
            ],
            "lrrr" + ("r" if has_published else "") + "rl",
            rows["results"],
        ),
        "stats": table(
            f"{title}: test accuracy in % over seeds, its 95% confidence interval (Student t), "
            f"and the difference from the baseline {base} with the p-value of Welch's t-test.",
            ["Run", "Seeds", "Mean", "SD", "95% CI", "Δ (pp)", "p", "Verdict", "Note"],
            "lrrrlrrlp{0.22\\linewidth}",
            [
                (
                    r["name"],
                    [r[k] for k in ("n", "mean", "sd", "ci", "diff", "p", "verdict", "note")],
                )
                for r in q_stats
            ],
        ),
        "architectures": table(
            f"{title}: architectures (trainable parameters).",
            ["Run", "Layers"],
            "lp{0.75\\linewidth}",
            rows["architectures"],
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
                        pct(float(e["vote_accuracy"]), d),
                        pct(float(e["mean_prob_accuracy"]), d),
                        pct(float(e["mean_member_accuracy"]), d),
                    ],
                )
                for e in ens
            ],
        ),
    }
    sizes = " / ".join(f"{ds['sizes'][k]:,}" for k in ("train", "val", "test"))
    cite, citation = data.CITATIONS.get(ds["name"], ("", ""))
    facts = Facts(
        dataset=dataset_label(ds["name"]),
        shape="×".join(map(str, ds["input_shape"])),
        classes=str(ds["num_classes"]),
        sizes=sizes,
        common=phrase,
        class_names=class_list(ds),
        seeds=str(max(len(x) for x in runs.values())),
        baseline=base,
        noise=noise,
        not_complete=", ".join(not_complete),
        tuning=tuning_text(recs),
        cite=cite,
        citation=citation,
        deviations=deviations(s, results.profile_of(results_set), recs),
        stats_note=stats_note,
    )
    return QuestionNumbers(qid, title, s.research_question, s.hypothesis, facts, tables, macros)


def tuning_text(recs: dict[str, dict]) -> str:
    """The sentence on the tuned runs: how many trials, what was chosen, and that the choice
    used the validation split only ('' without tuned runs)."""
    parts = []
    for name, rec in recs.items():
        t = rec.get("tuned") or {}
        if not t.get("params"):
            continue
        chosen = ", ".join(setting(k, v) for k, v in t["params"].items())
        parts.append(
            f"{name} ({chosen}: the best of {t['trials']} {t['sampler']} trials of "
            f"{t['epochs']} epochs" + (f", {t['pruned']} pruned" if t.get("pruned") else "") + ")"
        )
    if not parts:
        return ""
    return (
        "Tuned on the validation split (an Optuna study per run; no trial saw the test "
        "data): " + "; ".join(parts) + "."
    )


def numbers(
    results_dir: Path, results_set: str, order: list[str] | None = None
) -> list[QuestionNumbers]:
    """:func:`question` for every question with results, in ``order`` (default: the project's
    questions first, in file-name order)."""
    stats_rows = read_aggregate(results_dir, results_set, results.STATS)
    ensemble_rows = read_aggregate(results_dir, results_set, results.ENSEMBLES)
    order = order if order is not None else spec.all_questions()
    present = sorted(
        results.questions(results_dir, results_set),
        key=lambda q: (order.index(q) if q in order else len(order), q),
    )
    out = [question(results_dir, results_set, q, stats_rows, ensemble_rows) for q in present]
    return [q for q in out if q is not None]


def environment(results_dir: Path, results_set: str) -> list[list[str]]:
    """The environment of the runs (from the first run record): [label, value] rows."""
    paths = results.record_paths(results_dir, results_set)
    if not paths:
        return []
    e = results.read_json(paths[0])["environment"]
    gpus = ", ".join(g.get("name") or g.get("device", "") for g in e.get("gpus", [])) or "none"
    return [
        ["Python", e["python"]],
        ["Backend", f"{e['backend']} {e['backend_version']}"],
        ["Keras", e["keras"]],
        ["NumPy", e["numpy"]],
        ["Platform", e["platform"]],
        ["CPU", f"{e['cpu']} ({e.get('cpu_count')} cores)"],
        ["GPU", gpus],
    ]
