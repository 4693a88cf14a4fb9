"""Helpers for tests: toy spec files, a run left part-way, and the mark of tests that need TeX."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from coursework.records import layout
from coursework.runtime import backend

# a test that compiles the PDF (TeX Live) and reads it back (poppler's pdftotext)
needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap not installed (.ci/run installs it): marking runs nothing without it",
)
needs_tex = pytest.mark.skipif(
    shutil.which("latexmk") is None or shutil.which("pdftotext") is None,
    reason="TeX Live / poppler not installed",
)
# slow on JAX alone: Keras's ops run eagerly there, each compiled on its first call (seconds
# where TensorFlow takes a fraction of one); `make test-fast BACKEND=jax` leaves it out
slow_on_jax = pytest.mark.slow if backend.current() == "jax" else (lambda test: test)
# a test that trains, builds and marks a submission: once, in the TensorFlow pass (a re-run
# uses the backend the run recorded), with TeX and bubblewrap
MARKING_TESTS = [
    pytest.mark.slow,
    needs_tex,
    needs_bwrap,
    pytest.mark.skipif(
        backend.current() != "tensorflow",
        reason="trains, builds and marks a submission: once, in the TensorFlow pass",
    ),
]


def installed_venv(folder: Path, code: Path | None = None) -> None:
    """``folder/.venv`` as make sees an environment whose installs are all up to date: its
    Python is this one (reading the project's code at ``code``, where given)."""
    (folder / ".venv" / "bin").mkdir(parents=True)
    python = folder / ".venv" / "bin" / "python"
    path = f'PYTHONPATH="{code}" ' if code is not None else ""
    python.write_text(f'#!/bin/sh\n{path}exec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    for extra in ("tensorflow", "jax", "torch", "gpu", "jax-cuda"):
        (folder / ".venv" / f".installed-{extra}").touch()


def write_spec(folder: Path, body: str, name: str = "toy") -> Path:
    """Write experiments-style TOML to ``folder/<name>.toml`` and return its path."""
    path = folder / f"{name}.toml"
    path.write_text(textwrap.dedent(body))
    return path


# Two runs of conv:build: a small fully connected one and a small convolutional one
FC_AND_CONV = """
    [[runs]]
    name = "fc"
    model = { conv_maps = [], hidden = [16] }
    [[runs]]
    name = "conv"
    model = { conv_maps = [4], hidden = [16], activation = "relu" }
"""


def toy_spec(
    folder: Path,
    dataset: str,
    runs: str | None = None,
    epochs: int = 2,
    name: str = "toy",
    extra_defaults: str = "",
    seeds: str = "[0]",
    builder: str = "conv:build",
) -> Path:
    """A one-question spec on ``dataset``; ``runs`` is TOML for the [[runs]] tables."""
    runs = (
        runs
        or """
        [[runs]]
        name = "fc"
        model = { conv_maps = [], hidden = [32] }
    """
    )
    return write_spec(
        folder,
        textwrap.dedent(f"""
        question = "{name}"
        title = "Toy"
        research_question = "Does the pipeline work?"
        hypothesis = "Yes."
        builder = "{builder}"

        [defaults]
        dataset = "{dataset}"
        optimizer = "sgd"
        learning_rate = 0.1
        batch_size = 32
        epochs = {epochs}
        seeds = {seeds}
        {extra_defaults}

        [profiles.quick]
        [profiles.full]
    """)
        + textwrap.dedent(runs),
        name,
    )


def run_cli(*args) -> int:
    """The command line, in this process: ``run_cli("--results", path, "run", spec)``."""
    from coursework.commands import cli

    return cli.main([str(a) for a in args])


def metric_columns(path: Path) -> list[str]:
    """history.csv without epoch_seconds (wall-clock time, the one column that may differ)."""
    rows = []
    for line in path.read_text().splitlines():
        rows.append(",".join(line.split(",")[:-1]))
    return rows


def handed_in_zip(folder: Path, spec: Path) -> Path:
    """What a student hands in: ``spec``'s runs trained, the report built (author Ada
    Lovelace), ``make submission`` without the notebook; the zip's path."""
    res = folder / "results"
    settings = folder / "report.toml"
    settings.write_text('title = "Toy study"\nauthor = "Ada Lovelace (s0000001)"\n')
    assert run_cli("--results", res, "run", spec) == 0
    assert run_cli("--results", res, "report", "--settings", settings) == 0
    assert (
        run_cli("--results", res, "submission", "--out", folder / "submission", "--no-notebook")
        == 0
    )
    return folder / "submission.zip"


def in_progress(src: Path, dest: Path, record: str = "absent", epochs: int = 1) -> Path:
    """``dest``: the seed folder ``src`` as the engine leaves a run part-way through training
    (``engine/seed_run.py``): ``history.csv`` with its first ``epochs`` rows, the training state in
    ``backup/``, no weights, predictions or ``run.json`` yet. ``record="running"``: a
    ``run.json`` that says so (the engine writes none until the run ends)."""
    dest.mkdir(parents=True)
    lines = (src / layout.HISTORY).read_text().splitlines()
    (dest / layout.HISTORY).write_text("\n".join(lines[: 1 + epochs]) + "\n")
    layout.checkpoint_key_file(dest).parent.mkdir()
    layout.checkpoint_key_file(dest).write_text("0" * 64 + "\n")
    np.savez(layout.checkpoint_file(dest), epoch=np.int64(epochs))
    if record == "running":
        rec = json.loads((src / layout.RECORD).read_text())
        rec.update(
            status="running",
            metrics={},
            seed=int(dest.name.removeprefix(".").split("-")[1].split(".")[0]),
        )
        (dest / layout.RECORD).write_text(json.dumps(rec))
    return dest


def template_report_toml(path: Path, in_project: bool = False) -> Path:
    """The template's report.toml as shipped (its defaults, the placeholder author, every
    question), written to ``path`` (``in_project``: a project's root, the bibliography
    relative to it): what the tests read instead of a student's own."""
    from coursework.records.project import REPORT_TEMPLATES
    from coursework.report.settings import PLACEHOLDER_AUTHOR

    bib = "report_templates/references.bib" if in_project else REPORT_TEMPLATES / "references.bib"
    path.write_text(
        'title = "Deep learning coursework"\n'
        f'author = "{PLACEHOLDER_AUTHOR}"\n'
        "questions = []\n"
        "page_limit = 6\n"
        'style = "paper"\n'
        f'bibliography = "{bib}"\n'
    )
    return path


def write_files(folder: Path, files: dict[str, str | bytes]) -> dict[str, Path]:
    """``files`` (name relative to ``folder`` -> text or bytes) written under ``folder``:
    name -> path, as the code digest and the code diff take a project's files."""
    out = {}
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
        out[name] = path
    return out


def copied(src: Path, dest: Path, questions: tuple[str, ...] | None = None) -> Path:
    """A copy of the results folder ``src`` at ``dest`` to change; with ``questions``, of those
    questions alone, its shared files (summary, stats, ensembles, manifest) rewritten as if
    only they had been trained."""
    shutil.copytree(src, dest)
    if questions is not None:
        from coursework.analysis import aggregates
        from coursework.records import layout
        from coursework.records.layout import ResultsSet

        for name in layout.sets(dest):
            rs = ResultsSet(dest, name)
            for q in set(rs.questions()) - set(questions):
                shutil.rmtree(rs.question_dir(q))
            aggregates.write_aggregates(rs)
    return dest


# the settings every run.json's config has (a spec always resolves them): for records by hand
CONFIG = {
    "dataset": "mnist-5k",
    "builder": "conv:build",
    "optimizer": "sgd",
    "learning_rate": 0.1,
    "batch_size": 32,
    "epochs": 5,
    "seeds": [0],
}


def assert_same_flow(a: Path, b: Path, rtol: float) -> None:
    """Two runs' ``gradients.csv`` (their folders ``a`` and ``b``): the same epochs, layers
    and weights, every statistic within ``rtol``."""
    from coursework.records import layout, storage
    from coursework.records.results import GRADIENT_COLUMNS

    want, got = (storage.read_csv(p / layout.GRADIENTS) for p in (a, b))
    keys = GRADIENT_COLUMNS[:4]
    assert [[r[k] for k in keys] for r in got] == [[r[k] for k in keys] for r in want]
    assert want, "no gradient flow recorded"
    for w, g in zip(want, got, strict=True):
        for c in GRADIENT_COLUMNS[4:]:
            assert float(g[c]) == pytest.approx(float(w[c]), rel=rtol, abs=1e-8), (w, c)
