"""The statistics table of a question and its sentence on the noise, from ``stats.csv`` rows
(recomputed when the file is missing)."""

from __future__ import annotations

from typing import TypedDict

from coursework.analysis import ensemble, stats
from coursework.analysis.contract import Row
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
