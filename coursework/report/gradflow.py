"""A seed's gradient flow as the figures, the results page and the lab book read it, from its
``gradients.csv`` (:mod:`coursework.engine.gradients` writes it as the run trains): per epoch
(0: at initialisation), the mean absolute gradient of each layer's kernel on the probe batch,
from the input to the output. A layer without a kernel (batch normalisation's gamma and beta,
a bias alone) is no point of it. Without matplotlib: the page reads it too.

An older run has no ``gradients.csv``: :func:`read_flow` says None, and nothing is drawn."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from coursework.records import layout, storage
from coursework.records.errors import ResultsError
from coursework.records.results import SeedResult

KERNEL = "kernel"  # the weight drawn: a Dense or convolution layer's
MOST_PAGE_EPOCHS = 12  # epochs of a seed's flow on the results page (the first and last kept)
NAME_LIMIT = 60  # characters of a layer's name on the page


@dataclass(frozen=True)
class Flow:
    """One seed's gradient flow: its layers with a kernel, input to output, the epochs
    recorded (0: at initialisation) and the kernels' mean |gradient|, (epochs, layers) (NaN
    where a row is missing)."""

    layers: tuple[str, ...]
    epochs: tuple[int, ...]
    grads: np.ndarray

    def at(self, epoch: int) -> np.ndarray:
        """The layers' mean |gradient| after ``epoch`` (0: at initialisation)."""
        return self.grads[self.epochs.index(epoch)]

    @property
    def last(self) -> int:
        return self.epochs[-1]


def parse(rows: list[dict[str, str]]) -> Flow | None:
    """``gradients.csv``'s rows as a :class:`Flow` (None: no kernel in them); a ValueError
    or KeyError where a row is not the engine's."""
    kernels = [r for r in rows if r["weight"] == KERNEL]
    layers = tuple(dict.fromkeys(r["layer"] for r in kernels))
    epochs = tuple(sorted({int(r["epoch"]) for r in kernels}))
    if not layers:
        return None
    grads = np.full((len(epochs), len(layers)), np.nan)
    where = {e: i for i, e in enumerate(epochs)}
    column = {name: j for j, name in enumerate(layers)}
    for r in kernels:
        grads[where[int(r["epoch"])], column[r["layer"]]] = float(r["grad_mean_abs"])
    return Flow(layers, epochs, grads)


def read_flow(seed_dir: Path) -> Flow | None:
    """A seed's gradient flow (None where it has no ``gradients.csv``, or no kernel in it);
    a ResultsError naming the file where it is not the engine's."""
    path = Path(seed_dir) / layout.GRADIENTS
    if not path.exists():
        return None
    try:
        return parse(storage.read_csv(path))
    except (KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: not a gradients.csv of this template ({exc})") from exc


def chosen_epochs(epochs: tuple[int, ...]) -> list[int]:
    """The epochs a seed's figure draws: at initialisation, the first, the middle and the
    last (those recorded, each once)."""
    if not epochs:
        return []
    last = epochs[-1]
    wanted = (0, 1, min(epochs, key=lambda e: abs(e - last / 2)), last)
    return [e for e in dict.fromkeys(wanted) if e in epochs]


def epoch_name(epoch: int) -> str:
    """``at initialisation`` for epoch 0, else ``after epoch 3``."""
    return "at initialisation" if epoch == 0 else f"after epoch {epoch}"


def depth(n: int) -> np.ndarray:
    """Each of ``n`` layers' relative depth: the first 0, the last 1 (one layer: 0)."""
    return np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(n)


def drawn_seeds(runs: dict[str, list[SeedResult]]) -> dict[str, SeedResult]:
    """Run -> the seed a comparison of runs draws: its first with a ``gradients.csv``."""
    out = {}
    for name, seeds in runs.items():
        if found := [s for s in seeds if (s.dir / layout.GRADIENTS).exists()]:
            out[name] = found[0]
    return out


def run_flows(runs: dict[str, list[SeedResult]]) -> dict[str, tuple[int, Flow]]:
    """Run -> the seed :func:`drawn_seeds` chooses and its gradient flow, in the runs' order
    (a run without one left out); a ResultsError where a file is not the engine's."""
    flows = {name: (s.seed, read_flow(s.dir)) for name, s in drawn_seeds(runs).items()}
    return {name: (seed, flow) for name, (seed, flow) in flows.items() if flow is not None}


def same_layers(flows: list[Flow]) -> bool:
    """Whether every flow has the same layers, in the same order (one x axis of names)."""
    return len({f.layers for f in flows}) == 1


def compared_epochs(flows: list[Flow]) -> list[int | None]:
    """The epochs of a comparison of runs: the first after initialisation, and each run's
    last (None), where any run has more than one."""
    return [1, None] if any(f.last > 1 for f in flows) else [1]


def page_flow(seed_dir: Path) -> dict[str, Any]:
    """A seed's gradient flow as the results page draws it, ``{"gradients": ...}`` ({} where
    it has none): its layers (names cut to :data:`NAME_LIMIT`), about
    :data:`MOST_PAGE_EPOCHS` epochs (every k-th, and at initialisation, the first and the
    last) and each one's mean |gradient| per layer (None: none); ``unreadable`` where its
    file is not the engine's."""
    try:
        flow = read_flow(seed_dir)
    except ResultsError as exc:
        return {"gradients": {"unreadable": str(exc)[-300:]}}
    if flow is None:
        return {}
    n = len(flow.epochs)
    step = max(1, math.ceil(n / MOST_PAGE_EPOCHS))
    keep = sorted({*range(0, n, step), *(i for i, e in enumerate(flow.epochs) if e <= 1), n - 1})
    shown = {
        "layers": [s if len(s) <= NAME_LIMIT else s[: NAME_LIMIT - 1] + "…" for s in flow.layers],
        "epochs": [flow.epochs[i] for i in keep],
        "grad": [[_number(v) for v in flow.grads[i]] for i in keep],
    }
    return {"gradients": shown}


def _number(v: float) -> float | None:
    """A gradient statistic as the page's JSON holds it: 4 significant digits, None where
    there is none (or it is not finite)."""
    return float(f"{v:.4g}") if math.isfinite(v) else None


def span(values: list[int]) -> str:
    """``5`` where all are 5, else ``3 to 5``."""
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo} to {hi}"


def flow_note(runs: dict[str, list[SeedResult]]) -> str:
    """What the caption of a question's gradient flow says of its drawing, from the files:
    the epochs of its panels, the seed of each run, and what its x axis is."""
    flows = run_flows(runs)
    if not flows:
        return ""
    seeds = sorted({seed for seed, _ in flows.values()})
    every = [f for _, f in flows.values()]
    lasts = [f.last for f in every]
    when = "after epoch 1"
    if compared_epochs(every) != [1]:
        last = f"epoch {lasts[0]}" if len(set(lasts)) == 1 else f"epochs {span(lasts)}"
        when = f"after epoch 1 (left panel) and after each run's last ({last}; right panel)"
    seed = f"seed {seeds[0]} of each run"
    if len(seeds) > 1:
        seed = f"each run's first seed with a record of it (seeds {span(seeds)})"
    counts = [len(f.layers) for f in every]
    x = f"x: the {counts[0]} layers with a kernel, by name"
    if not same_layers(every):
        x = f"x: each layer's relative depth (first 0, last 1; {span(counts)} layers with a kernel)"
    return f", {when}, {seed}; {x}"
