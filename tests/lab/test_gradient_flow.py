"""The lab book's gradient flow, on the recorded set (as the engine trained it, no training):
one run and seed per layer and epoch on a log scale, every number as a DataFrame, the
question's figure, one clear error for a run without ``gradients.csv``; and the notebook's cell
that draws it, run as the notebook runs it."""

from __future__ import annotations

import json

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from coursework import lab
from coursework.records import layout, storage
from coursework.records.errors import CourseworkError
from coursework.records.layout import ResultsSet
from coursework.records.results import GRADIENT_COLUMNS
from tests.lab.test_notebook import NOTEBOOK


@pytest.fixture(autouse=True)
def closed():
    with matplotlib.rc_context():
        yield
    plt.close("all")


def test_one_runs_gradient_flow_per_layer_and_epoch_on_a_log_scale(recorded):
    fig = lab.gradient_flow("toy", "conv", 0, root=recorded)
    [ax] = fig.axes
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["convpool1_conv", "fc1", "softmax"]
    lines = {ln.get_label(): ln.get_ydata() for ln in ax.get_lines()}
    assert list(lines) == ["at initialisation", "after epoch 1", "after epoch 2"]
    rows = storage.read_csv(
        ResultsSet(recorded, "quick").run_dir("toy", "conv", 0) / "gradients.csv"
    )
    kernels = [
        float(r["grad_mean_abs"]) for r in rows if r["epoch"] == "2" and r["weight"] == "kernel"
    ]
    assert np.allclose(lines["after epoch 2"], kernels)


def test_every_number_as_a_data_frame_and_the_questions_figure(recorded):
    frame = lab.results("toy", root=recorded)["gradients"]
    assert list(frame.columns) == ["run", "seed", *GRADIENT_COLUMNS]
    assert set(zip(frame["run"], frame["seed"], strict=True)) == {
        (r, s) for r in ("fc", "conv") for s in range(3)
    }
    [fig] = lab.figures("toy", root=recorded, kinds=("gradients",))
    assert [ax.get_title() for ax in fig.axes] == ["after epoch 1", "after the last epoch (2)"]


def test_a_run_without_gradients_csv_is_one_clear_error(recorded):
    (ResultsSet(recorded, "quick").run_dir("toy", "fc", 1) / layout.GRADIENTS).unlink()
    with pytest.raises(CourseworkError, match="gradients.csv does not exist.*train it again"):
        lab.gradient_flow("toy", "fc", 1, root=recorded)
    with pytest.raises(CourseworkError, match="no run nope seed 0 of toy"):
        lab.gradient_flow("toy", "nope", 0, root=recorded)


def test_the_notebooks_gradient_flow_cell_draws_one_run_and_the_question(recorded):
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    [cell] = [c for c in cells if "lab.gradient_flow(" in "".join(c["source"])]
    assert "## Gradient flow" in "".join(cells[cells.index(cell) - 1]["source"])
    shown: list = []
    scope = {"lab": lab, "QUESTION": "toy", "PROFILE": "quick", "RESULTS": recorded}
    scope |= {"tables": lab.results("toy", root=recorded), "display": shown.append}
    exec("".join(cell["source"]), scope)
    assert len(shown) == 2  # the run's flow, then the question's comparison
    assert all(ax.get_yscale() == "log" for fig in shown for ax in fig.axes)
