"""The drawings of the gradient flow (:mod:`.gradflow`): per layer with a kernel, from the
input (left) to the output (right), the mean absolute gradient of the kernel on the probe
batch, on a log scale: one curve per epoch for one run and seed (:func:`seed_flow`), or one
curve per run after the first and the last epoch (:func:`flow_comparison`). A gradient that
vanishes in the first layers of a deep network is a curve that falls, leftwards, by orders of
magnitude."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from coursework.records.results import SeedResult
from coursework.report.figstyle import (
    COLUMN,
    SMALLEST,
    TALLEST,
    WIDE,
    legend_columns,
    panels,
    run_legend,
)
from coursework.report.gradflow import (
    Flow,
    chosen_epochs,
    compared_epochs,
    depth,
    epoch_name,
    run_flows,
    same_layers,
)
from coursework.report.styles import COLOURS, run_styles, tuned_runs

NAME = 14  # characters of a layer's name on an axis at most (longer: cut, with an ellipsis)
LABEL_ROOM = 11  # points across one rotated tick label needs at SMALLEST
GRADIENT = "mean |gradient| of the kernel"


def short(name: str) -> str:
    """A layer's name as an axis shows it: at most :data:`NAME` characters."""
    return name if len(name) <= NAME else name[: NAME - 1] + "…"


def layer_ticks(names: tuple[str, ...], width: float) -> tuple[list[int], list[str], bool]:
    """The layers named under an axis ``width`` inches wide: as many as fit (past that, evenly
    spread, the first and the last always among them), their names, and whether they fit
    upright (else rotated)."""
    fit = min(len(names), max(2, int(width * 72 / LABEL_ROOM)))
    ticks = [int(i) for i in np.unique(np.round(np.linspace(0, len(names) - 1, fit)))]
    labels = [short(names[i]) for i in ticks]
    return ticks, labels, sum(map(len, labels)) * SMALLEST * 0.6 < width * 72 * 0.8


def below(names: tuple[str, ...], width: float) -> float:
    """Inches under the axes for the layers' names (:func:`layer_ticks`) and the margin."""
    _, labels, upright = layer_ticks(names, width)
    return 0.35 if upright else 0.08 * max(map(len, labels)) + 0.35


def layer_axis(ax: Axes, names: tuple[str, ...], width: float) -> None:
    """The layers' names under the axis (:func:`layer_ticks`), each layer a minor tick."""
    ticks, labels, upright = layer_ticks(names, width)
    ax.set_xticks(ticks, labels, rotation=0 if upright else 90)
    ax.set_xticks(range(len(names)), minor=True)
    ax.set_xlim(-0.5, len(names) - 0.5)


def log_axis(ax: Axes) -> None:
    """The gradient's axis: logarithmic (a gradient of exactly 0 is no point of it)."""
    ax.set_yscale("log")
    ax.grid(True, which="major", axis="y")


def seed_flow(flow: Flow, run: str, seed: int) -> Figure:
    """One run and seed: a curve per epoch of :func:`.gradflow.chosen_epochs` (at
    initialisation, the first, the middle, the last), in the figures' colours in that order,
    over the network's layers with a kernel (their names below); one column wide, the page
    past 20 layers."""
    n = len(flow.layers)
    width = COLUMN if n <= 20 else WIDE
    fig, ax = plt.subplots(figsize=(width, 2.1 + below(flow.layers, width - 0.6)))
    for colour, epoch in zip(COLOURS, chosen_epochs(flow.epochs), strict=False):
        ax.plot(range(n), flow.at(epoch), "o-", ms=3, color=colour, label=epoch_name(epoch))
    log_axis(ax)
    layer_axis(ax, flow.layers, width - 0.6)
    ax.set(ylabel=GRADIENT, title=f"{run}, seed {seed}: input → output")
    ax.legend(loc="best")
    return fig


def flow_comparison(runs: dict[str, list[SeedResult]]) -> Figure | None:
    """One curve per run (its first seed with a gradient flow, in the run's colour and line
    of every figure of its question), after the first epoch (left) and after its last
    (right), across the page; more than six runs in rows of panels
    (:func:`.figstyle.panels`) sharing the axes, one legend. x: the layers' names where every
    run has the same layers, else each layer's relative depth (the first 0, the last 1).
    None where no run has a gradient flow."""
    flows = run_flows(runs)
    if not flows:
        return None
    names, tuned = list(flows), tuned_runs({r: runs[r] for r in flows})
    styles, groups = run_styles(list(runs), tuned_runs(runs)), panels(names, tuned)
    epochs = compared_epochs([f for _, f in flows.values()])
    shared = same_layers([f for _, f in flows.values()])
    layers = next(iter(flows.values()))[1].layers
    room = below(layers, WIDE / len(epochs) - 0.6) if shared else 0.4
    ncol = legend_columns(names, WIDE)
    legend = 0.15 * math.ceil(len(names) / ncol) + 0.1
    tall = min(1.9, (TALLEST - room) / len(groups)) * len(groups) + room + legend + 0.3
    fig, axes = plt.subplots(
        len(groups), len(epochs), figsize=(WIDE, tall), sharex=True, sharey=True, squeeze=False
    )
    for row, group in zip(axes, groups, strict=True):
        for ax, epoch in zip(row, epochs, strict=True):
            for name in group:
                _, flow = flows[name]
                shown = flow.last if epoch is None else epoch
                if shown not in flow.epochs:
                    continue
                x = range(len(flow.layers)) if shared else depth(len(flow.layers))
                st = {**styles[name], "marker": styles[name]["marker"] or "o"}
                ax.plot(x, flow.at(shown), ms=2.5, label=name, **st)
            log_axis(ax)
    lasts = {f.last for _, f in flows.values()}
    last = f"after the last epoch ({lasts.pop()})" if len(lasts) == 1 else "after the last epoch"
    for ax, epoch in zip(axes[0], epochs, strict=True):
        ax.set_title("after epoch 1" if epoch is not None else last)
    for ax in axes[-1]:
        if shared:
            layer_axis(ax, layers, WIDE / len(epochs) - 0.6)
        else:
            ax.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0", "0.25", "0.5", "0.75", "1"])
            ax.set(xlabel="relative depth (first layer 0, last 1)")
    fig.supylabel(GRADIENT, fontsize=SMALLEST)
    fig.legend(*run_legend(axes.ravel(), groups, ncol), loc="outside lower center", ncol=ncol)
    return fig
