"""Figures from the results files alone, as PDF (for LaTeX) and PNG, one consistent style.

Per question, under ``results/<profile>/figures/``:

- ``<q>-curves``: training (dashed) and validation (solid) loss and accuracy per epoch, mean
  over seeds with a min-max band;
- ``<q>-comparison``: test accuracy at the best-validation epoch per run, mean and min-max
  over seeds, sorted;
- ``<q>-confusion`` and ``<q>-errors``: the confusion matrix and misclassified test images of
  the question's best run (its best seed);
- ``<q>-filters``: first-layer convolution filters of the best convolutional run;
- ``nielsen-published``: our accuracy beside Nielsen's, rung by rung.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from coursework import results, spec  # noqa: E402
from coursework.errors import ResultsError  # noqa: E402
from coursework.results import SeedResult  # noqa: E402

# Okabe & Ito's colour-blind-safe palette
# (yellow left out: it vanishes on white)
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
           "#999999"]


def style() -> None:
    plt.rcParams.update({
        "figure.dpi": 110, "savefig.dpi": 150, "font.size": 9, "axes.titlesize": 10,
        "axes.labelsize": 9, "legend.fontsize": 8, "axes.spines.top": False,
        "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "axes.prop_cycle": matplotlib.cycler(color=COLOURS), "pdf.fonttype": 42,
    })


def save(fig, folder: Path, name: str) -> list[Path]:
    """Write ``name.pdf`` and ``name.png`` atomically (temporary file, then rename)."""
    paths = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for ext in ("pdf", "png"):
            path = folder / f"{name}.{ext}"
            tmp = folder / f".{name}.tmp.{ext}"
            try:
                fig.savefig(tmp, bbox_inches="tight", metadata={"CreationDate": None}
                            if ext == "pdf" else None)
                tmp.replace(path)
            finally:
                tmp.unlink(missing_ok=True)
            paths.append(path)
    except OSError as exc:
        raise ResultsError(f"cannot write {folder / name}: {exc.strerror or exc}") \
            from exc
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
        out[i, :len(vals)] = vals
    return out


def best_run(runs: dict[str, list[SeedResult]]) -> str:
    return max(runs, key=lambda r: results.test_accuracies(runs[r]).mean())


# --------------------------------------------------------------------------- figures


def curves(runs: dict[str, list[SeedResult]], title: str):
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for colour, (name, seeds) in zip(COLOURS * 3, runs.items(), strict=False):
        for ax, (train_key, val_key) in zip(axes, (("loss", "val_loss"),
                                                   ("accuracy", "val_accuracy")), strict=True):
            for key, ls in ((train_key, "--"), (val_key, "-")):
                values = column(seeds, key)
                if "accuracy" in key:
                    values = values * 100
                epochs = np.arange(1, values.shape[1] + 1)
                with np.errstate(all="ignore"):
                    mean = np.nanmean(values, 0)
                ax.plot(epochs, mean, ls, color=colour, lw=1.4,
                        label=name if key == val_key else None)
                if len(seeds) > 1:
                    ax.fill_between(epochs, np.nanmin(values, 0), np.nanmax(values, 0),
                                    color=colour, alpha=0.15, lw=0)
    axes[0].set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    axes[1].set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in axes:
        ax.xaxis.get_major_locator().set_params(integer=True)
    handles, labels = axes[1].get_legend_handles_labels()
    handles += [plt.Line2D([], [], color="grey", ls="-"), plt.Line2D([], [], color="grey",
                                                                      ls="--")]
    labels += ["validation", "training"]
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle(f"{title}: mean over seeds, band = min-max", y=1.02)
    fig.tight_layout()
    return fig


def comparison(runs: dict[str, list[SeedResult]], title: str):
    names = sorted(runs, key=lambda r: results.test_accuracies(runs[r]).mean())
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(names) + 1.2))
    for i, name in enumerate(names):
        acc = results.test_accuracies(runs[name]) * 100
        mean = acc.mean()
        ax.errorbar(mean, i, xerr=[[mean - acc.min()], [acc.max() - mean]], fmt="o",
                    color=COLOURS[0], capsize=3)
        ax.scatter(acc, [i] * len(acc), s=10, color=COLOURS[1], zorder=3)
        ax.annotate(f"{mean:.2f}", (acc.max(), i), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel="test accuracy at best validation epoch (%)",
           title=f"{title}: mean (circle), seeds (dots), min-max (bar)")
    ax.margins(x=0.15)
    fig.tight_layout()
    return fig


def confusion(pred: dict, name: str):
    y, p = pred["y_true"], pred["probs"].argmax(-1)
    k = pred["probs"].shape[1]
    m = np.zeros((k, k), int)
    np.add.at(m, (y, p), 1)
    fig, ax = plt.subplots(figsize=(0.42 * k + 1.8, 0.42 * k + 1.2))
    im = ax.imshow(m, cmap="Blues")
    for i in range(k):
        for j in range(k):
            if m[i, j]:
                ax.text(j, i, m[i, j], ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] > m.max() / 2 else "black")
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted class", ylabel="true class",
           title=f"Confusion matrix: {name}, {len(y):,} test images")
    ax.grid(False)
    fig.colorbar(im, ax=ax, fraction=0.046, label="images")
    fig.tight_layout()
    return fig


def errors(pred: dict, name: str):
    images, idx = pred["mis_images"], pred["mis_index"]
    n = len(idx)
    if n == 0:
        return None
    cols = min(12, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.8, rows * 1.15), squeeze=False)
    y, p = pred["y_true"], pred["probs"].argmax(-1)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i, img in zip(axes.ravel(), idx, images, strict=False):
        img = img.astype(np.float32)
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray_r" if img.shape[-1] == 1
                  else None, vmin=0, vmax=1)
        ax.set_title(f"{y[i]}→{p[i]}", fontsize=8)
    fig.suptitle(f"Misclassified test images, {name} (true→predicted; first {n} of "
                 f"{int((y != p).sum())})", fontsize=9)
    fig.tight_layout()
    return fig


def filters(kernels: np.ndarray, name: str):
    k = kernels[:, :, 0, :] if kernels.shape[2] >= 1 else kernels  # first input channel
    maps = k.shape[-1]
    cols = min(10, maps)
    rows = int(np.ceil(maps / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.7, rows * 0.75), squeeze=False)
    lim = np.abs(k).max()
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(maps):
        axes.ravel()[i].imshow(k[..., i], cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.suptitle(f"First-layer filters, {name} (red +, blue −)", fontsize=9)
    fig.tight_layout()
    return fig


def published(runs: dict[str, list[SeedResult]], title: str):
    names = [r for r in runs if runs[r][0].record.get("published_accuracy") is not None]
    if not names:
        return None
    ours = [results.test_accuracies(runs[r]).mean() * 100 for r in names]
    pub = [runs[r][0].record["published_accuracy"] for r in names]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(names) + 1), 3.4))
    ax.bar(x - 0.2, pub, 0.4, label="published (Nielsen)", color=COLOURS[1])
    ax.bar(x + 0.2, ours, 0.4, label="ours (mean over seeds)", color=COLOURS[0])
    lo = min(min(pub), min(ours))
    ax.set_ylim(max(0, lo - 2), 100)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set(ylabel="test accuracy (%)")
    fig.suptitle(title, y=1.08, fontsize=10)
    ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2)
    fig.tight_layout()
    return fig


def load_predictions(seed_dir: Path) -> dict | None:
    path = seed_dir / "predictions.npz"
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def question_figures(results_dir: Path, profile: str, question: str) -> list[Path]:
    """Every figure of one question; returns the files written."""
    s = spec.recorded(results_dir, profile, question)
    runs = results.load_question(results_dir, profile, question,
                                 spec.run_order(results_dir, profile, question))
    if not runs:
        return []
    folder = results.figures_dir(results_dir, profile)
    title = s.title if s else question
    out = save(curves(runs, title), folder, f"{question}-curves")
    out += save(comparison(runs, title), folder, f"{question}-comparison")
    best = best_run(runs)
    seeds = runs[best]
    top = max(seeds, key=lambda s: s.metrics["test_accuracy"])
    pred = load_predictions(top.dir)
    if pred is not None:
        out += save(confusion(pred, best), folder, f"{question}-confusion")
        fig = errors(pred, best)
        if fig is not None:
            out += save(fig, folder, f"{question}-errors")
    conv = [r for r in sorted(runs, key=lambda r: -results.test_accuracies(runs[r]).mean())
            if (p := load_predictions(runs[r][0].dir)) is not None and "filters" in p]
    if conv:
        pred = load_predictions(runs[conv[0]][0].dir)
        out += save(filters(pred["filters"], conv[0]), folder, f"{question}-filters")
    fig = published(runs, f"{title}: ours beside the published accuracy")
    if fig is not None:
        out += save(fig, folder, f"{question}-published")
    return out


def all_figures(results_dir: Path, profile: str) -> list[Path]:
    style()
    if not results.questions(results_dir, profile):
        raise ResultsError(f"no runs under {results.profile_dir(results_dir, profile)}: run "
                           f"experiments first (make quick, or make QUESTION PROFILE={profile})")
    out = []
    for q in results.questions(results_dir, profile):
        out += question_figures(results_dir, profile, q)
    return out
