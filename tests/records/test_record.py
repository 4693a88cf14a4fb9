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
