"""A training request: what ``run`` parses to, and the arguments that parse back to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coursework.commands import cli
from coursework.engine import events
from coursework.engine.request import TrainRequest


def parsed(argv: list[str]) -> TrainRequest:
    return TrainRequest.from_args(cli.parser().parse_args(argv))


@pytest.mark.parametrize(
    "request_",
    [
        TrainRequest(questions=("conv",)),
        TrainRequest(
            questions=("conv", "experiments/regularisation.toml"),
            results=Path("/tmp/r"),
            profile="full",
            dataset="npz:/data/x.npz",
            only=("conv1", "conv2"),
            seeds=(0, 3),
            force=True,
            deterministic=False,
            mixed_precision=True,
            jobs=3,
            task=4,
            tune=True,
        ),
        TrainRequest(questions=("nielsen",), deterministic=True, only=()),
    ],
)
def test_a_request_round_trips_through_its_arguments(request_):
    assert parsed(request_.to_argv()) == request_


def test_the_arguments_of_a_command_line_are_its_own():
    argv = ["--results", "res", "run", "conv", "--profile", "quick", "--seeds", "0,1", "--tune"]
    request_ = parsed(argv)
    assert request_.seeds == (0, 1) and request_.tune and request_.rs.name == "quick"
    assert request_.to_argv() == argv


def test_events_are_json_lines_read_as_they_are_appended(tmp_path, monkeypatch):
    path = tmp_path / "events.jsonl"
    reader = events.Reader(path)
    assert reader.read() == []
    events.emit("status", text="nowhere")  # no file named: nothing written
    assert not path.exists()
    monkeypatch.setenv(events.ENV, str(path))
    with events.scope(run="fc", seed=0):
        events.emit("epoch", epoch=1, val_accuracy=0.5)
    events.emit("status", text="plan")
    assert reader.read() == [
        {"event": "epoch", "run": "fc", "seed": 0, "epoch": 1, "val_accuracy": 0.5},
        {"event": "status", "text": "plan"},
    ]
    with open(path, "a") as f:
        f.write(json.dumps({"event": "status"})[:5])  # a line still being written
    assert reader.read() == []


def test_training_has_one_way_in_outside_the_engine():
    """Outside ``engine/``, nothing trains a seed but through ``jobs.train(request)``: verify's
    re-runs build a request too (a ``Retrain``), so they train as a ``run`` does."""
    import ast

    from coursework.records.project import ROOT

    inner = {"train_one", "train_pack", "fit", "conclude", "train_packed", "run_job", "run_jobs"}
    found = []
    for path in sorted((ROOT / "coursework").rglob("*.py")):
        if path.parent.name == "engine":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "coursework.engine"
            ):
                found += [
                    f"{path.relative_to(ROOT)}: {a.name}" for a in node.names if a.name in inner
                ]
    assert found == []


def test_a_retrain_request_has_no_command_line(tmp_path):
    from coursework.engine.request import Retrain
    from coursework.records import spec

    run = spec.load("depth").resolve("quick")[0]
    request = TrainRequest(questions=(), retrain=Retrain(run, 0, tmp_path))
    with pytest.raises(ValueError, match="no command line"):
        request.to_argv()
