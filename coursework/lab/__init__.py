"""The lab book's API: what the command line does, from a notebook or a script.

    from coursework import lab
    lab.spec_table("conv")                      # the runs of a question, with parameter counts
    lab.train("conv", only=["conv1"])           # train, with a live view; the summary rows
    tables = lab.results("conv")                # summary, stats and histories as DataFrames
    lab.figures("conv")                         # the report's figures, inline
    lab.gradient_flow("skip", "plain20")        # a run's gradient flow, per layer and epoch
    lab.predict(lab.best_run("conv"), files)    # a trained run on your own images
    lab.report(questions=["conv"])              # the PDF
    lab.page()                                  # every run on one page, inline

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
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from coursework.lab.live import Live
from coursework.records import results as layout
from coursework.records import spec as specs
from coursework.records import storage
from coursework.records.errors import CourseworkError
from coursework.records.layout import GRADIENTS, HISTORY, STATS, SUMMARY, ResultsSet, set_name
from coursework.records.project import ROOT

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from coursework.engine.request import TrainRequest

RESULTS = ROOT / "results"  # the project's, wherever the notebook or script runs


def _rs(root: Path | str, profile: str, dataset: str | None) -> ResultsSet:
    """The results set the lab book's arguments name: made here, once per call."""
    return ResultsSet(Path(root), set_name(profile, dataset))


def environment() -> dict:
    """The Keras backend this kernel would train with, its version and the devices it sees
    (importing the framework), whether this is Google Colab, and whether the installed
    packages are the ones ``locks/`` pins (on Colab they are Colab's own: the manifest of
    every run records the difference)."""
    from coursework.runtime import backend, env

    backend.import_keras()
    gpus = backend.accelerators()
    return {
        "backend": backend.current(),
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
                "optimizer": cfg.optimizer,
                "learning rate": cfg.learning_rate,
                "batch": cfg.batch_size,
                "epochs": cfg.epochs,
                "seeds": " ".join(map(str, cfg.seeds)),
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
    root: Path | str = RESULTS,
    dataset: str | None = None,
    jobs: int = 1,
    force: bool = False,
    live: bool = True,
) -> pd.DataFrame:
    """Train a question's runs (``only`` some, ``seeds`` some) as ``make <question>`` does;
    show a progress bar per run and the validation curves, updated every epoch (``live``);
    return the question's rows of ``summary.csv``. Interrupting the cell stops the training
    process: run the cell again to resume."""
    from coursework.engine.request import TrainRequest

    request = TrainRequest(
        questions=(question,),
        results=Path(root).resolve(),
        profile=profile,
        dataset=dataset,
        only=tuple(only) if only else None,
        seeds=tuple(seeds) if seeds else None,
        force=force,
        jobs=jobs,
    )
    view = Live(question, profile, only, seeds, Path(root), dataset) if live else None
    with tempfile.TemporaryDirectory() as tmp:
        code, lines = _follow(request, Path(tmp) / "events.jsonl", view)
    if code != 0:
        raise CourseworkError(f"training stopped (exit {code}):\n" + "\n".join(lines[-15:]))
    return summary(question, profile, root, dataset)


def _follow(request: TrainRequest, events_file: Path, view: Live | None) -> tuple[int, list[str]]:
    """Train ``request`` in a child process (``python -m coursework`` with its ``to_argv``),
    following its events (:mod:`coursework.engine.events`) in ``view`` (or printing its lines
    where there is none); return its exit status and the lines it printed."""
    from coursework.engine import events

    cmd = [sys.executable, "-m", "coursework", *request.to_argv()]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", events.ENV: str(events_file)}
    reader = events.Reader(events_file)
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line.rstrip())
            if view is None:
                print(line, end="")
                continue
            for event in reader.read():
                view.follow(event)
            view.update()
        code = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        proc.wait()
        print("interrupted: every finished epoch is kept; run the cell again to resume")
        raise
    finally:
        if view is not None:
            for event in reader.read():
                view.follow(event)
            view.update(final=True)
    return code, lines


def watch(
    question: str,
    profile: str = "quick",
    root: Path | str = RESULTS,
    dataset: str | None = None,
    every: float = 5.0,
    until_complete: bool = True,
) -> None:
    """Follow the runs of a question being trained elsewhere (a terminal, a Slurm job): the
    same live view as :func:`train`, from their ``history.csv`` files, every ``every``
    seconds until every run is complete (interrupt the cell to stop watching)."""
    view = Live(question, profile, None, None, Path(root), dataset)
    try:
        while True:
            view.update(final=True)
            if until_complete and view.complete():
                return
            time.sleep(every)
    except KeyboardInterrupt:
        return


# --------------------------------------------------------------------------- results


def summary(
    question: str, profile: str = "quick", root: Path | str = RESULTS, dataset: str | None = None
) -> pd.DataFrame:
    """The question's rows of ``summary.csv``."""
    path = _rs(root, profile, dataset).aggregate(SUMMARY)
    if not path.exists():
        raise CourseworkError(f"{path} does not exist: train first (lab.train)")
    df = pd.read_csv(path)
    return df[df["question"] == question].reset_index(drop=True)


def results(
    question: str, profile: str = "quick", root: Path | str = RESULTS, dataset: str | None = None
) -> dict[str, pd.DataFrame]:
    """A question's results as DataFrames: ``summary`` (a row per run and seed), ``stats``
    (a row per run: mean, sd, 95% interval, difference from the baseline, p-value),
    ``histories`` (a row per run, seed and epoch) and ``gradients`` (a row per run, seed,
    epoch and weight tensor: its ``gradients.csv``, where it has one)."""
    rs = _rs(root, profile, dataset)
    stats_path = rs.aggregate(STATS)
    stats = pd.read_csv(stats_path) if stats_path.exists() else pd.DataFrame()
    found: dict[str, list[pd.DataFrame]] = {HISTORY: [], GRADIENTS: []}
    for path in rs.record_paths(question):
        rec = storage.read_record(path)
        for name, frames in found.items():
            if (path.parent / name).exists():
                h = pd.read_csv(path.parent / name)
                h.insert(0, "seed", rec.seed)
                h.insert(0, "run", rec.run)
                frames.append(h)
    histories, gradients = found[HISTORY], found[GRADIENTS]
    return {
        "summary": summary(question, profile, root, dataset),
        "stats": stats[stats["question"] == question].reset_index(drop=True)
        if len(stats)
        else stats,
        "histories": pd.concat(histories, ignore_index=True) if histories else pd.DataFrame(),
        "gradients": pd.concat(gradients, ignore_index=True) if gradients else pd.DataFrame(),
    }


def figures(
    question: str,
    profile: str = "quick",
    root: Path | str = RESULTS,
    dataset: str | None = None,
    kinds: tuple[str, ...] = ("curves", "val", "comparison"),
) -> list:
    """The report's figures of a question (``kinds`` of: curves, val, comparison, confusion,
    errors, tuning, gradients), as matplotlib figures: a notebook shows them inline."""
    from coursework.report import drawings, figstyle
    from coursework.report.gradflow_drawings import flow_comparison

    figstyle.style()
    rs = _rs(root, profile, dataset)
    runs = layout.load_question(rs, question, specs.run_order(rs, question))
    if not runs:
        raise CourseworkError(
            f"no complete runs of {question} under {rs.dir()}: train first (lab.train)"
        )
    best = drawings.best_run(runs)
    top = max(runs[best], key=lambda s: s.metrics["test_accuracy"])
    pred = drawings.load_predictions(top.dir)
    makers = {
        "curves": lambda: drawings.curves(runs),
        "val": lambda: drawings.validation(runs),
        "comparison": lambda: drawings.comparison(runs),
        "confusion": lambda: drawings.confusion(pred, best) if pred else None,
        "errors": lambda: drawings.errors(pred, best) if pred else None,
        "tuning": lambda: drawings.tuning(rs, question),
        "gradients": lambda: flow_comparison(runs),
    }
    unknown = [k for k in kinds if k not in makers]
    if unknown:
        raise CourseworkError(
            f"unknown figure kind {', '.join(unknown)} (kinds: {', '.join(makers)})"
        )
    return [fig for k in kinds if (fig := makers[k]()) is not None]


def gradient_flow(
    question: str,
    run: str,
    seed: int = 0,
    profile: str = "quick",
    root: Path | str = RESULTS,
    dataset: str | None = None,
) -> Figure:
    """One run and seed's gradient flow (its ``gradients.csv``): each layer's mean |gradient|
    of the kernel on the probe batch, input to output, log scale, a curve per epoch (at
    initialisation, first, middle, last). Every number: ``results(question)["gradients"]``."""
    from coursework.report import figstyle
    from coursework.report.gradflow import read_flow
    from coursework.report.gradflow_drawings import seed_flow

    folder = _rs(root, profile, dataset).run_dir(question, run, seed)
    if not folder.is_dir():
        raise CourseworkError(f"no run {run} seed {seed} of {question}: {folder} does not exist")
    flow = read_flow(folder)
    if flow is None:
        raise CourseworkError(
            f"{folder / GRADIENTS} does not exist (a run trained before the template "
            f"recorded its gradient flow): train it again (lab.train(..., force=True))"
        )
    figstyle.style()
    return seed_flow(flow, run, seed)


def best_run(
    question: str, profile: str = "quick", root: Path | str = RESULTS, dataset: str | None = None
) -> Path:
    """The folder of the seed with the best test accuracy, in the run with the best mean."""
    from coursework.report import drawings

    rs = _rs(root, profile, dataset)
    runs = layout.load_question(rs, question, specs.run_order(rs, question))
    if not runs:
        raise CourseworkError(f"no complete runs of {question}: train first (lab.train)")
    return max(runs[drawings.best_run(runs)], key=lambda s: s.metrics["test_accuracy"]).dir


def predict(run_folder: Path | str, files: list[Path | str]) -> pd.DataFrame:
    """A trained run's predictions for image files (or one ``.npz`` of ``x``, ``y``)."""
    from coursework.commands.predict import predict as run_predict

    return pd.DataFrame(run_predict(Path(run_folder), [Path(f) for f in files])["rows"])


def report(
    profile: str = "quick",
    questions: list[str] | None = None,
    root: Path | str = RESULTS,
    dataset: str | None = None,
    build: bool = True,
) -> Path:
    """Figures, then the paper (``report.toml``; ``questions`` overrides its list): the PDF's
    path (the ``.tex`` file's where TeX is not installed). ``build=False``: the paper as it
    was built, not built again (``make submission`` runs the lab book so: what it hands in
    is the paper ``make report`` made)."""
    from coursework.commands.paper import paper
    from coursework.report import questions as paper_questions
    from coursework.report.settings import read_settings

    rs = _rs(root, profile, dataset)
    if build:
        return paper(rs, read_settings(questions=questions), say=False)
    ids = paper_questions.built(rs)
    print(f"the report as built ({', '.join(ids)}), not built again: {rs.report_dir()}")
    pdf = rs.report_dir() / "report.pdf"
    return pdf if pdf.exists() else rs.report_dir() / "report.tex"


class Page:
    """The results page in a notebook: shown inline (an iframe of the whole page, its
    scripts with it); ``path`` is its file, to open in a browser too."""

    def __init__(self, path: Path, height: int) -> None:
        self.path, self.height = path, height

    def __repr__(self) -> str:
        return f"Page({str(self.path)!r})"

    def _repr_html_(self) -> str:
        import html

        doc = html.escape(self.path.read_text(encoding="utf-8"), quote=True)
        style = f"width:100%;height:{int(self.height)}px;border:0"
        return f'<iframe srcdoc="{doc}" style="{style}"></iframe>'


def page(
    profile: str = "quick",
    root: Path | str = RESULTS,
    dataset: str | None = None,
    height: int = 900,
) -> Page:
    """Every run on one page (as ``make page``: written to ``results/<set>/index.html``),
    shown inline: the runs table, curves, two runs compared, tuning, confusion matrix."""
    from coursework.report import page_html

    rs = _rs(root, profile, dataset)
    if not rs.record_paths():
        raise CourseworkError(f"no runs under {rs.dir()}: train first (lab.train)")
    return Page(page_html.write(rs), height)
