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
- ``<q>-published``: our accuracy beside the published one (Nielsen's ladder);
- ``<q>-gradients``: the gradient flow (:mod:`.gradflow`), each run's mean |gradient| per
  layer on the probe batch after the first and the last epoch, where its runs have a
  ``gradients.csv`` (none where none has: runs of an older template).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from coursework.records import layout, results, spec, storage
from coursework.records.errors import ResultsError
from coursework.records.layout import ResultsSet
from coursework.records.record import SCHEMA_VERSION
from coursework.records.results import SeedResult
from coursework.report.drawings import (
    best_run,
    beyond,
    comparison,
    confusion,
    curves,
    errors,
    filters,
    load_predictions,
    predictions,
    published,
    tuning,
    validation,
)
from coursework.report.figstyle import panels, save, style
from coursework.report.gradflow import drawn_seeds, flow_note, run_flows
from coursework.report.gradflow_drawings import flow_comparison
from coursework.report.styles import tuned_runs


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


FIGURE_CODE = ("figstyle.py", "drawings.py", "plots.py", "gradflow.py", "gradflow_drawings.py")


@cache
def code_digest() -> str:
    """The source of the modules that draw (:data:`FIGURE_CODE`): figures drawn by other
    code are drawn again."""
    here = Path(__file__).parent
    return hashlib.sha256(b"".join((here / n).read_bytes() for n in FIGURE_CODE)).hexdigest()


def sha256(path: Path) -> str:
    """The sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def seed_files(seeds: list[SeedResult], *names: str) -> list[Path]:
    """The record of each seed and its files named ``names``."""
    return [s.dir / n for s in seeds for n in (layout.RECORD, *names)]


def prediction_figures(question: str, runs: dict[str, list[SeedResult]]) -> list[Figure]:
    """The figures of one run and seed, each drawn from its files alone (and from which it
    is): the confusion matrix and errors of the best run's best seed, the filters of the best
    convolutional run."""
    out = []
    best = best_run(runs)
    top = max(runs[best], key=lambda s: s.metrics["test_accuracy"])
    if (top.dir / layout.PREDICTIONS).exists():
        shown = tuple(seed_files([top], layout.PREDICTIONS))
        choice = f"{best} seed {top.seed}"
        out.append(
            Figure(
                f"{question}-confusion",
                shown,
                lambda: confusion(predictions(top.dir), best),
                choice,
            )
        )
        out.append(
            Figure(f"{question}-errors", shown, lambda: errors(predictions(top.dir), best), choice)
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
                tuple(seed_files([first], layout.PREDICTIONS)),
                lambda: filters(predictions(first.dir)["filters"], conv[0]),
                f"{conv[0]} seed {first.seed}",
            )
        )
    return out


def tuning_figure(rs: ResultsSet, question: str) -> Figure | None:
    """The figure of the question's tuning studies (None without trials), drawn from the
    trials, the chosen ones and the searched spaces."""
    trials = rs.trial_paths(question)
    if not trials:
        return None
    s = spec.trained_spec(rs, question)
    spaces = (
        {r.name: r.tune.params for r in s.resolve(rs.name) if r.tune is not None}
        if s is not None
        else {}
    )
    chosen = [rs.tune_dir(question, r) / layout.BEST for r in spaces]
    return Figure(
        f"{question}-tuning",
        tuple(trials + [p for p in chosen if p.exists()]),
        lambda: tuning(rs, question),
        json.dumps(spaces, sort_keys=True),
    )


def question_figures(rs: ResultsSet, question: str) -> list[Figure]:
    """The figures of one question, each with the files it is drawn from (nothing drawn)."""
    runs = results.load_question(rs, question, spec.run_order(rs, question))
    if not runs:
        return []
    every = [s for seeds in runs.values() for s in seeds]
    order = "runs " + ", ".join(runs)  # the spec's order: a figure's order of runs
    histories = tuple(seed_files(every, layout.HISTORY))
    records = tuple(seed_files(every))
    out = [
        Figure(f"{question}-curves", histories, lambda: curves(runs), order),
        Figure(f"{question}-val", histories, lambda: validation(runs), order),
        Figure(f"{question}-comparison", records, lambda: comparison(runs), order),
        *prediction_figures(question, runs),
    ]
    published_runs = [r for r in runs if runs[r][0].record.published_accuracy is not None]
    out.append(
        Figure(
            f"{question}-published",
            tuple(seed_files([s for r in published_runs for s in runs[r]])),
            lambda: published(runs),
            "runs " + ", ".join(published_runs),
        )
    )
    if drawn := drawn_seeds(runs):  # the runs' gradient flow, where they recorded it
        flows = tuple(seed_files(list(drawn.values()), layout.GRADIENTS))
        choice = order + "; seeds " + ", ".join(f"{r} {s.seed}" for r, s in drawn.items())
        out.append(Figure(f"{question}-gradients", flows, lambda: flow_comparison(runs), choice))
    tuned = tuning_figure(rs, question)
    return out + ([tuned] if tuned is not None else [])


COUNTS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def panel_note(names: list[str], tuned: set[str], kind: str) -> str:
    """What a caption says of the runs' panels (``kind``: rows of panels...) where there are
    several (as :func:`.figstyle.panels` puts them), else ''."""
    groups = panels(names, tuned)
    if len(groups) == 1:
        return ""
    listed = "from the top: " + "; ".join(", ".join(g) for g in groups)
    return f"; {len(names)} runs in {COUNTS.get(len(groups), len(groups))} {kind}, {listed}"


def caption_notes(rs: ResultsSet, question: str) -> dict[str, str]:
    """Figure kind -> what its caption says of this drawing (the report's captions): the runs
    of each panel where there are several (as :func:`.figstyle.panels` puts them), the run and
    seed a figure shows, the trials drawn at the edge of the tuning figure's axes."""
    runs = results.load_question(rs, question, spec.run_order(rs, question))
    if not runs:
        return {}
    out = {}
    for kind, panelled in (("val", "panels that share their axes"), ("curves", "rows of panels")):
        if many := panel_note(list(runs), tuned_runs(runs), panelled):
            out[kind] = many
    for fig in prediction_figures(question, runs):
        run, _, seed = fig.choice.rpartition(" seed ")
        out[fig.name.removeprefix(f"{question}-")] = f" ({run}, seed {seed})"
    if drawn_seeds(runs):
        shown = list(run_flows(runs))
        tuned = tuned_runs({r: runs[r] for r in shown})
        rows = panel_note(shown, tuned, "rows of panels that share their axes")
        out["gradients"] = flow_note(runs) + rows
    if clipped := beyond(rs, question):
        out["tuning"] = (
            f"; the accuracy axes span the completed trials: {clipped} "
            + ("trials beyond them are" if clipped > 1 else "trial beyond them is")
            + " drawn at their edge (triangle)"
        )
    return out


def read_provenance(rs: ResultsSet) -> dict[str, dict]:
    """``figures/provenance.json``: per figure, the digest of what it was drawn from and the
    sha256 of its files ({} where there is none)."""
    path = rs.provenance_file()
    try:
        return storage.read_json(path)["figures"] if path.exists() else {}
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


def all_figures(rs: ResultsSet, force: bool = False) -> FigureUpdate:
    """Draw every figure that is out of date (its inputs changed, its files were edited or
    are missing; every one with ``force``) and nothing else, and record in
    ``figures/provenance.json`` what each was drawn from."""
    style()
    questions = rs.questions()
    if not questions:
        raise ResultsError(
            f"no runs under {rs.dir()}: run "
            "experiments first (make quick, or make QUESTION "
            f"PROFILE={rs.profile})"
        )
    folder = rs.figures_dir()
    storage.clear_temporaries(rs.leftovers())  # what a killed drawing left
    base = rs.dir()
    old = read_provenance(rs)
    new: dict[str, dict] = {}
    drawn, kept = [], []
    for q in questions:
        for fig in question_figures(rs, q):
            entry = old.get(fig.name)
            if entry is not None and not force and up_to_date(fig, entry, folder, base):
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
    storage.write_json(
        rs.provenance_file(),
        {"schema_version": SCHEMA_VERSION, "figures": new},
    )
    paths = [folder / f for entry in new.values() for f in entry["files"]]
    return FigureUpdate(paths, drawn, kept)


@dataclass(frozen=True)
class FigureUpdate:
    """What :func:`all_figures` did: every figure file, and the figures drawn and kept."""

    paths: list[Path]
    drawn: list[str]
    kept: list[str]


def stale_figures(rs: ResultsSet) -> list[tuple[str, str]]:
    """(figure file, what is wrong) for every figure whose files are not those drawn from the
    results as they are: what ``verify`` and ``mark`` fail. Reads, draws nothing."""
    folder = rs.figures_dir()
    present = rs.figure_files()
    base = rs.dir()
    recorded = read_provenance(rs)
    out: list[tuple[str, str]] = []
    if not recorded:
        return [
            (f"figures/{p.name}", f"no figures/{layout.PROVENANCE}: run make plots")
            for p in present
        ][:1]
    planned = {fig.name: fig for q in rs.questions() for fig in question_figures(rs, q)}
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
