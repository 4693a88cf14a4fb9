"""The figures' one style: sizes as printed, Okabe & Ito's colours, each run's colour and
line in every figure of its question (:func:`run_styles`), panels of at most ``MOST`` runs,
one legend, axes fitted to the values that matter (an outlier at the edge), and saving
atomically. See :mod:`coursework.report.plots`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.rcsetup import cycler  # noqa: E402

from coursework.records import (
    storage,
)
from coursework.records.errors import ResultsError  # noqa: E402
from coursework.records.results import SeedResult  # noqa: E402
from coursework.records.results import column as column_of  # noqa: E402
from coursework.report.styles import (  # noqa: E402  (re-exported: the figures' names)
    COLOURS,
    families,
)

COLUMN, WIDE = 3.25, 6.75  # inches: one column and the text width of the paper style
SMALLEST = 8  # points: the paper's captions (footnotesize), and no text smaller


def style() -> None:
    """The one style of every figure (matplotlib's rc settings)."""
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
            "axes.prop_cycle": cycler(color=COLOURS),
            "pdf.fonttype": 42,
            "legend.frameon": False,
            "figure.constrained_layout.use": True,
        }
    )


def save(fig: Figure, folder: Path, name: str) -> list[Path]:
    """Write ``name.pdf`` and ``name.png`` atomically (temporary file, then rename), at the
    figure's own size (no cropping: it is the printed size)."""
    paths = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for ext in ("pdf", "png"):
            path = folder / f"{name}.{ext}"
            with storage.atomic(path) as tmp:
                fig.savefig(
                    tmp, format=ext, metadata={"CreationDate": None} if ext == "pdf" else None
                )
            paths.append(path)
    except OSError as exc:
        raise ResultsError(f"cannot write {folder / name}: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)
    return paths


# --------------------------------------------------------------------------- runs' styles

MOST = 6  # runs (legend entries) in one panel at most
TALLEST = 4.5  # inches: the most a body figure grows to, in panels down the column


def panels(names: list[str], tuned: set[str], most: int = MOST) -> list[list[str]]:
    """The runs in as few panels of at most ``most`` as they go, as even as the spec's order
    lets them be, a tuned run in its sibling's panel (just after it)."""
    fams = families(names, tuned)
    if len(names) <= most:
        return [[n for f in fams for n in f]]

    def fill(cap: int) -> list[list[str]]:
        """The families in panels of at most ``cap`` runs, as they go."""
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


def column(seeds: list[SeedResult], key: str) -> np.ndarray:
    """(seeds, epochs) array of one history column; shorter runs are padded with NaN."""
    n = max(len(s.history) for s in seeds)
    out = np.full((len(seeds), n), np.nan)
    for i, s in enumerate(seeds):
        vals = column_of(s.history, key)
        out[i, : len(vals)] = vals
    return out


def fitted(core: list[float], every: list[float]) -> tuple[float, float]:
    """An axis's limits: the range of ``core`` (the values that matter, such as a study's
    completed trials; all of ``every`` without them) with the values near it (within half
    that range, at least 2 units) and a margin; a value beyond is drawn at the edge
    (:func:`at_edge`), so that one outlier does not squash the rest."""
    seen = [v for v in core or every if not np.isnan(v)] or [0.0, 100.0]
    lo, hi = min(seen), max(seen)
    reach = max(2.0, (hi - lo) / 2)
    near = [v for v in every if lo - reach <= v <= hi + reach] + seen
    pad = max(0.5, 0.08 * (max(near) - min(near)))
    return max(min(near) - pad, lo - reach), min(max(near) + pad, hi + reach)


def at_edge(v: float, limits: tuple[float, float]) -> tuple[float, str | None]:
    """A value within the limits as it is; beyond them, at the nearer edge, with the marker
    of a triangle that points the way it lies."""
    if v < limits[0]:
        return limits[0], "v"
    return (limits[1], "^") if v > limits[1] else (v, None)


def band(
    ax: Axes,
    values: np.ndarray,
    st: dict[str, Any],
    label: str,
    training: bool = False,
) -> None:
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


def blank() -> Line2D:
    """An empty legend entry: a gap between the runs of two panels."""
    return Line2D([], [], ls="none")


def run_legend(
    axes: Iterable[Axes],
    groups: list[list[str]],
    ncol: int = 1,
) -> tuple[list[Line2D], list[str]]:
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
