"""The typed records: a status is its plain string, a config its merged dict, a run.json its
record, byte for byte."""

from __future__ import annotations

import json

import pytest

from coursework.records import storage
from coursework.records.errors import CourseworkError
from coursework.records.layout import ResultsSet
from coursework.records.record import SCHEMA_VERSION, RunRecord, Status, TrainConfig
from tests.helpers import run_cli, toy_spec


def test_status_is_its_string_in_json_and_csv():
    assert Status.COMPLETE == "complete"
    assert json.dumps({"status": Status.PRUNED}) == '{"status": "pruned"}'
    assert storage.fmt(Status.FAILED) == "failed"


def test_config_to_dict_is_the_dict_it_was_made_from_in_order():
    given = {"loss": "mse", "model": {"hidden": [8]}, "seeds": [0, 1], "dataset": "mnist-5k"}
    cfg = TrainConfig.from_dict(given)
    assert list(cfg.to_dict()) == list(given) and cfg.to_dict() == given
    assert cfg.dataset == "mnist-5k" and cfg.image_size is None
    assert cfg.loss == "mse" and "color" not in cfg.order and "loss" in cfg.order
    with pytest.raises(TypeError):  # read by attribute, never by key
        cfg["loss"]  # type: ignore[index]
    with pytest.raises(KeyError, match="not a config key"):
        TrainConfig.from_dict({"colour": "rgb"})


def test_config_is_a_copy_and_with_appends_new_keys():
    given = {"model": {"hidden": [8]}, "epochs": 2}
    cfg = TrainConfig.from_dict(given)
    given["model"]["hidden"].append(9)
    assert cfg.model == {"hidden": [8]}
    changed = cfg.with_(epochs=3, dataset="x")
    assert list(changed.order) == ["model", "epochs", "dataset"] and changed.epochs == 3
    assert cfg.epochs == 2


@pytest.mark.slow
def test_run_json_round_trips_byte_for_byte(tmp_path, tiny_npz):
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", epochs=1)
    assert run_cli("--results", str(tmp_path / "results"), "run", str(spec)) == 0
    (path,) = ResultsSet(tmp_path / "results", "quick").record_paths()
    text = path.read_text(encoding="utf-8")
    rec = RunRecord.from_json(json.loads(text), path)
    assert rec.status is Status.COMPLETE and isinstance(rec.config, TrainConfig)
    again = json.dumps(rec.to_json(), indent=2, sort_keys=False) + "\n"
    assert again == text


def test_run_json_of_another_schema_is_one_clear_error(tmp_path):
    path = tmp_path / "run.json"
    with pytest.raises(CourseworkError, match=rf"{path}.*schema version 1.*{SCHEMA_VERSION}"):
        RunRecord.from_json({"schema_version": 1}, path)
    with pytest.raises(CourseworkError, match=r"run\.json: not a run's record"):
        RunRecord.from_json({"schema_version": SCHEMA_VERSION, "status": "complete"}, path)
