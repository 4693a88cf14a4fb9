"""The gradient flow of runs (their ``gradients.csv``, written here by hand as the engine
writes it, and the recorded set's as it trained them): a seed's kernels from the input to the
output on a log scale, a curve per chosen epoch; a question's runs compared in their own
colours; the figure drawn from those files (an edited one makes it stale), in the appendix
with a caption of their numbers, on the results page; nothing where no run has one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_hex

from coursework.records import layout, results, spec, storage
from coursework.records.layout import ResultsSet
from coursework.records.results import GRADIENT_COLUMNS
from coursework.report import figstyle, gradflow, page_html, plots, render, styles
from coursework.report.gradflow_drawings import flow_comparison, seed_flow
from tests.recorded import fake_set, folder

DEEP = ["conv2d_1", "batch_normalization_1", "conv2d_2", "conv2d_3", "dense_1", "softmax"]
KERNELS = [n for n in DEEP if not n.startswith("batch")]


def size(layer: str, epoch: int, j: int, n: int) -> float:
    """A made-up mean |gradient|: a thousand times smaller at the input than at the output,
    growing with the epoch."""
    return float(f"{10 ** (-3 * (n - 1 - j) / max(1, n - 1)) * (1 + 0.1 * epoch):.6g}")


def write_flow(seed_dir: Path, layers: list[str], epochs: int) -> None:
    """A seed's ``gradients.csv`` as the engine writes it: per epoch (0 to ``epochs``) and
    layer, a kernel and a bias (a batch normalisation: gamma and beta, no kernel)."""
    rows = []
    kernels = [n for n in layers if not n.startswith("batch")]
    for e in range(epochs + 1):
        for name in layers:
            weights = ("gamma", "beta") if name.startswith("batch") else ("kernel", "bias")
            for w in weights:
                g = size(name, e, kernels.index(name), len(kernels)) if w == "kernel" else 0.5
                rows.append(
                    {"epoch": e, "layer": name, "weight": w, "size": 10}
                    | {"grad_mean_abs": g, "grad_rms": 2 * g, "grad_max_abs": 4 * g}
                    | {"weight_mean_abs": 0.1, "weight_rms": 0.2, "weight_max_abs": 0.4}
                )
    storage.write_csv(seed_dir / layout.GRADIENTS, GRADIENT_COLUMNS, rows)


def flowing_set(root: Path, q: str = "toy", shared: bool = False) -> ResultsSet:
    """tests.recorded's hand-made set (runs fc and conv of two seeds, a third of one, five
    epochs) with each seed of fc and conv's ``gradients.csv``: fc three layers with a kernel,
    conv five (``shared``: both the same five); the third run none (an older run)."""
    rs = fake_set(root, q=q)
    for run, layers in (
        ("fc", DEEP if shared else ["dense_1", "dense_2", "softmax"]),
        ("conv", DEEP),
    ):
        for seed in (0, 1):
            write_flow(rs.run_dir(q, folder(run), seed), layers, 5)
    return rs


def question_runs(rs: ResultsSet, q: str = "toy") -> dict:
    return results.load_question(rs, q, spec.run_order(rs, q))


def test_a_seeds_flow_is_its_kernels_input_to_output_a_curve_per_chosen_epoch(tmp_path):
    write_flow(tmp_path, DEEP, 6)
    flow = gradflow.read_flow(tmp_path)
    assert flow is not None and flow.layers == tuple(KERNELS)  # no batch norm: no kernel
    assert flow.epochs == tuple(range(7))
    assert gradflow.chosen_epochs(flow.epochs) == [0, 1, 3, 6]
    fig = seed_flow(flow, "deep", 0)
    [ax] = fig.axes
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == KERNELS  # input to output
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert list(lines) == ["at initialisation", "after epoch 1", "after epoch 3", "after epoch 6"]
    want = [size(n, 6, j, len(KERNELS)) for j, n in enumerate(KERNELS)]
    assert np.allclose(lines["after epoch 6"].get_ydata(), want)
    assert lines["after epoch 6"].get_ydata()[0] < lines["after epoch 6"].get_ydata()[-1] / 100
    assert fig.get_size_inches()[0] == figstyle.COLUMN
    assert gradflow.read_flow(tmp_path / "none") is None  # an older run: no file, no flow


def test_the_comparison_draws_each_run_in_its_style_after_the_first_and_last_epoch(tmp_path):
    rs = flowing_set(tmp_path / "results")
    runs = question_runs(rs)
    fig = flow_comparison(runs)
    assert fig is not None and len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["after epoch 1", "after the last epoch (5)"]
    st = styles.run_styles(list(runs), styles.tuned_runs(runs))
    for ax, epoch in zip(fig.axes, (1, 5), strict=True):
        assert ax.get_yscale() == "log"
        lines = {ln.get_label(): ln for ln in ax.get_lines()}
        # in the runs' order; the run without gradients.csv not drawn
        assert list(lines) == [r for r in runs if r in ("fc", "conv")]
        for name, ln in lines.items():
            assert to_hex(ln.get_color()) == to_hex(st[name]["color"])
        # layer counts differ (3, 5): each layer's relative depth, the first 0, the last 1
        assert list(lines["fc"].get_xdata()) == [0, 0.5, 1]
        assert len(lines["conv"].get_xdata()) == len(KERNELS)
        assert lines["conv"].get_ydata()[-1] == size("softmax", epoch, 4, 5)
    assert "relative depth" in fig.axes[0].get_xlabel()


def test_runs_of_the_same_layers_are_drawn_over_the_layers_names(tmp_path):
    rs = flowing_set(tmp_path / "results", shared=True)
    fig = flow_comparison(question_runs(rs))
    assert fig is not None
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == KERNELS
    assert "layers with a kernel" in plots.caption_notes(rs, "toy")["gradients"]


def test_more_than_six_runs_go_in_rows_of_panels_that_the_caption_lists(tmp_path):
    names = [f"r{i}" for i in range(8)]
    rs = fake_set(tmp_path / "results", runs=tuple((n, 1) for n in names))
    for n in names:
        write_flow(rs.run_dir("toy", n, 0), DEEP, 3)
    fig = flow_comparison(question_runs(rs))
    assert fig is not None and len(fig.axes) == 4  # two rows, after epoch 1 and after the last
    rows = [[ln.get_label() for ln in ax.get_lines()] for ax in fig.axes[::2]]
    assert rows == [names[:4], names[4:]] and all(len(r) <= 6 for r in rows)
    note = plots.caption_notes(rs, "toy")["gradients"]
    assert "8 runs in two rows of panels that share their axes, from the top: " in note
    assert "r0, r1, r2, r3; r4, r5, r6, r7" in note


def test_the_figure_is_drawn_from_gradients_csv_and_stale_once_it_is_edited(tmp_path):
    rs = flowing_set(tmp_path / "results")
    [fig] = [f for f in plots.question_figures(rs, "toy") if f.name == "toy-gradients"]
    csvs = {p for p in fig.inputs if p.name == layout.GRADIENTS}
    assert csvs == {rs.run_dir("toy", r, 0) / layout.GRADIENTS for r in ("fc", "conv")}
    plots.all_figures(rs)
    assert (rs.figures_dir() / "toy-gradients.pdf").exists()
    assert plots.stale_figures(rs) == []
    edited = rs.run_dir("toy", "conv", 0) / layout.GRADIENTS
    edited.write_text(edited.read_text().replace("kernel,10,1", "kernel,10,2", 1))
    stale = plots.stale_figures(rs)
    assert {name for name, _ in stale} == {f"figures/toy-gradients.{e}" for e in ("pdf", "png")}


def test_no_figure_and_no_caption_where_no_run_has_gradients(tmp_path):
    rs = fake_set(tmp_path / "results")  # runs of an older template: no gradients.csv
    assert "toy-gradients" not in [f.name for f in plots.question_figures(rs, "toy")]
    assert flow_comparison(question_runs(rs)) is None
    assert "gradients" not in plots.caption_notes(rs, "toy")
    assert "gradients" not in str(page_html.page_data(rs)["curves"])


def test_the_gradients_question_has_the_figure_in_its_appendix_captioned_from_files(tmp_path):
    rs = flowing_set(tmp_path / "results", q="gradients")
    plots.all_figures(rs)
    figs = render.figures(rs, "gradients", rs.report_dir())
    [shown] = [f for f in figs["appendix"] if f["label"] == "fig:gradients-gradients"]
    assert shown["path"].endswith("figures/gradients-gradients.pdf") and shown["wide"]
    caption = shown["caption"]
    for said in (
        "mean absolute gradient of each layer's kernel on the probe batch",
        "on a log scale",
        "from the input to the output (left to right)",
        "after epoch 1 (left panel) and after each run's last (epoch 5; right panel)",
        "seed 0 of each run",
        "relative depth (first 0, last 1; 3 to 5 layers with a kernel)",
    ):
        assert said in caption, caption
    assert not [f for f in figs["body"] if "gradients-gradients" in f["path"]]


def test_the_page_carries_each_seeds_gradient_flow(tmp_path):
    rs = flowing_set(tmp_path / "results")
    bad = rs.run_dir("toy", "fc", 1) / layout.GRADIENTS
    bad.write_text("epoch,layer\n0,x\n")  # not the engine's: said, the page still drawn
    data = page_html.page_data(rs)
    flows = {
        (r["run"], r["seed"]): c.get("gradients")
        for r, c in zip(data["rows"], data["curves"], strict=True)
    }
    shown = flows[("conv", 0)]
    assert shown["layers"] == KERNELS and shown["epochs"] == list(range(6))
    assert shown["grad"][5] == pytest.approx(
        [size(n, 5, j, 5) for j, n in enumerate(KERNELS)], 1e-3
    )
    assert flows[("fc", 0)]["layers"] == ["dense_1", "dense_2", "softmax"]
    assert "not a gradients.csv" in flows[("fc", 1)]["unreadable"]
    others = [k for k in flows if k[0] not in ("fc", "conv")]
    assert others and all(flows[k] is None for k in others)  # no gradients.csv: no flow


def test_long_flows_are_thinned_on_the_page_keeping_the_first_and_last(tmp_path):
    write_flow(tmp_path, ["dense_1", "softmax"], 60)
    shown = gradflow.page_flow(tmp_path)["gradients"]
    assert shown["epochs"][:2] == [0, 1] and shown["epochs"][-1] == 60
    assert len(shown["epochs"]) <= gradflow.MOST_PAGE_EPOCHS + 2
    assert len(shown["grad"]) == len(shown["epochs"])


def test_the_recorded_runs_flow_as_the_engine_wrote_it(recorded):
    rs = ResultsSet(recorded, "quick")
    flow = gradflow.read_flow(rs.run_dir("toy", "conv", 0))
    assert flow is not None
    assert flow.layers == ("convpool1_conv", "fc1", "softmax") and flow.epochs == (0, 1, 2)
    assert (flow.grads > 0).all()
    fig = flow_comparison(question_runs(rs))
    assert fig is not None and [len(ax.get_lines()) for ax in fig.axes] == [2, 2]
