"""Every number the report shows, from the results folder alone: no Keras, no model built.

:func:`numbers` turns the run records (``run.json``), ``stats.csv`` and ``ensembles.csv`` of
each question, with its recorded spec, into plain data: text facts and tables whose cells are
display strings (accuracies in %). The report renders exactly these strings and saves them as
``report/numbers.json``; ``make verify`` recomputes them and compares cell by cell.

The contract between this module and its two readers (the report's templates and ``verify``)
is :class:`QuestionNumbers`: facts, tables and ``\\result`` macros, every value a string.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from coursework.analysis import ensemble, stats
from coursework.records import data, results, spec

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
        tables = {name: Table(t["caption"], t["columns"], t["align"],
                              [TableRow(r["run"], r["cells"]) for r in t["rows"]])
                  for name, t in d["tables"].items()}
        return cls(d["id"], d["title"], d["research_question"], d["hypothesis"],
                   Facts(**{f.name: d["facts"][f.name] for f in fields(Facts)
                            if f.name in d["facts"]}), tables,
                   [Macro(**m) for m in d["macros"]])


def pct(x: float, digits: int = 2) -> str:
    return f"{100 * x:.{digits}f}"


def mean_sd(values: np.ndarray) -> str:
    if len(values) > 1:
        return f"{100 * values.mean():.2f} ± {100 * values.std(ddof=1):.2f}"
    return f"{100 * values.mean():.2f}"


def macro_key(text: str) -> str:
    """A safe key for ``\\result{key}{field}``: letters, digits, '-', '.', '/' only."""
    return re.sub(r"[^A-Za-z0-9./-]", "", text)


def run_other(cfg: dict) -> str:
    """What else sets a run apart: activation, penalties, early stopping, augmentation."""
    bits = [cfg["model"]["activation"]] if cfg["model"].get("activation") else []
    for key, label in (("l2_lambda", "L2 lambda"), ("l1_lambda", "L1 lambda"),
                       ("early_stopping", "early stop")):
        if cfg.get(key):
            bits.append(f"{label} {cfg[key]}")
    if cfg.get("augment", "none") != "none":
        bits.append(f"augment {cfg['augment']}")
    if cfg["model"].get("dropout"):
        bits.append(f"dropout {cfg['model']['dropout']}")
    if cfg["optimizer"] == "momentum":
        bits.append(f"momentum {cfg['momentum']}")
    return ", ".join(bits) or "-"


def layers_text(architecture: list[dict]) -> str:
    """The layers that have weights, pooling or dropout: ``Conv2D 24x24x20 (520), ...``."""
    return ", ".join(f"{la['type']} {la['output']} ({la['params']:,})" for la in architecture
                     if la["params"] or la["type"] in POOLS_AND_DROPOUT)


def p_text(p: str) -> str:
    if p == "":
        return "-"
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def table(caption: str, columns: list[str], align: str, rows: list[tuple[str, list]]) -> Table:
    return Table(caption, columns, align,
                 [TableRow(name, [str(c) for c in cells]) for name, cells in rows])


# --------------------------------------------------------------------------- statistics


def verdict(r: dict, baseline: str) -> str:
    """A ``stats.csv`` row's verdict against the baseline, in words."""
    if r["run"] == baseline:
        return "baseline"
    if r["within_noise"]:
        return "within noise" if r["within_noise"] == "yes" else "beyond noise"
    return "no test: too few seeds" if "seed" in r.get("note", "") else "no test"


def stats_table(rows: list[dict]) -> tuple[list[dict], str]:
    """Rows of the statistics table (``stats.csv`` rows of one question, as text) and a plain
    sentence on which differences from the baseline are within noise."""
    out = []
    baseline = rows[0]["baseline"] if rows else ""
    groups: dict[str, list[str]] = {}
    for r in rows:
        ci = (f"[{pct(float(r['ci95_low']))}, {pct(float(r['ci95_high']))}]"
              if r["ci95_low"] != "" else "-")
        v = verdict(r, baseline)
        groups.setdefault(v, []).append(r["run"])
        out.append({"name": r["run"], "n": str(int(r["n"])), "mean": pct(float(r["mean"])),
                    "sd": pct(float(r["sd"])) if r["sd"] != "" else "-", "ci": ci,
                    "diff": f"{100 * float(r['diff']):+.2f}" if r["diff"] != "" else "-",
                    "p": p_text(r["p_value"]), "verdict": v, "note": r.get("note", "")})
    parts = []
    if groups.get("within noise"):
        parts.append(f"Within noise: the difference from the baseline {baseline} is no larger "
                     f"than the spread over seeds (Welch p >= 0.05), so these results do not "
                     f"show a difference: {', '.join(groups['within noise'])}.")
    if groups.get("beyond noise"):
        parts.append(f"Beyond noise: the difference from the baseline {baseline} is larger "
                     f"than the spread over seeds (Welch p < 0.05): "
                     f"{', '.join(groups['beyond noise'])}.")
    if groups.get("no test: too few seeds"):
        parts.append("Not tested: a confidence interval and a test need at least "
                     f"{stats.MIN_SEEDS} seeds per run (with 2 the 95% interval is 12.7 "
                     "standard errors wide); run more seeds (the full profile has them): "
                     f"{', '.join(groups['no test: too few seeds'])}.")
    if groups.get("no test"):
        parts.append("Not tested (see the note in the appendix): "
                     f"{', '.join(groups['no test'])}.")
    return out, " ".join(parts)


def read_aggregate(results_dir: Path, results_set: str, name: str) -> list[dict]:
    """``stats.csv`` or ``ensembles.csv`` rows as text (recomputed if the file is missing)."""
    path = results.set_dir(results_dir, results_set) / name
    if path.exists():
        return results.read_csv(path)
    rows = (stats.stats_rows(results_dir, results_set) if name == results.STATS
            else ensemble.ensemble_rows(results_dir, results_set))
    return [{k: results.fmt(v) for k, v in r.items()} for r in rows]


# --------------------------------------------------------------------------- one question

COMMON = (("optimizer", "{}"), ("learning_rate", "η {}"), ("batch_size", "mini-batch {}"),
          ("epochs", "{} epochs"))


def class_list(ds: dict) -> str:
    """The class names when they say more than the labels (``bee, no-bee``), else ''."""
    names = ds.get("class_names") or []
    if not names or names == [str(i) for i in range(len(names))]:
        return ""
    return ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")


def common_settings(configs: list[dict]) -> tuple[str, list[list[str]]]:
    """What every run shares (a phrase for the methods) and, per run, what it sets apart."""
    shared = [(k, f) for k, f in COMMON if len({str(c[k]) for c in configs}) == 1]
    phrase = ", ".join(f.format(configs[0][k]) for k, f in shared)
    own = [[f.format(c[k]) for k, f in COMMON if (k, f) not in shared] for c in configs]
    return phrase, own


def question(results_dir: Path, results_set: str, qid: str, stats_rows: list[dict],
             ensemble_rows: list[dict]) -> QuestionNumbers | None:
    """Everything the report shows about one question (None without complete runs or a
    recorded spec): facts, tables, the noise sentence and the ``\\result`` macros."""
    s = spec.trained_spec(results_dir, results_set, qid)
    runs = results.load_question(results_dir, results_set, qid,
                                 spec.run_order(results_dir, results_set, qid))
    if not runs or s is None:
        return None
    described = {r.name: r.description for r in s.resolve(results_set)} if (
        results.profile_of(results_set) in s.profiles) else {}
    recs = {name: seeds[0].record for name, seeds in runs.items()}
    phrase, own = common_settings([rec["config"] for rec in recs.values()])
    has_published = any(rec.get("published_accuracy") is not None for rec in recs.values())
    q_stats, noise = stats_table([r for r in stats_rows if r["question"] == qid])
    by_run = {r["name"]: r for r in q_stats}
    rows: dict[str, list] = {k: [] for k in ("settings", "main", "config", "results",
                                             "architectures")}
    macros = []
    for (name, seeds), differs in zip(runs.items(), own, strict=True):
        rec, cfg = recs[name], recs[name]["config"]
        test = results.test_accuracies(seeds)
        val = np.array([x.metrics["best_val_accuracy"] for x in seeds])
        ep = np.array([x.metrics["best_epoch"] for x in seeds])
        secs = np.array([x.metrics["train_seconds"] for x in seeds])
        pub = rec.get("published_accuracy")
        what = "; ".join(x for x in [described.get(name) or run_other(cfg), *differs] if x)
        st = by_run.get(name, {})
        rows["settings"].append((name, [what, f"{rec['params']:,}"]))
        rows["main"].append((name, [mean_sd(test), st.get("ci", "-"), st.get("diff", "-"),
                                    st.get("verdict", "-")]))
        rows["config"].append((name, [cfg["optimizer"], cfg["learning_rate"], cfg["batch_size"],
                                      cfg["epochs"], f"{rec['params']:,}", run_other(cfg),
                                      ", ".join(str(x.seed) for x in seeds)]))
        rows["results"].append((name, [mean_sd(val), mean_sd(test), f"{ep.mean():.1f}",
                                       *([f"{pub:.2f}" if pub is not None else "-"]
                                         if has_published else []),
                                       f"{secs.mean():.1f}", ", ".join(pct(t) for t in test)]))
        rows["architectures"].append((name, [layers_text(rec["architecture"])]))
        key = f"{macro_key(qid)}/{macro_key(name)}"
        macros += [Macro(key, "test", pct(test.mean())),
                   Macro(key, "testsd", pct(test.std(ddof=1)) if len(test) > 1 else "0.00"),
                   Macro(key, "val", pct(val.mean())), Macro(key, "epoch", f"{ep.mean():.1f}"),
                   Macro(key, "params", f"{rec['params']:,}"),
                   Macro(key, "seeds", str(len(seeds))), Macro(key, "ci", st.get("ci", "-")),
                   Macro(key, "p", st.get("p", "-"))]
    ens = sorted((e for e in ensemble_rows if e["question"] == qid),
                 key=lambda e: list(runs).index(e["run"]) if e["run"] in runs else len(runs))
    for e in ens:
        key = f"{macro_key(qid)}/{macro_key(e['run'])}"
        macros += [Macro(key, "vote", pct(float(e["vote_accuracy"]))),
                   Macro(key, "meanprob", pct(float(e["mean_prob_accuracy"])))]
    title, base = s.title, (q_stats[0]["name"] if q_stats else "")
    first = next(iter(recs.values()))
    ds = first["dataset"]
    not_complete = sorted({f"{r['run']} seed {r['seed']} ({r['status']})"
                           for r in results.summary_rows(results_dir, results_set)
                           if r["question"] == qid and r["status"] != "complete"})
    tables = {
        "settings": table(f"{title}: the runs" + (f" (all: {phrase})." if phrase else "."),
                          ["Run", "Setup", "Parameters"], "lXr", rows["settings"]),
        "main": table(f"{title}: test accuracy in % at the epoch of best validation accuracy, "
                      "mean ± standard deviation over seeds, 95% confidence interval of the "
                      f"mean, difference from the baseline {base} in percentage points, and "
                      "Welch's test against it.", ["Run", "Test", "95% CI", "Δ", "Verdict"],
                      "lrrrl", rows["main"]),
        "config": table(f"{title}: every setting of every run.",
                        ["Run", "Optimizer", "η", "Batch", "Epochs", "Parameters", "Other",
                         "Seeds"], "llrrrrll", rows["config"]),
        "results": table(
            f"{title}: accuracy in %, mean ± standard deviation over seeds"
            + (", beside the published figure." if has_published else "."),
            ["Run", "Best validation", "Test", "Best epoch",
             *(["Published"] if has_published else []), "Time (s)", "Test per seed"],
            "lrrr" + ("r" if has_published else "") + "rl", rows["results"]),
        "stats": table(
            f"{title}: test accuracy in % over seeds, its 95% confidence interval (Student t), "
            f"and the difference from the baseline {base} with the p-value of Welch's t-test.",
            ["Run", "Seeds", "Mean", "SD", "95% CI", "Δ (pp)", "p", "Verdict", "Note"],
            "lrrrlrrlp{0.22\\linewidth}",
            [(r["name"], [r[k] for k in ("n", "mean", "sd", "ci", "diff", "p", "verdict",
                                         "note")]) for r in q_stats]),
        "architectures": table(f"{title}: architectures (trainable parameters).",
                               ["Run", "Layers"], "lp{0.75\\linewidth}", rows["architectures"]),
        "ensembles": table(
            f"{title}: ensembles over seeds (test accuracy in %).",
            ["Run", "Members", "Majority vote", "Mean probability", "Mean member"], "lrrrr",
            [(e["run"], [e["members"], pct(float(e["vote_accuracy"])),
                         pct(float(e["mean_prob_accuracy"])),
                         pct(float(e["mean_member_accuracy"]))]) for e in ens]),
    }
    sizes = " / ".join(f"{ds['sizes'][k]:,}" for k in ("train", "val", "test"))
    cite, citation = data.CITATIONS.get(ds["name"], ("", ""))
    facts = Facts(dataset=ds["name"], shape="×".join(map(str, ds["input_shape"])),
                  classes=str(ds["num_classes"]), sizes=sizes, common=phrase,
                  class_names=class_list(ds), seeds=str(max(len(x) for x in runs.values())),
                  baseline=base, noise=noise, not_complete=", ".join(not_complete),
                  tuning=tuning_text(recs), cite=cite, citation=citation)
    return QuestionNumbers(qid, title, s.research_question, s.hypothesis, facts, tables, macros)


def tuning_text(recs: dict[str, dict]) -> str:
    """The sentence on the tuned runs: how many trials, what was chosen, and that the choice
    used the validation split only ('' without tuned runs)."""
    parts = []
    for name, rec in recs.items():
        t = rec.get("tuned") or {}
        if not t.get("params"):
            continue
        chosen = ", ".join(f"{k.removeprefix('model.')} {v:.3g}" if isinstance(v, float)
                           else f"{k.removeprefix('model.')} {v}"
                           for k, v in t["params"].items())
        parts.append(f"{name} ({chosen}: the best of {t['trials']} {t['sampler']} trials of "
                     f"{t['epochs']} epochs" + (f", {t['pruned']} pruned" if t.get("pruned")
                                               else "") + ")")
    if not parts:
        return ""
    return ("Tuned on the validation split (an Optuna study per run; no trial saw the test "
            "data): " + "; ".join(parts) + ".")


def numbers(results_dir: Path, results_set: str, order: list[str] | None = None
            ) -> list[QuestionNumbers]:
    """:func:`question` for every question with results, in ``order`` (default: the project's
    questions first, in file-name order)."""
    stats_rows = read_aggregate(results_dir, results_set, results.STATS)
    ensemble_rows = read_aggregate(results_dir, results_set, results.ENSEMBLES)
    order = order if order is not None else spec.all_questions()
    present = sorted(results.questions(results_dir, results_set),
                     key=lambda q: (order.index(q) if q in order else len(order), q))
    out = [question(results_dir, results_set, q, stats_rows, ensemble_rows) for q in present]
    return [q for q in out if q is not None]


def environment(results_dir: Path, results_set: str) -> list[list[str]]:
    """The environment of the runs (from the first run record): [label, value] rows."""
    paths = results.record_paths(results_dir, results_set)
    if not paths:
        return []
    e = results.read_json(paths[0])["environment"]
    gpus = ", ".join(g.get("name") or g.get("device", "") for g in e.get("gpus", [])) or "none"
    return [["Python", e["python"]], ["Backend", f"{e['backend']} {e['backend_version']}"],
            ["Keras", e["keras"]], ["NumPy", e["numpy"]], ["Platform", e["platform"]],
            ["CPU", f"{e['cpu']} ({e.get('cpu_count')} cores)"], ["GPU", gpus]]
