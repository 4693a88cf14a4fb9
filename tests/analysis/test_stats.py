"""Statistics over seeds: summaries, Welch's test, and the sentence on noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from coursework.analysis import stats, stats_table
from coursework.records import storage


def test_summarise_matches_hand_values_and_scipy():
    s = stats.summarise([1.0, 2.0, 3.0])
    assert s["n"] == 3 and s["mean"] == 2.0 and s["sd"] == 1.0
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, df=2) from tables
    assert s["ci95_low"] == pytest.approx(2 - half) and s["ci95_high"] == pytest.approx(2 + half)
    x = np.array([0.91, 0.935, 0.92, 0.928, 0.917])
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    s = stats.summarise(x)
    assert (s["ci95_low"], s["ci95_high"]) == pytest.approx((lo, hi))
    assert stats.summarise([0.9])["sd"] is None


def test_welch_p_matches_scipy_and_hand_computation():
    a, b = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]
    # by hand: va = 1/3, vb = (5/3)/4; t = -3.5/sqrt(0.75); Welch-Satterthwaite df = 4.959
    t = -3.5 / math.sqrt(0.75)
    df = 0.75**2 / ((1 / 3) ** 2 / 2 + (5 / 12) ** 2 / 3)
    assert df == pytest.approx(4.959, abs=1e-3)
    assert stats.welch_p(a, b) == pytest.approx(2 * sps.t.sf(abs(t), df))
    rng = np.random.default_rng(1)
    for _ in range(5):
        x, y = rng.normal(0.9, 0.01, 4), rng.normal(0.905, 0.02, 3)
        assert stats.welch_p(x, y) == pytest.approx(sps.ttest_ind(x, y, equal_var=False).pvalue)
    assert stats.welch_p([0.9], [0.8, 0.85]) is None
    assert stats.welch_p([0.9, 0.9], [0.9, 0.9]) == 1.0


def test_report_sentence_for_a_difference_within_noise():
    rows = stats.question_rows(
        "q",
        {"base": [0.90, 0.92, 0.91], "same": [0.905, 0.915, 0.92], "better": [0.97, 0.971, 0.972]},
    )
    table, sentence = stats_table.stats_table(
        [{k: storage.fmt(v) for k, v in r.items()} for r in rows]
    )
    assert [r["verdict"] for r in table] == ["baseline", "within noise", "beyond noise"]
    assert "Within noise" in sentence and "same" in sentence.split("Beyond")[0]
    assert "better" in sentence.split("Beyond")[1]
