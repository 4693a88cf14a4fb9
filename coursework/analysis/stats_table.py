"""The statistics table of a question, its sentence on the noise and the results paragraph's
sentences on the best run, from ``stats.csv`` rows (recomputed when the file is missing)."""

from __future__ import annotations

from typing import TypedDict

from coursework.analysis import ensemble, stats
from coursework.analysis.contract import Row, Table, table
from coursework.analysis.display import p_text, pct
from coursework.records import layout, storage
from coursework.records.layout import ResultsSet


class StatsLine(TypedDict):
    """One run of the statistics table, as text (accuracies in %)."""

    name: str
    n: str
    mean: str
    sd: str
    ci: str
    diff: str
    p: str
    verdict: str
    note: str


def verdict(r: Row, baseline: str) -> str:
    """A ``stats.csv`` row's verdict against the baseline, in words."""
    if r["run"] == baseline:
        return "baseline"
    if r["within_noise"]:
        return "within noise" if r["within_noise"] == "yes" else "beyond noise"
    return "no test: too few seeds" if "seed" in r.get("note", "") else "no test"


def stats_line(r: Row, v: str, digits: int) -> StatsLine:
    """A ``stats.csv`` row as the table prints it, with its verdict ``v``."""
    ci = (
        f"[{pct(float(r['ci95_low']), digits)}, {pct(float(r['ci95_high']), digits)}]"
        if r["ci95_low"] != ""
        else "-"
    )
    return {
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


def noise_sentence(groups: dict[str, list[str]], baseline: str) -> str:
    """Which runs differ from the baseline within and beyond the noise, in words."""
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
    return " ".join(parts)


def stats_table(rows: list[Row], digits: int = 2) -> tuple[list[StatsLine], str]:
    """Rows of the statistics table (``stats.csv`` rows of one question, as text, accuracies
    with ``digits`` decimals) and a plain sentence on which differences from the baseline are
    within noise (nothing on runs too few seeds could test: the table's caption says it)."""
    out = []
    baseline = rows[0]["baseline"] if rows else ""
    groups: dict[str, list[str]] = {}
    for r in rows:
        v = verdict(r, baseline)
        groups.setdefault(v, []).append(r["run"])
        out.append(stats_line(r, v, digits))
    return out, noise_sentence(groups, baseline)


def read_aggregate(rs: ResultsSet, name: str) -> list[Row]:
    """``stats.csv`` or ``ensembles.csv`` rows as text (recomputed if the file is missing)."""
    path = rs.dir() / name
    if path.exists():
        return storage.read_csv(path)
    rows = stats.stats_rows(rs) if name == layout.STATS else ensemble.ensemble_rows(rs)
    return [{k: storage.fmt(v) for k, v in r.items()} for r in rows]


PP = "\u00a0pp"  # percentage points, never alone at a line's start


def caveat(best: StatsLine, base: StatsLine) -> str:
    """What the seeds allow one to say of the best run's difference from the baseline: with
    one seed nothing, with two how it compares with the spread, with more Welch's test."""
    n = min(int(best["n"]), int(base["n"]))
    if n < 2:
        return "With one seed per run there is no spread to weigh it against and no test."
    if n < stats.MIN_SEEDS:
        sd = max((best["sd"], base["sd"]), key=float)
        within = abs(float(best["diff"])) <= float(sd)
        return (
            f"With {n} seeds per run there is no test; the difference is "
            f"{'within' if within else 'larger than'} the spread over seeds (standard "
            f"deviation up to {sd}{PP})"
            + (", so it may be noise." if within else ", which more seeds would have to confirm.")
        )
    if best["p"] == "-":
        return f"With {n} seeds per run Welch's test cannot be made: {best['note']}."
    p = best["p"] if best["p"].startswith("<") else f"= {best['p']}"
    return f"With {n} seeds per run Welch's test gives p {p}: " + (
        "the difference is beyond the noise."
        if best["verdict"] == "beyond noise"
        else "within the noise, so these seeds do not show a difference."
    )


def findings(lines: list[StatsLine], shown: dict[str, str], phrases: dict[str, str]) -> str:
    """The results paragraph on the best run other than the baseline: its accuracy and its
    difference from the baseline as the main table prints them (``shown``: run -> mean ± sd;
    ``phrases``: run -> its settings as the settings table writes them), and what the seeds
    allow one to claim ('' without two runs)."""
    if len(lines) < 2 or any(r["name"] not in shown for r in lines):
        return ""
    mean = {name: float(text.split("±")[0]) for name, text in shown.items()}
    base = lines[0]
    others = [r for name in shown for r in lines[1:] if r["name"] == name]
    best = max(others, key=lambda r: mean[r["name"]])
    name = best["name"] + (f" ({phrases[best['name']]})" if phrases.get(best["name"]) else "")
    what = f"{name}, {shown[best['name']]} %: {best['diff']}{PP} from the baseline"
    head = (
        f"The best run is {what} {base['name']} ({shown[base['name']]} %)."
        if mean[best["name"]] > mean[base["name"]]
        else f"No run is above the baseline {base['name']} ({shown[base['name']]} %); "
        f"the closest is {what}."
    )
    return f"{head} {caveat(best, base)}"


STATS_COLUMNS = (  # label, LaTeX alignment
    ("Seeds", "r"),
    ("Mean", "r"),
    ("SD", "r"),
    ("95% CI", "l"),
    ("Δ (pp)", "r"),
    ("p", "r"),
    ("Verdict", "l"),
    ("Note", "p{0.22\\linewidth}"),
)
TESTED = ("95% CI", "p", "Verdict")  # the columns that say nothing where no run was tested


def stats_cell(r: StatsLine, label: str, shared: list[str]) -> str:
    """A cell of the statistics table: a verdict without its reason (the note says it), a
    note that several runs share left to the caption."""
    return {
        "Seeds": r["n"],
        "Mean": r["mean"],
        "SD": r["sd"],
        "95% CI": r["ci"],
        "Δ (pp)": r["diff"],
        "p": r["p"],
        "Verdict": r["verdict"].split(":")[0],
        "Note": "" if r["note"] in shared else r["note"],
    }[label]


def statistics(title: str, lines: list[StatsLine], few: str) -> Table:
    """The appendix's statistics table, each thing said once: no interval, test or verdict
    columns where no run could be tested (``few``: the sentence why, for the caption), a note
    that several runs share in the caption, the others in their rows."""
    base = lines[0]["name"] if lines else ""
    tested = any(r["p"] != "-" or r["ci"] != "-" for r in lines)
    runs: dict[str, list[str]] = {}
    for r in lines:
        if r["note"]:
            runs.setdefault(r["note"], []).append(r["name"])
    shared = [text for text, names in runs.items() if len(names) > 1]
    said = [
        few if few and len(runs[text]) == len(lines) else f"{', '.join(runs[text])}: {text}."
        for text in shared
    ]
    alone = any(r["note"] and r["note"] not in shared for r in lines)
    columns = [
        (label, align)
        for label, align in STATS_COLUMNS
        if (tested or label not in TESTED) and (label != "Note" or alone)
    ]
    caption = (
        f"{title}: test accuracy in % over seeds"
        + (", its 95% confidence interval (Student t)," if tested else "")
        + f" and the difference from the baseline {base}"
        + (" with the p-value of Welch's t-test." if tested else " in percentage points.")
    )
    return table(
        " ".join([caption, *dict.fromkeys(said)]),
        ["Run", *(label for label, _ in columns)],
        "l" + "".join(align for _, align in columns),
        [(r["name"], [stats_cell(r, label, shared) for label, _ in columns]) for r in lines],
    )
