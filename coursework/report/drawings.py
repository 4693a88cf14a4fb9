"""The drawings of a question's figures, each from its runs' records, histories or
predictions: validation and training curves, the comparison of runs, the confusion matrix,
misclassified images, first-layer filters, the published figures and the tuning studies.
Each returns a figure, or None where there is nothing to show."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from coursework.analysis.display import pct, run_decimals
from coursework.analysis.words import SETTING_WORDS
from coursework.records import layout, results, spec, storage
from coursework.records.errors import ResultsError
from coursework.records.layout import ResultsSet
from coursework.records.record import RunRecord, Status
from coursework.records.results import SeedResult
from coursework.report.figstyle import (
    COLUMN,
    SMALLEST,
    TALLEST,
    WIDE,
    at_edge,
    band,
    blank,
    column,
    fitted,
    legend_columns,
    panels,
    run_legend,
)
from coursework.report.styles import COLOURS, run_styles, siblings, tuned_runs


def best_run(runs: dict[str, list[SeedResult]]) -> str:
    """The run of the best mean test accuracy."""
    return max(runs, key=lambda r: results.test_accuracies(runs[r]).mean())


def validation(runs: dict[str, list[SeedResult]]) -> Figure:
    """Validation accuracy per epoch, one line per run (mean over seeds, band min-max): the
    body's learning curves. Up to six runs in one axes; more in panels of at most six down the
    column (sharing both axes' limits; the figure grows in height, never in width, to at most
    ``TALLEST``), in the spec's order, a tuned run beside its sibling; one legend below."""
    names, tuned = list(runs), tuned_runs(runs)
    styles, groups = run_styles(names, tuned), panels(names, tuned)
    ncol = legend_columns(names, COLUMN)
    if 1 < len(groups) <= ncol:
        ncol = len(groups)  # a column of the legend per panel, the top panel's left
    rows = max(map(len, groups)) if ncol == len(groups) else -(-len(names) // ncol)
    below = 0.14 * rows + 0.1  # the legend's height
    tall = 1.75 if len(groups) == 1 else min(1.3, (TALLEST - 0.5 - below) / len(groups))
    fig, axes = plt.subplots(
        len(groups),
        1,
        figsize=(COLUMN, tall * len(groups) + 0.5 + below),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    axes = axes[:, 0]
    for ax, group in zip(axes, groups, strict=True):
        for name in group:
            band(ax, column(runs[name], "val_accuracy") * 100, styles[name], name)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[-1].set(xlabel="epoch")
    if len(groups) == 1:
        axes[0].set(ylabel="validation accuracy (%)")
    else:
        fig.supylabel("validation accuracy (%)", fontsize=8)
    fig.legend(
        *run_legend(axes, groups, ncol),
        loc="outside lower center",
        ncol=ncol,
        handlelength=1.8,
        columnspacing=1.0,
    )
    return fig


def curves(runs: dict[str, list[SeedResult]]) -> Figure:
    """Training and validation loss and accuracy per epoch, across the page: each run in its
    own colour and line (:func:`run_styles`), validation as that line (with its min-max band
    over seeds), training as the same line thinner and lighter, so a run's two curves are told
    apart without a line style of their own. Up to six runs in one row; more in rows of at
    most six (the panels of :func:`validation`), sharing each column's limits; one legend."""
    names, tuned = list(runs), tuned_runs(runs)
    styles, groups = run_styles(names, tuned), panels(names, tuned)
    tall = 2.6 if len(groups) == 1 else len(groups) * min(1.7, 5.5 / len(groups)) + 0.45
    fig, axes = plt.subplots(
        len(groups), 2, figsize=(WIDE, tall), sharex=True, sharey="col", squeeze=False
    )
    for row, group in zip(axes, groups, strict=True):
        for name in group:
            for ax, key in zip(row, ("loss", "accuracy"), strict=True):
                scale = 100 if key == "accuracy" else 1
                band(ax, column(runs[name], key) * scale, styles[name], name, training=True)
                band(ax, column(runs[name], f"val_{key}") * scale, styles[name], name)
        row[0].set(ylabel="loss")
        row[1].set(ylabel="accuracy (%)")
        for ax in row:
            ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in axes[-1]:
        ax.set(xlabel="epoch")
    handles, labels = run_legend(axes[:, 1], groups)
    handles += [
        blank(),
        Line2D([], [], color="#555555"),
        Line2D([], [], color="#555555", lw=0.7, alpha=0.5),
    ]
    fig.legend(handles, labels + ["", "validation", "training"], loc="outside right center")
    return fig


def comparison(runs: dict[str, list[SeedResult]]) -> Figure:
    """Test accuracy per run: mean (circle), seeds (dots), min-max (bar), best at the top;
    each run in its colour of the curves (a tuned run's circle open)."""
    names = sorted(runs, key=lambda r: results.test_accuracies(runs[r]).mean())
    tuned = tuned_runs(runs)
    styles, sib = run_styles(list(runs), tuned), siblings(list(runs), tuned)
    fig, ax = plt.subplots(figsize=(COLUMN, 0.24 * len(names) + 0.75))
    digits = run_decimals(runs)
    for i, name in enumerate(names):
        acc = results.test_accuracies(runs[name]) * 100
        mean, colour = acc.mean(), styles[name]["color"]
        ax.errorbar(
            mean,
            i,
            xerr=[[mean - acc.min()], [acc.max() - mean]],
            fmt="o",
            ms=4,
            color=colour,
            mfc="white" if name in sib else colour,
            capsize=2.5,
            lw=1,
            label=name,
        )
        ax.scatter(acc, [i] * len(acc), s=9, color="#333333", zorder=3, lw=0.4, edgecolors="white")
        # the same digits as the tables': the same number, never a rounding apart
        ax.annotate(
            pct(results.test_accuracies(runs[name]).mean(), digits),
            (acc.max(), i),
            xytext=(5, 0),
            textcoords="offset points",
            va="center",
            fontsize=SMALLEST,
        )
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel="test accuracy (%)")
    ax.margins(x=0.18, y=0.5 / max(1, len(names)))
    return fig


def class_names(pred: dict[str, np.ndarray], k: int) -> list[str]:
    """The class names of the predictions (their indices where none are recorded)."""
    return [str(c) for c in pred.get("class_names", range(k))]


def confusion(pred: dict[str, np.ndarray], name: str) -> Figure:
    """The confusion matrix of one seed's test predictions (counts in the cells)."""
    y, p = pred["y_true"], pred["probs"].argmax(-1)
    k = pred["probs"].shape[1]
    m = np.zeros((k, k), int)
    np.add.at(m, (y, p), 1)
    side = min(COLUMN, 0.28 * k + 1.1)
    fig, ax = plt.subplots(figsize=(side + 0.5, side))
    im = ax.imshow(m, cmap="Blues")
    for i in range(k):
        for j in range(k):
            if m[i, j]:
                ax.text(
                    j,
                    i,
                    m[i, j],
                    ha="center",
                    va="center",
                    fontsize=SMALLEST,
                    color="white" if m[i, j] > m.max() / 2 else "black",
                )
    names = class_names(pred, k)
    ax.set_xticks(range(k), names, rotation=90 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(k), names)
    ax.set(xlabel="predicted class", ylabel="true class", title=f"{name}, {len(y):,} images")
    ax.grid(False)
    fig.colorbar(im, ax=ax, fraction=0.046, label="images")
    return fig


def errors(pred: dict[str, np.ndarray], name: str) -> Figure | None:
    """The misclassified test images of one seed, true and predicted class (None: none)."""
    images, idx = pred["mis_images"], pred["mis_index"]
    n = len(idx)
    if n == 0:
        return None
    cols = min(12, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(WIDE, rows * 0.72 + 0.1), squeeze=False)
    y, p = pred["y_true"], pred["probs"].argmax(-1)
    names = class_names(pred, pred["probs"].shape[1])
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i, img in zip(axes.ravel(), idx, images, strict=False):
        img = img.astype(np.float32)
        ax.imshow(
            img[..., 0] if img.shape[-1] == 1 else img,
            cmap="gray_r" if img.shape[-1] == 1 else None,
            vmin=0,
            vmax=1,
        )
        ax.set_title(f"{names[y[i]]}→{names[p[i]]}", fontsize=SMALLEST, pad=2)
    return fig


def filters(kernels: np.ndarray, name: str) -> Figure:
    """The first-layer convolution filters (first input channel), one panel each, on one
    colour scale symmetric about zero, with its colour bar below (the weights' values)."""
    k = kernels[:, :, 0, :]  # first input channel: (k, k, maps)
    maps = k.shape[-1]
    cols = min(10, maps)
    rows = int(np.ceil(maps / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(COLUMN, rows * COLUMN / cols + 0.7), squeeze=False
    )
    lim = np.abs(k).max()
    for ax in axes.ravel():
        ax.axis("off")
    images = [
        axes.ravel()[i].imshow(k[..., i], cmap="RdBu_r", vmin=-lim, vmax=lim) for i in range(maps)
    ]
    fig.colorbar(
        images[0], ax=list(axes.ravel()), location="bottom", shrink=0.7, aspect=30, label="weight"
    )
    return fig


def published(runs: dict[str, list[SeedResult]]) -> Figure | None:
    """Our test accuracy beside the published one, per run that has one (None: none)."""
    names = [r for r in runs if runs[r][0].record.published_accuracy is not None]
    if not names:
        return None
    ours = [results.test_accuracies(runs[r]).mean() * 100 for r in names]
    pub = [float(runs[r][0].record.published_accuracy or 0) for r in names]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(COLUMN, 2.5))
    ax.bar(x - 0.2, pub, 0.4, label="published", color=COLOURS[1])
    ax.bar(x + 0.2, ours, 0.4, label="ours (mean over seeds)", color=COLOURS[0])
    ax.set_ylim(max(0, min(min(pub), min(ours)) - 2), 100)
    ax.set_xticks(x, names, rotation=35, ha="right")
    ax.set(ylabel="test accuracy (%)")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2)
    return fig


Study = tuple[str, list[RunRecord], dict[str, Any], list[float]]  # run, trials, space, val


def studies(rs: ResultsSet, question: str) -> list[Study]:
    """Per tuned run: its trials in order, its searched space and each trial's best
    validation accuracy in % (NaN: none)."""
    trials: dict[str, list[RunRecord]] = {}
    for path in rs.trial_paths(question):
        rec = storage.read_record(path)
        trials.setdefault(rec.run, []).append(rec)
    s = spec.trained_spec(rs, question)
    if s is None:
        return []
    spaces = {r.name: r.tune.params for r in s.resolve(rs.name) if r.tune is not None}
    out = []
    for name, recs in trials.items():
        recs = sorted(recs, key=number)
        val = [100 * (r.metrics.get("best_val_accuracy") or np.nan) for r in recs]
        out.append((name, recs, spaces.get(name, {}), val))
    return out


def number(rec: RunRecord) -> int:
    """A trial's number (its record's ``trial``; -1 for a record of none)."""
    return rec.trial.number if rec.trial is not None else -1


def trial_limits(recs: list[RunRecord], val: list[float]) -> tuple[float, float]:
    """A study's accuracy axis: :func:`.figstyle.fitted` to its completed trials."""
    return fitted([v for r, v in zip(recs, val, strict=True) if r.status != Status.PRUNED], val)


def beyond(rs: ResultsSet, question: str) -> int:
    """How many trials of the question's tuning figure are drawn at an edge."""
    return sum(
        at_edge(v, trial_limits(recs, val))[1] is not None
        for _, recs, _, val in studies(rs, question)
        for v in val
        if not np.isnan(v)
    )


def trial_panel(
    ax: Axes,
    recs: list[RunRecord],
    val: list[float],
    param: str,
    how: object,
    chosen: int | None,
) -> None:
    """Validation accuracy of each trial against one searched parameter: pruned trials as
    crosses (a triangle at the edge beyond the axis), the chosen one as a star (log axes
    where the search was on a log scale)."""
    limits = trial_limits(recs, val)
    for rec, v in zip(recs, val, strict=True):
        x: Any = rec.trial.params.get(param) if rec.trial is not None else None
        pruned = rec.status == Status.PRUNED
        mark = "*" if number(rec) == chosen else "x" if pruned else "o"
        y, edge = at_edge(v, limits)
        ax.plot(
            [x],
            [y],
            edge or mark,
            color=COLOURS[1 if pruned else 0],
            ms=9 if mark == "*" else 4,
            clip_on=edge is None,
        )
    if isinstance(how, dict) and how.get("log"):
        ax.set_xscale("log")
    ax.set_ylim(limits)


def history_panel(ax: Axes, recs: list[RunRecord], val: list[float]) -> None:
    """A study's trials in order (pruned as crosses, a triangle at the edge beyond the axis)
    and the best validation of the completed trials so far."""
    limits = trial_limits(recs, val)
    numbers = [number(r) + 1 for r in recs]
    pruned = [r.status == Status.PRUNED for r in recs]
    for flag, mark, colour, what in ((False, "o", 0, "trial"), (True, "x", 1, Status.PRUNED)):
        xs = [n for n, p in zip(numbers, pruned, strict=True) if p == flag]
        ys = [at_edge(v, limits) for v, p in zip(val, pruned, strict=True) if p == flag]
        inside = [(x, y) for x, (y, edge) in zip(xs, ys, strict=True) if edge is None]
        if inside:
            ax.plot(*zip(*inside, strict=True), mark, color=COLOURS[colour], ms=4, label=what)
        for x, (y, edge) in zip(xs, ys, strict=True):
            if edge is not None:
                ax.plot([x], [y], edge, color=COLOURS[colour], ms=4, clip_on=False)
    done = [np.nan if p else v for v, p in zip(val, pruned, strict=True)]
    best = np.fmax.accumulate(np.array(done, dtype=float))
    ax.plot(numbers, best, "-", color=COLOURS[2], label="best so far")
    ax.set(xlabel="trial", ylabel="", ylim=limits)
    cast(MaxNLocator, ax.xaxis.get_major_locator()).set_params(integer=True)  # an AutoLocator


def axis_label(param: str) -> str:
    """A searched parameter as the paper writes it (``l2_lambda`` -> ``L2 λ``)."""
    return SETTING_WORDS.get(param, param).replace("{}", "").removesuffix(" = ").strip()


def tuning(rs: ResultsSet, question: str) -> Figure | None:
    """Per tuned run (a row): validation accuracy of each trial against each searched
    parameter (:func:`trial_panel`), and the study's history with the best so far."""
    rows = studies(rs, question)
    if not rows:
        return None
    cols = max(len(space) for _, _, space, _ in rows) + 1
    fig, axes = plt.subplots(
        len(rows), cols, figsize=(WIDE, 1.9 * len(rows)), squeeze=False, layout="constrained"
    )
    for (name, recs, space, val), line in zip(rows, axes, strict=True):
        best = rs.tune_dir(question, name) / layout.BEST
        chosen = storage.read_json(best).get("trial") if best.exists() else None
        for ax, (param, how) in zip(line, space.items(), strict=False):
            trial_panel(ax, recs, val, param, how, chosen)
            label = f"{name}\nval. acc. (%)" if ax is line[0] else ""
            ax.set(xlabel=axis_label(param), ylabel=label)
        history_panel(line[-1], recs, val)
        for extra in line[len(space) : -1]:
            extra.axis("off")
    axes[0, -1].legend(loc="lower right")
    return fig


def load_predictions(seed_dir: Path) -> dict[str, np.ndarray] | None:
    """A seed's test predictions (None where it has none)."""
    path = seed_dir / layout.PREDICTIONS
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def predictions(seed_dir: Path) -> dict[str, np.ndarray]:
    """A seed's predictions, where a figure was planned because the file is there."""
    pred = load_predictions(seed_dir)
    if pred is None:
        raise ResultsError(f"no {layout.PREDICTIONS} in {seed_dir}")
    return pred
