"""Figures from the results files alone, as PDF (vector, for LaTeX) and PNG (to look at).

Every figure is drawn at the size it is printed in the two-column paper: one column is
``COLUMN`` inches wide, a page ``WIDE``, and no text is smaller than 8 pt (the captions'
size), so included at ``\\cwfigwidth`` (see ``report_templates/cw.sty``) nothing is scaled
down. One style:
Okabe & Ito's colour-blind-safe colours, no top and right spines, light grid.

Every run of a question keeps one colour and line (:func:`run_styles`) in all its figures
(and in the lab book's live view): a tuned run (``<run>-tuned``) is its sibling's colour,
dashed; past eight runs the colours come round again with other lines and markers, so no two
runs look alike. No axes holds more than six runs (``MOST``): more go in panels
(:func:`panels`), sharing their scales and one legend, a tuned run beside its sibling.

Per question, under ``results/<profile>/figures/``:

- ``<q>-comparison``: test accuracy at the best-validation epoch per run (mean, seeds, min-max);
- ``<q>-val``: validation accuracy per epoch, mean over seeds with a min-max band (panels
  down the column past six runs);
- ``<q>-curves``: training (thin, light) and validation loss and accuracy per epoch (a row of
  panels per six runs);
- ``<q>-confusion`` and ``<q>-errors``: confusion matrix and misclassified test images of the
  question's best run (its best seed);
- ``<q>-filters``: first-layer convolution filters of the best convolutional run;
- ``<q>-published``: our accuracy beside the published one (Nielsen's ladder).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from coursework.analysis.tables import pct, run_decimals  # noqa: E402
from coursework.records import results, spec  # noqa: E402
from coursework.records.errors import ResultsError  # noqa: E402
from coursework.records.results import SeedResult  # noqa: E402

COLUMN, WIDE = 3.25, 6.75  # inches: one column and the text width of the paper style
SMALLEST = 8  # points: the paper's captions (footnotesize), and no text smaller
# Okabe & Ito's colour-blind-safe palette (yellow left out: it vanishes on white); with more
# runs than colours the line style changes too (run_styles)
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999999"]


def style() -> None:
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 200,
            "font.size": 8,
            "axes.titlesize": 8,
            "axes.labelsize": 8,
            "legend.fontsize": SMALLEST,
            "xtick.labelsize": SMALLEST,
            "ytick.labelsize": SMALLEST,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "grid.linewidth": 0.5,
            "lines.linewidth": 1.2,
            "axes.linewidth": 0.6,
            "axes.prop_cycle": matplotlib.cycler(color=COLOURS),
            "pdf.fonttype": 42,
            "legend.frameon": False,
            "figure.constrained_layout.use": True,
        }
    )


def save(fig, folder: Path, name: str) -> list[Path]:
    """Write ``name.pdf`` and ``name.png`` atomically (temporary file, then rename), at the
    figure's own size (no cropping: it is the printed size)."""
    paths = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for ext in ("pdf", "png"):
            path = folder / f"{name}.{ext}"
            with results.atomic(path) as tmp:
                fig.savefig(
                    tmp, format=ext, metadata={"CreationDate": None} if ext == "pdf" else None
                )
            paths.append(path)
    except OSError as exc:
        raise ResultsError(f"cannot write {folder / name}: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)
    return paths


# --------------------------------------------------------------------------- data access


def column(seeds: list[SeedResult], key: str) -> np.ndarray:
    """(seeds, epochs) array of one history column; shorter runs are padded with NaN."""
    n = max(len(s.history) for s in seeds)
    out = np.full((len(seeds), n), np.nan)
    for i, s in enumerate(seeds):
        vals = results.column(s.history, key)
        out[i, : len(vals)] = vals
    return out


def best_run(runs: dict[str, list[SeedResult]]) -> str:
    return max(runs, key=lambda r: results.test_accuracies(runs[r]).mean())


# --------------------------------------------------------------------------- runs' styles

MOST = 6  # runs (legend entries) in one panel at most
TALLEST = 4.5  # inches: the most a body figure grows to, in panels down the column
TUNED = "-tuned"  # a tuned run's name: its untuned sibling's, and this
# per round of the colours (8 runs, then 8 more...): the line of a run, that of its tuned
# sibling, and a marker from the second round on (rounds after these: dash patterns)
PAIRS = [("-", "--"), (":", "-.")]
MARKERS = [None, "o", "s", "^", "D", "v"]


def tuned_runs(runs: dict[str, list[SeedResult]]) -> set[str]:
    """The runs whose records hold the parameters a study chose for them."""
    return {name for name, seeds in runs.items() if any(s.record.get("tuned") for s in seeds)}


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


def _lines(round_: int) -> tuple:
    if round_ < len(PAIRS):
        return PAIRS[round_]
    dash = 2.0 + round_  # longer dashes each round: never a pattern of an earlier one
    return (0, (dash, 1.5)), (0, (dash, 1.5, 1.0, 1.5))


def run_styles(names: list[str], tuned: set[str]) -> dict[str, dict]:
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


def panels(names: list[str], tuned: set[str], most: int = MOST) -> list[list[str]]:
    """The runs in as few panels of at most ``most`` as they go, as even as the spec's order
    lets them be, a tuned run in its sibling's panel (just after it)."""
    fams = families(names, tuned)
    if len(names) <= most:
        return [[n for f in fams for n in f]]

    def fill(cap: int) -> list[list[str]]:
        out: list[list[str]] = [[]]
        for f in fams:
            if out[-1] and len(out[-1]) + len(f) > cap:
                out.append([])
            out[-1] += f
        return out

    least = len(fill(most))
    return next(
        fill(cap) for cap in range(-(-len(names) // least), most + 1) if len(fill(cap)) <= least
    )


def legend_columns(names: list[str], width: float) -> int:
    """How many legend columns of these names fit across ``width`` inches, at SMALLEST."""
    entry = (0.55 * max(map(len, names), default=1) + 1.8 + 0.8 + 1.0) * SMALLEST / 72
    return max(1, min(4, len(names), int((width - 0.15) // entry)))


# --------------------------------------------------------------------------- figures


def band(ax, values: np.ndarray, st: dict, label: str, training: bool = False) -> None:
    """Mean over seeds (rows) per epoch in the run's style ``st``, and the min-max band when
    there are several; ``training``: a thinner, lighter line and no band (unlabelled)."""
    epochs = np.arange(1, values.shape[1] + 1)
    with np.errstate(all="ignore"):
        mean = np.nanmean(values, 0)
    every = max(1, len(epochs) // 8)
    if training:
        ax.plot(epochs, mean, lw=0.7, alpha=0.5, ms=2, markevery=every, label=f"_{label}", **st)
        return
    ax.plot(epochs, mean, ms=3, markevery=every, label=label, **st)
    if len(values) > 1:
        ax.fill_between(
            epochs, np.nanmin(values, 0), np.nanmax(values, 0), color=st["color"], alpha=0.15, lw=0
        )


def blank():
    """An empty legend entry: a gap between the runs of two panels."""
    return plt.Line2D([], [], ls="none")


def run_legend(axes, groups: list[list[str]], ncol: int = 1) -> tuple[list, list[str]]:
    """The legend's lines and labels: each run's once, panel by panel; a column per panel
    where there are as many columns as panels, else (in one column) a gap between panels."""
    lines = {ln.get_label(): ln for ax in axes for ln in ax.get_lines()}
    rows = max(map(len, groups))
    handles, labels = [], []
    for i, group in enumerate(groups):
        gap = rows - len(group) if ncol == len(groups) else int(ncol == 1 and i > 0)
        before = gap if ncol == 1 else 0
        handles += [blank()] * before + [lines[n] for n in group] + [blank()] * (gap - before)
        labels += [""] * before + group + [""] * (gap - before)
    return handles, labels


def validation(runs: dict[str, list[SeedResult]]):
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


def curves(runs: dict[str, list[SeedResult]]):
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
        plt.Line2D([], [], color="#555555"),
        plt.Line2D([], [], color="#555555", lw=0.7, alpha=0.5),
    ]
    fig.legend(handles, labels + ["", "validation", "training"], loc="outside right center")
    return fig


def comparison(runs: dict[str, list[SeedResult]]):
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


def class_names(pred: dict, k: int) -> list[str]:
    return [str(c) for c in pred.get("class_names", range(k))]


def confusion(pred: dict, name: str):
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


def errors(pred: dict, name: str):
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


def filters(kernels: np.ndarray, name: str):
    k = kernels[:, :, 0, :]  # first input channel: (k, k, maps)
    maps = k.shape[-1]
    cols = min(10, maps)
    rows = int(np.ceil(maps / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(COLUMN, rows * COLUMN / cols + 0.15), squeeze=False
    )
    lim = np.abs(k).max()
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(maps):
        axes.ravel()[i].imshow(k[..., i], cmap="RdBu_r", vmin=-lim, vmax=lim)
    return fig


def published(runs: dict[str, list[SeedResult]]):
    names = [r for r in runs if runs[r][0].record.get("published_accuracy") is not None]
    if not names:
        return None
    ours = [results.test_accuracies(runs[r]).mean() * 100 for r in names]
    pub = [runs[r][0].record["published_accuracy"] for r in names]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(COLUMN, 2.5))
    ax.bar(x - 0.2, pub, 0.4, label="published", color=COLOURS[1])
    ax.bar(x + 0.2, ours, 0.4, label="ours (mean over seeds)", color=COLOURS[0])
    ax.set_ylim(max(0, min(min(pub), min(ours)) - 2), 100)
    ax.set_xticks(x, names, rotation=35, ha="right")
    ax.set(ylabel="test accuracy (%)")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2)
    return fig


def tuning(results_dir: Path, results_set: str, question: str):
    """Per tuned run (a row): validation accuracy of each trial against each searched
    parameter (log axes where the search was on a log scale; pruned trials as crosses, the
    chosen one as a star), and the study's history with the best so far."""
    trials: dict[str, list[dict]] = {}
    for path in results.trial_paths(results_dir, results_set, question):
        rec = results.read_json(path)
        trials.setdefault(rec["run"], []).append(rec)
    s = spec.trained_spec(results_dir, results_set, question)
    if not trials or s is None:
        return None
    spaces = {r.name: r.tune.params for r in s.resolve(results_set) if r.tune is not None}
    rows = [(name, recs, spaces.get(name, {})) for name, recs in trials.items()]
    cols = max(len(space) for _, _, space in rows) + 1
    fig, axes = plt.subplots(
        len(rows), cols, figsize=(WIDE, 1.9 * len(rows)), squeeze=False, layout="constrained"
    )
    for (name, recs, space), line in zip(rows, axes, strict=True):
        recs = sorted(recs, key=lambda r: r["trial"]["number"])
        best = results.tune_dir(results_dir, results_set, question, name) / results.BEST
        chosen = results.read_json(best).get("trial") if best.exists() else None
        val = [100 * (r["metrics"].get("best_val_accuracy") or np.nan) for r in recs]
        for ax, (param, how) in zip(line, space.items(), strict=False):
            for rec, v in zip(recs, val, strict=True):
                x = rec["trial"]["params"].get(param)
                mark = (
                    "*"
                    if rec["trial"]["number"] == chosen
                    else "x"
                    if rec["status"] == "pruned"
                    else "o"
                )
                ax.plot(
                    [x],
                    [v],
                    mark,
                    color=COLOURS[1 if mark == "x" else 0],
                    ms=9 if mark == "*" else 4,
                )
            if isinstance(how, dict) and how.get("log"):
                ax.set_xscale("log")
            ax.set(xlabel=param, ylabel=f"{name}\nval. acc. (%)" if ax is line[0] else "")
        ax = line[-1]
        numbers = [r["trial"]["number"] + 1 for r in recs]
        pruned = [r["status"] == "pruned" for r in recs]
        for flag, mark, colour, what in ((False, "o", 0, "trial"), (True, "x", 1, "pruned")):
            xs = [n for n, p in zip(numbers, pruned, strict=True) if p == flag]
            ys = [v for v, p in zip(val, pruned, strict=True) if p == flag]
            if xs:
                ax.plot(xs, ys, mark, color=COLOURS[colour], ms=4, label=what)
        ax.plot(
            numbers,
            np.fmax.accumulate(np.nan_to_num(val, nan=0.0)),
            "-",
            color=COLOURS[2],
            label="best so far",
        )
        ax.set(xlabel="trial", ylabel="")
        ax.xaxis.get_major_locator().set_params(integer=True)
        for extra in line[len(space) : -1]:
            extra.axis("off")
    axes[0, -1].legend(loc="lower right")
    return fig


def load_predictions(seed_dir: Path) -> dict | None:
    path = seed_dir / results.PREDICTIONS
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


@dataclass(frozen=True)
class Figure:
    """One figure to draw: its name (the files ``name.pdf`` and ``name.png``), the results
    files it is drawn from, what it chose from them (``choice``: the run and seed it shows,
    where it shows one), and how to draw it (a figure, or None where there is nothing to
    show)."""

    name: str
    inputs: tuple[Path, ...]
    draw: Callable[[], Any]
    choice: str = ""

    def digest(self, base: Path) -> str:
        """The digest of what the figure is drawn from: its input files (names relative to
        the results set, and contents), its choice, and the code that draws it."""
        h = hashlib.sha256(f"{code_digest()}\n{self.choice}\n".encode())
        for path in sorted(self.inputs):
            h.update(f"{path.relative_to(base).as_posix()}\0{sha256(path)}\n".encode())
        return h.hexdigest()


@cache
def code_digest() -> str:
    """The source of this module: figures drawn by other code are drawn again."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def seed_files(seeds: list[SeedResult], *names: str) -> list[Path]:
    return [s.dir / n for s in seeds for n in (results.RECORD, *names)]


def question_figures(results_dir: Path, results_set: str, question: str) -> list[Figure]:
    """The figures of one question, each with the files it is drawn from (nothing drawn)."""
    runs = results.load_question(
        results_dir, results_set, question, spec.run_order(results_dir, results_set, question)
    )
    if not runs:
        return []
    every = [s for seeds in runs.values() for s in seeds]
    order = "runs " + ", ".join(runs)  # the spec's order: a figure's order of runs
    histories = tuple(seed_files(every, results.HISTORY))
    records = tuple(seed_files(every))
    out = [
        Figure(f"{question}-curves", histories, lambda: curves(runs), order),
        Figure(f"{question}-val", histories, lambda: validation(runs), order),
        Figure(f"{question}-comparison", records, lambda: comparison(runs), order),
    ]
    # a figure of one run and seed is drawn from its files alone, and from which it is
    best = best_run(runs)
    top = max(runs[best], key=lambda s: s.metrics["test_accuracy"])
    if (top.dir / results.PREDICTIONS).exists():
        shown = tuple(seed_files([top], results.PREDICTIONS))
        choice = f"{best} seed {top.seed}"
        out.append(
            Figure(
                f"{question}-confusion",
                shown,
                lambda: confusion(load_predictions(top.dir), best),
                choice,
            )
        )
        out.append(
            Figure(
                f"{question}-errors", shown, lambda: errors(load_predictions(top.dir), best), choice
            )
        )
    conv = [
        r
        for r in sorted(runs, key=lambda r: -results.test_accuracies(runs[r]).mean())
        if "filters" in (load_predictions(runs[r][0].dir) or {})
    ]
    if conv:
        first = runs[conv[0]][0]
        out.append(
            Figure(
                f"{question}-filters",
                tuple(seed_files([first], results.PREDICTIONS)),
                lambda: filters(load_predictions(first.dir)["filters"], conv[0]),
                f"{conv[0]} seed {first.seed}",
            )
        )
    published_runs = [r for r in runs if runs[r][0].record.get("published_accuracy") is not None]
    out.append(
        Figure(
            f"{question}-published",
            tuple(seed_files([s for r in published_runs for s in runs[r]])),
            lambda: published(runs),
            "runs " + ", ".join(published_runs),
        )
    )
    trials = results.trial_paths(results_dir, results_set, question)
    if trials:
        s = spec.trained_spec(results_dir, results_set, question)
        spaces = (
            {r.name: r.tune.params for r in s.resolve(results_set) if r.tune is not None}
            if s is not None
            else {}
        )
        chosen = [
            results.tune_dir(results_dir, results_set, question, r) / results.BEST for r in spaces
        ]
        out.append(
            Figure(
                f"{question}-tuning",
                tuple(trials + [p for p in chosen if p.exists()]),
                lambda: tuning(results_dir, results_set, question),
                json.dumps(spaces, sort_keys=True),
            )
        )
    return out


def read_provenance(results_dir: Path, results_set: str) -> dict[str, dict]:
    """``figures/provenance.json``: per figure, the digest of what it was drawn from and the
    sha256 of its files ({} where there is none)."""
    path = results.provenance_file(results_dir, results_set)
    try:
        return results.read_json(path)["figures"] if path.exists() else {}
    except (ResultsError, KeyError, TypeError):
        return {}


def up_to_date(fig: Figure, entry: dict | None, folder: Path, base: Path) -> bool:
    """Whether the figure's files are those drawn from its inputs as they are now."""
    if not entry or entry.get("inputs") != fig.digest(base):
        return False
    return all(
        (folder / name).exists() and sha256(folder / name) == digest
        for name, digest in entry.get("files", {}).items()
    )


def all_figures(results_dir: Path, results_set: str, force: bool = False) -> FigureUpdate:
    """Draw every figure that is out of date (its inputs changed, its files were edited or
    are missing; every one with ``force``) and nothing else, and record in
    ``figures/provenance.json`` what each was drawn from."""
    style()
    questions = results.questions(results_dir, results_set)
    if not questions:
        raise ResultsError(
            f"no runs under {results.set_dir(results_dir, results_set)}: run "
            "experiments first (make quick, or make QUESTION "
            f"PROFILE={results.profile_of(results_set)})"
        )
    folder = results.figures_dir(results_dir, results_set)
    base = results.set_dir(results_dir, results_set)
    old = read_provenance(results_dir, results_set)
    new: dict[str, dict] = {}
    drawn, kept = [], []
    for q in questions:
        for fig in question_figures(results_dir, results_set, q):
            entry = old.get(fig.name)
            if not force and up_to_date(fig, entry, folder, base):
                new[fig.name] = entry
                kept += [fig.name] if entry.get("files") else []
                continue
            made = fig.draw()
            files = save(made, folder, fig.name) if made is not None else []
            for ext in ("pdf", "png"):  # nothing to show: no file of an earlier drawing stays
                if made is None:
                    (folder / f"{fig.name}.{ext}").unlink(missing_ok=True)
            new[fig.name] = {
                "inputs": fig.digest(base),
                "choice": fig.choice,
                "files": {p.name: sha256(p) for p in files},
            }
            drawn += [fig.name] if files else []
    for name, entry in old.items():  # figures no longer drawn: their files go
        if name not in new:
            for file in entry.get("files", {}):
                (folder / file).unlink(missing_ok=True)
    results.write_json(
        results.provenance_file(results_dir, results_set),
        {"schema_version": results.SCHEMA_VERSION, "figures": new},
    )
    paths = [folder / f for entry in new.values() for f in entry["files"]]
    return FigureUpdate(paths, drawn, kept)


@dataclass(frozen=True)
class FigureUpdate:
    """What :func:`all_figures` did: every figure file, and the figures drawn and kept."""

    paths: list[Path]
    drawn: list[str]
    kept: list[str]


def stale_figures(results_dir: Path, results_set: str) -> list[tuple[str, str]]:
    """(figure file, what is wrong) for every figure whose files are not those drawn from the
    results as they are: what ``verify`` and ``mark`` fail. Reads, draws nothing."""
    folder = results.figures_dir(results_dir, results_set)
    present = results.figure_files(results_dir, results_set)
    base = results.set_dir(results_dir, results_set)
    recorded = read_provenance(results_dir, results_set)
    out: list[tuple[str, str]] = []
    if not recorded:
        return [
            (f"figures/{p.name}", f"no figures/{results.PROVENANCE}: run make plots")
            for p in present
        ][:1]
    planned = {
        fig.name: fig
        for q in results.questions(results_dir, results_set)
        for fig in question_figures(results_dir, results_set, q)
    }
    for name, entry in sorted(recorded.items()):
        fig = planned.get(name)
        for file, digest in sorted(entry.get("files", {}).items()):
            rel = f"figures/{file}"
            if fig is None:
                out.append((rel, "drawn from runs that are no longer in the results"))
            elif entry.get("inputs") != fig.digest(base):
                out.append((rel, "drawn from other results than these (make plots redraws it)"))
            elif not (folder / file).exists():
                out.append((rel, "missing"))
            elif sha256(folder / file) != digest:
                out.append((rel, "not the file that was drawn (an older or edited one)"))
    listed = {f for entry in recorded.values() for f in entry.get("files", {})}
    for path in present:
        if path.name not in listed:
            out.append((f"figures/{path.name}", "not drawn by make plots"))
    return out
