"""How each run is drawn, in every figure of its question and on the results page: its
colour, line and marker. Without matplotlib (``make page`` draws the runs as the figures do and
stays quick); :mod:`.figstyle` re-exports it for the figures."""

from __future__ import annotations

from typing import Any

from coursework.records.results import SeedResult

# Okabe & Ito's colour-blind-safe palette (yellow left out: it vanishes on white); with more
# runs than colours the line style changes too (run_styles)
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999999"]

TUNED = "-tuned"  # a tuned run's name: its untuned sibling's, and this
# per round of the colours (8 runs, then 8 more...): the line of a run, that of its tuned
# sibling, and a marker from the second round on (rounds after these: dash patterns)
PAIRS = [("-", "--"), (":", "-.")]
MARKERS = [None, "o", "s", "^", "D", "v"]


def tuned_runs(runs: dict[str, list[SeedResult]]) -> set[str]:
    """The runs whose records hold the parameters a study chose for them."""
    return {name for name, seeds in runs.items() if any(s.record.tuned for s in seeds)}


def siblings(names: list[str], tuned: set[str]) -> dict[str, str]:
    """Tuned run -> its untuned sibling: a tuned run named ``<base>-tuned`` whose ``base`` is a
    run of the question (and no such tuned run itself)."""
    pairs = {
        n: n.removesuffix(TUNED)
        for n in names
        if n in tuned and n.endswith(TUNED) and n.removesuffix(TUNED) in names
    }
    return {n: base for n, base in pairs.items() if base not in pairs}


def families(names: list[str], tuned: set[str]) -> list[list[str]]:
    """The runs in the spec's order, each tuned run moved to just after its sibling."""
    sib = siblings(names, tuned)
    return [[n, *(t for t in names if sib.get(t) == n)] for n in names if n not in sib]


def _lines(round_: int) -> tuple[Any, Any]:
    """The line styles of a run and of its tuned sibling in one round of the colours."""
    if round_ < len(PAIRS):
        return PAIRS[round_]
    dash = 2.0 + round_  # longer dashes each round: never a pattern of an earlier one
    return (0, (dash, 1.5)), (0, (dash, 1.5, 1.0, 1.5))


def run_styles(names: list[str], tuned: set[str]) -> dict[str, dict[str, Any]]:
    """Run -> its ``color``, ``ls`` and ``marker`` (matplotlib keywords) in every figure of
    its question: a colour per run (Okabe & Ito's, in the spec's order), solid; a tuned run in
    its sibling's colour, dashed; past eight runs the colours come round again, dotted (tuned:
    dash-dot) and with markers, so that no two runs share a colour and a line."""
    out = {}
    for i, family in enumerate(families(names, tuned)):
        round_ = i // len(COLOURS)
        for name, ls in zip(family, _lines(round_), strict=False):
            out[name] = {
                "color": COLOURS[i % len(COLOURS)],
                "ls": ls,
                "marker": MARKERS[round_ % len(MARKERS)],
            }
    return out
