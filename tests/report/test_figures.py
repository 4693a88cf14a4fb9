"""Figures that say one thing each: at most six runs in a panel, one legend per figure, every
run one colour and line style of its own (the same in every figure of its question), a tuned
run beside its untuned sibling, in its colour, at the printed size."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.text import Text

from coursework import lab
from coursework.records import spec as specs
from coursework.records.layout import ResultsSet
from coursework.records.record import RunRecord, Tuned
from coursework.records.results import SeedResult
from coursework.report import drawings, figstyle, plots, styles
from coursework.report.figstyle import COLUMN, SMALLEST, WIDE
from tests.helpers import CONFIG, run_cli, toy_spec

MOST = 6  # runs in one panel at most
KEYS = {"validation", "training"}  # the legend's entries that name no run


def spec_runs(question: str) -> tuple[list[str], set[str]]:
    """A question's run names (spec order, quick profile) and its tuned runs."""
    runs = specs.load(question, builders=False).resolve("quick")
    return [r.name for r in runs], {r.name for r in runs if r.tune is not None}


def fake_runs(
    names: list[str], tuned: set[str], seeds: int = 2, epochs: int = 6
) -> dict[str, list[SeedResult]]:
    """SeedResults as ``load_question`` returns them, with made-up histories; a tuned run's
    record has its ``tuned`` params, as training writes them."""
    rng = np.random.default_rng(0)
    out = {}
    for i, name in enumerate(names):
        seeds_ = []
        for seed in range(seeds):
            top = 0.80 + 0.15 * rng.random()
            acc = top - (top - 0.3) * np.exp(-np.arange(1, epochs + 1) / (1 + i % 3))
            hist = [
                {
                    "epoch": e + 1,
                    "loss": 2 * (1 - a),
                    "accuracy": a + 0.02,
                    "val_loss": 2.1 * (1 - a),
                    "val_accuracy": a,
                }
                for e, a in enumerate(acc)
            ]
            parts = {"question": "q", "run": name, "profile": "quick", "seed": seed}
            metrics = {"test_accuracy": float(acc[-1] - 0.01)}
            parts |= {"status": "complete", "spec_file": "", "config": CONFIG, "metrics": metrics}
            rec = RunRecord.from_parts(parts, name)
            if name in tuned:
                rec = rec.with_(tuned=Tuned.of_best({"params": {"learning_rate": 0.1}, "trial": 3}))
            seeds_.append(SeedResult(seed, rec, hist, Path("/nonexistent") / name))
        out[name] = seeds_
    return out


def run_lines(ax) -> dict[str, object]:
    """Run name -> its labelled line in the axis (labels starting '_' are no legend's)."""
    return {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}


def line_key(line) -> tuple:
    """A line's colour and style; its dash pattern too (get_linestyle says '--' for any dash
    pattern of more than a named style: matplotlib has no public getter of the pattern)."""
    return (
        to_hex(line.get_color()),
        line.get_linestyle(),
        str(getattr(line, "_unscaled_dash_pattern", "")),
    )


def check(fig, names: list[str], tuned: set[str], width: float) -> dict[str, tuple]:
    """The rules every multi-run figure keeps; returns run -> (colour, line style)."""
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.has_data()]
    # no axis holds more than six runs' curves: labelled or not (training lines)
    for ax in axes:
        assert len(run_lines(ax)) <= MOST, [ln for ln in run_lines(ax)]
        styles = {line_key(ln) for ln in ax.get_lines()}
        assert len(styles) <= MOST, styles
    # one legend for the figure, every run in it once, nothing twice
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)
    texts = [t.get_text() for t in fig.legends[0].get_texts() if t.get_text()]  # "": gaps
    assert len(texts) == len(set(texts)), texts
    assert sorted(t for t in texts if t not in KEYS) == sorted(names)
    # each run's panel and style
    where, style = {}, {}
    for i, ax in enumerate(axes):
        for name, ln in run_lines(ax).items():
            where.setdefault(name, set()).add(i)
            assert style.setdefault(name, line_key(ln)) == line_key(ln), name
    assert set(style) == set(names)
    for a, b in itertools.combinations(names, 2):
        assert style[a] != style[b], (a, b, style[a])
    panels = {frozenset(where[n]) for n in names}
    assert len(texts) - len(KEYS & set(texts)) <= MOST * len(panels)
    for t in tuned:
        base = t.removesuffix("-tuned")
        if t != base and base in names:
            assert style[t][0] == style[base][0] and style[t][1:] != style[base][1:], t
            assert where[t] == where[base], t
    # panels share their limits; printed size; no text under 7 pt
    assert fig.get_size_inches()[0] == pytest.approx(width)
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip():
            assert t.get_fontsize() >= SMALLEST, (t.get_text(), t.get_fontsize())
    return style


@pytest.mark.parametrize("question", ["regularisation", "batchnorm", "conv", "nielsen"])
def test_val_and_curves_hold_six_runs_a_panel_each_run_its_own_style(question):
    names, tuned = spec_runs(question)
    runs = fake_runs(names, tuned)
    val = drawings.validation(runs)
    seen = check(val, names, tuned, COLUMN)
    ymin = [ax.get_ylim() for ax in val.axes if ax.has_data()]
    assert len(set(ymin)) == 1  # every panel on the same scale
    assert val.get_size_inches()[1] <= 4.6
    if len(names) <= MOST:
        assert len([ax for ax in val.axes if ax.has_data()]) == 1
    curves = drawings.curves(runs)
    assert check(curves, names, tuned, WIDE) == seen  # the same run, the same line
    if len(names) <= MOST:
        assert len([ax for ax in curves.axes if ax.has_data()]) == 2
    # training and validation lines of a run: its colour and style, told apart by weight
    for ax in curves.axes:
        by_key: dict[tuple, list] = {}
        for ln in ax.get_lines():
            by_key.setdefault(line_key(ln), []).append(ln)
        for lines in by_key.values():
            assert len({ln.get_linewidth() for ln in lines}) == len(lines) == 2
    # the comparison colours each run as the curves do
    comp = drawings.comparison(runs)
    [ax] = comp.axes
    colours = {c.get_label(): to_hex(c.lines[0].get_color()) for c in ax.containers}
    assert colours == {n: seen[n][0] for n in names}


def test_many_runs_stay_distinct_and_tuned_runs_stay_with_their_sibling():
    names = [f"r{i}" for i in range(20)] + ["r3-tuned", "r9-tuned", "r17-tuned"]
    tuned = {"r3-tuned", "r9-tuned", "r17-tuned", "r5"}  # r5: tuned, no sibling
    looks = styles.run_styles(names, tuned)
    keys = [(s["color"], str(s["ls"])) for s in looks.values()]
    assert len(set(keys)) == len(names)
    groups = figstyle.panels(names, tuned)
    assert sorted(n for g in groups for n in g) == sorted(names)
    assert max(map(len, groups)) <= MOST
    for t in ("r3-tuned", "r9-tuned", "r17-tuned"):
        [g] = [g for g in groups if t in g]
        assert t.removesuffix("-tuned") in g
    # the spec's order: panels in it, a tuned run right after its sibling
    flat = [n for g in groups for n in g]
    assert flat.index("r3-tuned") == flat.index("r3") + 1
    assert [n for n in flat if "-" not in n] == names[:20]
    runs = fake_runs(names, tuned, seeds=1, epochs=4)
    check(drawings.validation(runs), names, tuned, COLUMN)
    check(drawings.curves(runs), names, tuned, WIDE)


def test_the_live_view_uses_the_reports_styles_and_panels(tmp_path, monkeypatch):
    names, tuned = spec_runs("batchnorm")
    view = lab.Live("batchnorm", "quick", None, [0], tmp_path, None)
    monkeypatch.setattr(
        view,
        "_rows",
        lambda name, seed: [
            {"val_accuracy": 0.5 + 0.01 * i + 0.001 * e}
            for i, n in enumerate(names)
            if n == name
            for e in range(3)
        ],
    )
    fig = view.figure()
    check(fig, names, tuned, fig.get_size_inches()[0])
    report = check(drawings.validation(fake_runs(names, tuned)), names, tuned, COLUMN)
    for ax in fig.axes:
        for name, ln in run_lines(ax).items():
            assert line_key(ln) == report[name]


@pytest.mark.slow
def test_figures_of_many_trained_runs_keep_the_rules(tmp_path, tiny_npz):
    names = ["base", "wide", "deep", "relu", "tanh", "drop", "small", "big"]
    toml = "".join(
        f'[[runs]]\nname = "{n}"\nmodel = {{ conv_maps = [], hidden = [{4 + i}] }}\n'
        for i, n in enumerate(names)
    )
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", runs=toml, epochs=1)
    res = tmp_path / "results"
    assert run_cli("--results", res, "run", spec) == 0
    figs = {f.name: f for f in plots.question_figures(ResultsSet(res, "quick"), "toy")}
    seen = check(figs["toy-val"].draw(), names, set(), COLUMN)
    assert check(figs["toy-curves"].draw(), names, set(), WIDE) == seen
    paths = plots.all_figures(ResultsSet(res, "quick")).paths
    assert ResultsSet(res, "quick").figures_dir() / "toy-val.png" in paths
