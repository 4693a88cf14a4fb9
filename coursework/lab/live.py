"""The lab book's live view of training: a progress bar per run and seed and the validation
curves, redrawn from the ``history.csv`` files as they grow and from the training process's
events (:mod:`coursework.engine.events`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coursework.records import run_folders, storage
from coursework.records import spec as specs
from coursework.records.layout import HISTORY, ResultsSet, set_name

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

BAR = 20  # characters of a progress bar


class Live:
    """A progress bar per run and seed (epochs finished of its epochs) and the validation
    accuracy per epoch, redrawn as the ``history.csv`` files grow."""

    def __init__(
        self,
        question: str,
        profile: str,
        only: list[str] | None,
        seeds: list[int] | None,
        root: Path,
        dataset: str | None,
    ):
        s = specs.load(question, builders=False)
        self.rs = ResultsSet(root, set_name(profile, dataset))
        self.runs = [
            (r.name, seed, r.config.epochs) for r, seed in s.tasks(profile, only, seeds, dataset)
        ]
        # the question's runs and its tuned ones: each run's colour and line as in the report
        self.names = [r.name for r in s.resolve(profile)]
        self.tuned = {r.name for r in s.resolve(profile) if r.tune is not None}
        self.question, self.last = question, 0.0
        self.shown: tuple[Any, Any] | None = None  # the text's and the figure's displays
        self.status = ""

    def _rows(self, name: str, seed: int) -> list[dict]:
        path = self.rs.run_dir(self.question, name, seed) / HISTORY
        return storage.read_csv(path) if path.exists() else []

    def complete(self) -> bool:
        return all(
            run_folders.is_complete(self.rs.run_dir(self.question, n, s)) for n, s, _ in self.runs
        )

    def follow(self, event: dict[str, Any]) -> None:
        """Take in one event of the training process: a status line (the backend, the plan, a
        run's head line, a run skipped) is shown under the bars."""
        if event.get("event") in ("status", "run_started") and "text" in event:
            self.status = event["text"]

    def update(self, final: bool = False) -> None:
        """Redraw (at most once a second, unless ``final``)."""
        if not final and time.monotonic() - self.last < 1.0:
            return
        self.last = time.monotonic()
        self._draw()

    def figure(self, text: list[str] | None = None) -> Figure:
        """The validation accuracy per epoch of every run and seed trained (``text``: a
        progress line per run and seed is appended to it): each run in its colour and line of
        the report's figures (a line per seed), at most six runs a panel, as there."""
        import matplotlib.pyplot as plt

        from coursework.report import figstyle
        from coursework.report import styles as looks

        styles = looks.run_styles(self.names, self.tuned)
        trained = list(dict.fromkeys(name for name, _, _ in self.runs))
        groups = figstyle.panels(trained, self.tuned)
        ncol = figstyle.legend_columns(trained, 6.5)
        below = 0.14 * -(-len(trained) // ncol)  # the legend's height
        fig, axes = plt.subplots(
            1,
            len(groups),
            figsize=(6.5, 2.4 + below),
            sharex=True,
            sharey=True,
            squeeze=False,
            layout="constrained",
        )
        panel = {name: ax for ax, g in zip(axes[0], groups, strict=True) for name in g}
        labelled: dict[str, Artist] = {}
        for name, seed, epochs in self.runs:
            rows = self._rows(name, seed)
            done = len(rows)
            val = [100 * float(r["val_accuracy"]) for r in rows]
            fill = int(BAR * min(done, epochs) / epochs)
            if text is not None:
                text.append(
                    f"{name:>18s} seed {seed}  {'█' * fill}{'░' * (BAR - fill)} "
                    f"{done}/{epochs}" + (f"  val {val[-1]:.2f}%" if val else "")
                )
            if val:
                st = styles.get(name, {"color": "grey", "ls": "-", "marker": None})
                (line,) = panel[name].plot(
                    range(1, done + 1),
                    val,
                    ms=3,
                    label=f"_{name}" if name in labelled else name,
                    **{**st, "marker": st["marker"] or "o"},
                )
                labelled.setdefault(name, line)
        for ax in axes[0]:
            ax.set(xlabel="epoch")
            ax.xaxis.get_major_locator().set_params(integer=True)
        axes[0, 0].set(ylabel="validation accuracy (%)")
        fig.suptitle(self.question, fontsize=9)
        if labelled:
            names = [n for g in groups for n in g if n in labelled]
            fig.legend(
                [labelled[n] for n in names],
                names,
                fontsize=figstyle.SMALLEST,
                ncol=ncol,
                loc="outside lower center",
            )
        return fig

    def _draw(self) -> None:
        import matplotlib.pyplot as plt

        text: list[str] = []
        fig = self.figure(text)
        body = "\n".join(text + ([self.status] if self.status else []))
        try:
            from IPython.display import display
        except ImportError:
            print(body)
            plt.close(fig)
            return
        if self.shown is None:
            self.shown = (display(_Text(body), display_id=True), display(fig, display_id=True))
        else:
            self.shown[0].update(_Text(body))
            self.shown[1].update(fig)
        plt.close(fig)


class _Text:
    """Plain text that a notebook shows as it is (monospace)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.text)}</pre>"
