"""Numbers as the paper prints them, and the table of verify's checks a marker reads: each
format worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from coursework.analysis import display
from coursework.analysis.checks import Row, Verdict, short, table


def test_accuracies_in_percent_with_their_decimals():
    assert display.pct(0.87654) == "87.65" and display.pct(0.87654, 0) == "88"
    assert display.mean_sd(np.array([0.80, 0.82]), 1) == "81.0 ± 1.4"
    assert display.mean_sd(np.array([0.8]), 1) == "80.0"  # one seed: no spread to give


@pytest.mark.parametrize(
    "n_test, sds, digits",
    [
        (10_000, [], 2),  # one image is 0.01 %
        (100_000, [], 2),  # 0.001 %, but never more than two decimals
        (1_000, [], 1),  # 0.1 %
        (500, [], 1),  # 0.2 %: one decimal resolves it
        (50, [], 0),  # 2 %
        (10_000, [3.5], 1),  # a spread of 3.5 %, to two significant digits: one decimal
        (10_000, [0.35], 2),  # 0.35 %: two
        (10_000, [2.5, 0.04], 2),  # the smallest spread counts, capped at two
        (10_000, [12.0], 0),
        (10_000, [0.0, 0.0], 2),  # no spread: the test set decides
    ],
)
def test_a_questions_decimals_are_what_its_test_set_and_its_seeds_resolve(n_test, sds, digits):
    assert display.decimals(n_test, sds) == digits


def test_settings_parameters_and_p_values_in_the_papers_words():
    assert [display.plain(x) for x in (0.09111, 1e-5, 60, 12_000, True, "adam")] == [
        "0.091",
        "1e-5",
        "60",
        "12,000",
        "True",
        "adam",
    ]
    assert display.plain(0.5, sci=True) == "5e-1" and display.plain(2.2e-3, sci=False) == "0.0022"
    assert display.scientific([0.5, 3e-5]) and not display.scientific([0.5, 1e-4, 20_000])
    assert display.scientific([12_345.5]) and not display.scientific([False, 0])
    assert [display.params_text(n) for n in (7_850, 25_010, 1_234_567)] == [
        "7,850",
        "25k",
        "1.23M",
    ]
    assert [display.p_text(p) for p in ("", "0.0004", "0.0123")] == ["-", "<0.001", "0.012"]
    assert display.macro_key("toy & friends/fc-1.5_x") == "toyfriends/fc-1.5x"
    assert display.dataset_label("npz:/home/me/data/bees.npz") == "npz:bees.npz"
    assert display.dataset_label("folder:/data/photos/") == "folder:photos"
    assert display.dataset_label("mnist-5k") == "mnist-5k"


def test_a_row_passes_on_ok_and_note_and_is_counted_under_its_kind():
    rerun = Row("q/fc", "0", "re-run history: byte-identical", "q/fc/seed-0/history.csv")
    note = Row("-", "", "lock: installed here", "", "3.0", "3.1", Verdict.NOTE)
    edited = Row("q/fc", "1", "file sha256", "q/fc/seed-1/run.json", "ab", "cd", Verdict.EDITED)
    assert rerun.ok and note.ok and not edited.ok
    assert (rerun.kind, note.kind, edited.kind) == ("re-run", "lock", "file sha256")
    assert edited.csv() == {
        "run": "q/fc",
        "seed": "1",
        "check": "file sha256",
        "kind": "file sha256",
        "file": "q/fc/seed-1/run.json",
        "expected": "ab",
        "got": "cd",
        "verdict": "EDITED",
    }
    fine = Row("q/fc", "0", "file sha256", "q/fc/seed-0/run.json")
    shown = table([rerun, note, edited, fine]).splitlines()
    assert shown[0].split() == ["run", "seed", "check", "expected", "got", "verdict"]
    assert len(shown) == 1 + 3 + 1 + 3  # the head, the rows worth reading, a gap, the counts
    assert shown[-1].split() == ["file", "sha256", "1/2", "ok"]
    assert table([fine]).startswith("no failures (and no re-runs asked for)")
    assert short("x" * 50, 10) == "xxxxxxx..." and short("ok", 10) == "ok"
