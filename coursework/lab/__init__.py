"""The lab book's API: what the command line does, from a notebook or a script.

    from coursework import lab
    lab.spec_table("conv")                      # the runs of a question, with parameter counts
    lab.train("conv", only=["conv1"])           # train, with a live view; the summary rows
    tables = lab.results("conv")                # summary, stats and histories as DataFrames
    lab.figures("conv")                         # the report's figures, inline
    lab.predict(lab.best_run("conv"), files)    # a trained run on your own images
    lab.report(questions=["conv"])              # the PDF

Training runs the same command as ``make`` (``python -m coursework run``) in a process of its
own, so it writes the same files, byte for byte, and a cell interrupted mid-training leaves a
run that the next ``train`` resumes after its last finished epoch, as a killed run. The live
view reads the ``history.csv`` files a run writes after every epoch, so ``watch`` follows a
run started anywhere (a terminal, a Slurm job) as well. Everything else reads the results
folder, as ``plots`` and ``report`` do.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from coursework.records import results as layout
from coursework.records import spec as specs
from coursework.records.errors import CourseworkError
from coursework.records.project import ROOT

RESULTS = ROOT / "results"  # the project's, wherever the notebook or script runs
BAR = 20  # characters of a progress bar


def _set(profile: str, dataset: str | None) -> str:
    return layout.set_name(profile, dataset)


def environment() -> dict:
    """The Keras backend this kernel would train with, its version and the devices it sees
    (importing the framework), whether this is Google Colab, and whether the installed
    packages are the ones ``locks/`` pins (on Colab they are Colab's own: the manifest of
    every run records the difference)."""
    from coursework.runtime import backend, env

    backend.import_keras()
    gpus = backend.accelerators()
    return {
        "backend": backend.chosen(),
        "version": backend.version(),
        "devices": ", ".join(g["name"] for g in gpus) or "CPU only",
        "colab": "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ,
        "packages": env.lock_differences(env.lock_state()),
    }


def questions() -> pd.DataFrame:
    """The questions in ``experiments/``: id, title, research question."""
    rows = []
    for q in specs.all_questions():
        s = specs.load(q, builders=False)
        rows.append(
            {
                "question": q,
                "title": s.title,
                "research question": " ".join(s.research_question.split()),
            }
        )
    return pd.DataFrame(rows)


def spec_table(question: str, profile: str = "quick", dataset: str | None = None) -> pd.DataFrame:
    """A question's runs under ``profile``: what each changes, its settings and trainable
    parameters (its model is built to count them)."""
    from coursework.commands.describe import architectures

    s = specs.load(question)
    params = {a["run"]: a["params"] for a in architectures(s, profile, dataset)}
    rows = []
    for run in s.resolve(profile):
        cfg = run.config
        rows.append(
            {
                "run": run.name,
                "description": run.description,
                "optimizer": cfg["optimizer"],
                "learning rate": cfg["learning_rate"],
                "batch": cfg["batch_size"],
                "epochs": cfg["epochs"],
                "seeds": " ".join(map(str, cfg["seeds"])),
                "parameters": params[run.name],
                "tuned": ", ".join(run.tune.params) if run.tune else "",
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- training


def train(
    question: str,
    profile: str = "quick",
    only: list[str] | None = None,
    seeds: list[int] | None = None,
    results: Path | str = RESULTS,
    dataset: str | None = None,
    jobs: int = 1,
    force: bool = False,
    live: bool = True,
) -> pd.DataFrame:
    """Train a question's runs (``only`` some, ``seeds`` some) as ``make <question>`` does;
    show a progress bar per run and the validation curves, updated every epoch (``live``);
    return the question's rows of ``summary.csv``. Interrupting the cell stops the training
    process: run the cell again to resume."""
    cmd = [
        sys.executable,
        "-m",
        "coursework",
        "--results",
        str(Path(results).resolve()),
        "run",
        question,
        "--profile",
        profile,
    ]
    cmd += ["--only", ",".join(only)] if only else []
    cmd += ["--seeds", ",".join(map(str, seeds))] if seeds else []
    cmd += ["--dataset", dataset] if dataset else []
    cmd += ["--jobs", str(jobs)] if jobs > 1 else []
    cmd += ["--force"] if force else []
    view = Live(question, profile, only, seeds, Path(results), dataset) if live else None
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line.rstrip())
            if view is not None:
                view.update(lines[-1])
            else:
                print(line, end="")
        code = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        proc.wait()
        print("interrupted: every finished epoch is kept; run the cell again to resume")
        raise
    finally:
        if view is not None:
            view.update(None, final=True)
    if code != 0:
        raise CourseworkError(f"training stopped (exit {code}):\n" + "\n".join(lines[-15:]))
    return summary(question, profile, results, dataset)


def watch(
    question: str,
    profile: str = "quick",
    results: Path | str = RESULTS,
    dataset: str | None = None,
    every: float = 5.0,
    until_complete: bool = True,
) -> None:
    """Follow the runs of a question being trained elsewhere (a terminal, a Slurm job): the
    same live view as :func:`train`, from their ``history.csv`` files, every ``every``
    seconds until every run is complete (interrupt the cell to stop watching)."""
    view = Live(question, profile, None, None, Path(results), dataset)
    try:
        while True:
            view.update(None, final=True)
            if until_complete and view.complete():
                return
            time.sleep(every)
    except KeyboardInterrupt:
        return


class Live:
    """A progress bar per run and seed (epochs finished of its epochs) and the validation
    accuracy per epoch, redrawn as the ``history.csv`` files grow."""

    def __init__(
        self,
        question: str,
        profile: str,
        only: list[str] | None,
        seeds: list[int] | None,
        results: Path,
        dataset: str | None,
    ):
        s = specs.load(question, builders=False)
        self.results, self.set = results, _set(profile, dataset)
        self.runs = [
            (r.name, seed, r.config["epochs"]) for r, seed in s.tasks(profile, only, seeds, dataset)
        ]
        # the question's runs and its tuned ones: each run's colour and line as in the report
        self.names = [r.name for r in s.resolve(profile)]
        self.tuned = {r.name for r in s.resolve(profile) if r.tune is not None}
        self.question, self.shown, self.last = question, None, 0.0
        self.status = ""

    def _rows(self, name: str, seed: int) -> list[dict]:
        path = layout.run_dir(self.results, self.set, self.question, name, seed) / layout.HISTORY
        return layout.read_csv(path) if path.exists() else []

    def complete(self) -> bool:
        return all(
            layout.is_complete(layout.run_dir(self.results, self.set, self.question, n, s))
            for n, s, _ in self.runs
        )

    def update(self, line: str | None, final: bool = False) -> None:
        if line is not None and not line.startswith(" "):
            self.status = line  # a run's head line, or the plan
        if not final and time.monotonic() - self.last < 1.0:
            return
        self.last = time.monotonic()
        self._draw()

    def figure(self, text: list[str] | None = None):
        """The validation accuracy per epoch of every run and seed trained (``text``: a
        progress line per run and seed is appended to it): each run in its colour and line of
        the report's figures (a line per seed), at most six runs a panel, as there."""
        import matplotlib.pyplot as plt

        from coursework.report import plots

        styles = plots.run_styles(self.names, self.tuned)
        trained = list(dict.fromkeys(name for name, _, _ in self.runs))
        groups = plots.panels(trained, self.tuned)
        ncol = plots.legend_columns(trained, 6.5)
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
        labelled = {}
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
                fontsize=plots.SMALLEST,
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


# --------------------------------------------------------------------------- results


def summary(
    question: str, profile: str = "quick", results: Path | str = RESULTS, dataset: str | None = None
) -> pd.DataFrame:
    """The question's rows of ``summary.csv``."""
    path = layout.aggregate(Path(results), _set(profile, dataset), layout.SUMMARY)
    if not path.exists():
        raise CourseworkError(f"{path} does not exist: train first (lab.train)")
    df = pd.read_csv(path)
    return df[df["question"] == question].reset_index(drop=True)


def results(
    question: str, profile: str = "quick", results: Path | str = RESULTS, dataset: str | None = None
) -> dict[str, pd.DataFrame]:
    """A question's results as DataFrames: ``summary`` (a row per run and seed), ``stats``
    (a row per run: mean, sd, 95% interval, difference from the baseline, p-value) and
    ``histories`` (a row per run, seed and epoch)."""
    base = Path(results)
    rs = _set(profile, dataset)
    stats_path = layout.aggregate(base, rs, layout.STATS)
    stats = pd.read_csv(stats_path) if stats_path.exists() else pd.DataFrame()
    histories = []
    for path in layout.record_paths(base, rs, question):
        rec = layout.read_json(path)
        hist = path.parent / layout.HISTORY
        if hist.exists():
            h = pd.read_csv(hist)
            h.insert(0, "seed", rec["seed"])
            h.insert(0, "run", rec["run"])
            histories.append(h)
    return {
        "summary": summary(question, profile, results, dataset),
        "stats": stats[stats["question"] == question].reset_index(drop=True)
        if len(stats)
        else stats,
        "histories": pd.concat(histories, ignore_index=True) if histories else pd.DataFrame(),
    }


def figures(
    question: str,
    profile: str = "quick",
    results: Path | str = RESULTS,
    dataset: str | None = None,
    kinds: tuple[str, ...] = ("curves", "val", "comparison"),
) -> list:
    """The report's figures of a question (``kinds`` of: curves, val, comparison, confusion,
    errors, tuning), as matplotlib figures: a notebook shows them inline."""
    from coursework.report import plots

    plots.style()
    base, rs = Path(results), _set(profile, dataset)
    runs = layout.load_question(base, rs, question, specs.run_order(base, rs, question))
    if not runs:
        raise CourseworkError(
            f"no complete runs of {question} under "
            f"{layout.set_dir(base, rs)}: train first (lab.train)"
        )
    best = plots.best_run(runs)
    top = max(runs[best], key=lambda s: s.metrics["test_accuracy"])
    pred = plots.load_predictions(top.dir)
    makers = {
        "curves": lambda: plots.curves(runs),
        "val": lambda: plots.validation(runs),
        "comparison": lambda: plots.comparison(runs),
        "confusion": lambda: plots.confusion(pred, best) if pred else None,
        "errors": lambda: plots.errors(pred, best) if pred else None,
        "tuning": lambda: plots.tuning(base, rs, question),
    }
    unknown = [k for k in kinds if k not in makers]
    if unknown:
        raise CourseworkError(
            f"unknown figure kind {', '.join(unknown)} (kinds: {', '.join(makers)})"
        )
    return [fig for k in kinds if (fig := makers[k]()) is not None]


def best_run(
    question: str, profile: str = "quick", results: Path | str = RESULTS, dataset: str | None = None
) -> Path:
    """The folder of the seed with the best test accuracy, in the run with the best mean."""
    from coursework.report import plots

    base, rs = Path(results), _set(profile, dataset)
    runs = layout.load_question(base, rs, question, specs.run_order(base, rs, question))
    if not runs:
        raise CourseworkError(f"no complete runs of {question}: train first (lab.train)")
    return max(runs[plots.best_run(runs)], key=lambda s: s.metrics["test_accuracy"]).dir


def predict(run_folder: Path | str, files: list[Path | str]) -> pd.DataFrame:
    """A trained run's predictions for image files (or one ``.npz`` of ``x``, ``y``)."""
    from coursework.commands.predict import predict as run_predict

    return pd.DataFrame(run_predict(Path(run_folder), [Path(f) for f in files])["rows"])


def report(
    profile: str = "quick",
    questions: list[str] | None = None,
    results: Path | str = RESULTS,
    dataset: str | None = None,
) -> Path:
    """Figures, then the paper (``report.toml``; ``questions`` overrides its list): the PDF's
    path (the ``.tex`` file's where TeX is not installed)."""
    from coursework.analysis import manifest
    from coursework.report.plots import all_figures
    from coursework.report.render import build
    from coursework.report.settings import read_settings

    base, rs = Path(results), _set(profile, dataset)
    all_figures(base, rs)
    out = build(base, rs, settings=read_settings(questions=questions))
    manifest.update(base, rs)
    return out
