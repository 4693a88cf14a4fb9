"""Statistics over seeds: how much of a difference between two runs is noise.

Per run: mean, sample standard deviation and 95% confidence interval (Student t) of the test
accuracy over its seeds; per run against the question's baseline (its first run in the spec):
Welch's t-test, which does not assume equal variances. Written to
``results/<profile>/stats.csv``, computed from the complete runs' ``run.json`` files alone.

Honest by construction: an interval of accuracies stays within [0, 1]; with fewer than
``MIN_SEEDS`` seeds a run gets no interval and no test (two or three values say almost nothing
about the spread: a t interval from 2 seeds is 12.7 standard errors wide); a test where neither
run varies over seeds is not made. The ``note`` column says why a number is missing.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as sps

from coursework.records import layout, results, spec, storage
from coursework.records.layout import ResultsSet

COLUMNS = [
    "question",
    "run",
    "n",
    "mean",
    "sd",
    "ci95_low",
    "ci95_high",
    "baseline",
    "diff",
    "p_value",
    "within_noise",
    "note",
]
ALPHA = 0.05
MIN_SEEDS = 3  # fewer: no interval, no test


def summarise(values: ArrayLike, bounds: tuple[float, float] | None = None) -> dict[str, Any]:
    """n, mean, sample sd and the 95% Student-t interval of the mean (None where n < 2),
    the interval clipped to ``bounds`` (accuracies: (0, 1))."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 2:
        first = float(x.mean()) if n else None
        return {"n": n, "mean": first, "sd": None, "ci95_low": None, "ci95_high": None}
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    half = float(sps.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(bounds[0], low), min(bounds[1], high)
    return {"n": n, "mean": mean, "sd": sd, "ci95_low": low, "ci95_high": high}


def welch_p(a: ArrayLike, b: ArrayLike) -> float | None:
    """Two-sided p-value of Welch's t-test that ``a`` and ``b`` have the same mean.

    t = (mean_a - mean_b) / sqrt(va/na + vb/nb), degrees of freedom by Welch-Satterthwaite.
    None with fewer than 2 values on a side, or when both sides have no spread at all
    (then 1.0 if the means are equal, 0.0 if they differ). The value is that of
    ``scipy.stats.ttest_ind(a, b, equal_var=False)`` to 2e-15, but not bit for bit: scipy
    orders the arithmetic otherwise, and its p-value differed in the last digits in 7% of
    comparisons of test accuracies (2-5 seeds a side), which ``stats.csv`` writes in full.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff = a.mean() - b.mean()
    if va + vb == 0:
        return 1.0 if diff == 0 else 0.0
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return float(2 * sps.t.sf(abs(t), df))


def noise_verdict(p: float | None) -> str:
    """``yes`` where Welch's p puts the difference within noise, ``no`` beyond, '' untested."""
    if p is None:
        return ""
    return "yes" if p >= ALPHA else "no"


def question_rows(question: str, accuracies: dict[str, list[float]]) -> list[dict[str, Any]]:
    """``accuracies``: run -> test accuracies over seeds, baseline first (spec order)."""
    if not accuracies:
        return []
    baseline = next(iter(accuracies))
    base = accuracies[baseline]
    rows = []
    for run, acc in accuracies.items():
        row = {
            "question": question,
            "run": run,
            **summarise(acc, (0.0, 1.0)),
            "baseline": baseline,
            "diff": None,
            "p_value": None,
            "within_noise": "",
            "note": "",
        }
        if len(acc) < MIN_SEEDS:
            row.update(
                ci95_low=None,
                ci95_high=None,
                note=f"{len(acc)} seed(s): an interval and a test need {MIN_SEEDS}",
            )
        if run != baseline:
            row["diff"] = float(np.mean(acc) - np.mean(base))
            p, note = comparison(run, acc, baseline, base)
            row.update(p_value=p, within_noise=noise_verdict(p), note=row["note"] or note)
        rows.append(row)
    return rows


def comparison(
    run: str, acc: list[float], baseline: str, base: list[float]
) -> tuple[float | None, str]:
    """Welch's p-value of ``run`` against the baseline, or None, with a note on why."""
    if min(len(acc), len(base)) < MIN_SEEDS:
        return None, f"no test: it needs {MIN_SEEDS} seeds in both runs"
    spread = [name for name, v in ((run, acc), (baseline, base)) if min(v) == max(v)]
    if len(spread) == 2:
        return None, (
            "no test: every seed of both runs gave the same accuracy, so there is "
            "no spread to compare the difference with"
        )
    note = (
        f"no spread in {spread[0]} (all seeds equal): the test rests on the other run's "
        "spread alone"
        if spread
        else ""
    )
    return welch_p(acc, base), note


def stats_rows(rs: ResultsSet) -> list[dict[str, Any]]:
    """Rows of ``stats.csv`` for every question with complete runs (baseline: the first run
    of the recorded spec)."""
    rows = []
    for q in rs.questions():
        runs = results.load_question(rs, q, spec.run_order(rs, q))
        rows += question_rows(q, {r: list(results.test_accuracies(s)) for r, s in runs.items()})
    return rows


def write_stats(rs: ResultsSet) -> Path:
    """Rewrite ``stats.csv`` from the results set's runs."""
    path = rs.aggregate(layout.STATS)
    storage.write_csv(path, COLUMNS, stats_rows(rs))
    return path
