"""gradients.csv as verify and mark compare it: the first difference named, the start within
a tolerance elsewhere, files read as a submission's are."""

from __future__ import annotations

from pathlib import Path

import pytest

from coursework.records import storage
from coursework.records.results import GRADIENT_COLUMNS
from coursework.verify import gradient_flow, options
from coursework.verify.verdicts import Verdict

WHERE = ("toy/fc", "0", "toy/fc/seed-0/history.csv", "tensorflow")


def flow(folder: Path, scale: float = 1.0, epochs: int = 2) -> Path:
    """A run folder with a history and a gradients.csv of two layers, gradients x ``scale``
    after initialisation."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "epoch": e,
            "layer": layer,
            "weight": "kernel",
            "size": 10,
            **{c: (0.01 if e == 0 else 0.01 * scale) for c in GRADIENT_COLUMNS[4:]},
        }
        for e in range(epochs + 1)
        for layer in ("fc1", "softmax")
    ]
    storage.write_csv(folder / "gradients.csv", GRADIENT_COLUMNS, rows)
    (folder / "history.csv").write_text("epoch\n")
    return folder / "history.csv"


def test_the_same_flow_is_one_passing_row(tmp_path):
    [row] = gradient_flow.rows(flow(tmp_path / "a"), flow(tmp_path / "b"), WHERE, exact=True)
    assert row.ok and row.file == "toy/fc/seed-0/gradients.csv" and "byte-identical" in row.check


def test_an_edited_value_is_named_by_epoch_layer_and_column(tmp_path):
    hist = flow(tmp_path / "a")
    path = hist.parent / "gradients.csv"
    path.write_text(
        path.read_text().replace("2,softmax,kernel,10,0.01,", "2,softmax,kernel,10,0.02,")
    )
    [row] = gradient_flow.rows(hist, flow(tmp_path / "b"), WHERE, exact=True)
    assert row.verdict == Verdict.MISMATCH
    assert row.got == "epoch 2 softmax/kernel grad_mean_abs: 0.01 (submitted 0.02)"


def test_elsewhere_only_the_start_is_compared_within_a_tolerance(tmp_path):
    hist = flow(tmp_path / "a")
    [row] = gradient_flow.rows(hist, flow(tmp_path / "b", scale=3.0), WHERE, exact=False)
    assert row.ok and "at initialisation within 1%" in row.check
    other = flow(tmp_path / "c")
    path = other.parent / "gradients.csv"
    path.write_text(path.read_text().replace("0,fc1,kernel,10,0.01,", "0,fc1,kernel,10,0.0102,"))
    [row] = gradient_flow.rows(hist, other, WHERE, exact=False)
    assert not row.ok and row.got == "epoch 0 fc1/kernel grad_mean_abs: 0.0102 (submitted 0.01)"


def test_a_run_trained_before_gradient_flow_was_recorded_is_not_checked(tmp_path):
    hist = flow(tmp_path / "a")
    (hist.parent / "gradients.csv").unlink()
    assert gradient_flow.rows(hist, flow(tmp_path / "b"), WHERE, exact=True) == []


def test_a_rerun_that_wrote_none_fails(tmp_path):
    new = flow(tmp_path / "b")
    (new.parent / "gradients.csv").unlink()
    [row] = gradient_flow.rows(flow(tmp_path / "a"), new, WHERE, exact=True)
    assert row.verdict == Verdict.MISMATCH and row.got == "none"


@pytest.mark.parametrize("kind", ["link", "folder", "large"])
def test_a_submitted_file_is_read_only_as_a_bounded_regular_file(tmp_path, monkeypatch, kind):
    hist = flow(tmp_path / "a")
    path = hist.parent / "gradients.csv"
    if kind == "link":
        secret = tmp_path / "secret.csv"
        path.rename(secret)
        path.symlink_to(secret)
    elif kind == "folder":
        path.unlink()
        path.mkdir()
    else:
        monkeypatch.setattr(gradient_flow, "MAX_CSV_BYTES", 100)
    [row] = gradient_flow.rows(hist, flow(tmp_path / "b"), WHERE, exact=True)
    assert row.verdict == Verdict.MISMATCH and row.check == "gradients.csv readable"
    assert row.got == (
        "gradients.csv: over 100 bytes" if kind == "large" else "gradients.csv: not a regular file"
    )
    assert options.MAX_CSV_BYTES > 100
