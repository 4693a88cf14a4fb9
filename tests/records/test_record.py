"""The typed records: a status is its plain string, a config its merged dict, a run.json its
record, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

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


RECORDED = Path(__file__).parent / "run_json"  # written by `make quick` before RunRecord was


def _recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))


def _with(d: dict, drop: tuple[str, ...] = (), **added: object) -> dict:
    """``d`` without the keys ``drop``, then ``added`` appended in order: as the engine
    built a record, a key at a time (``rec["packed"] = ...``, ``rec["key"] = ...``)."""
    out = {k: v for k, v in d.items() if k not in drop}
    out.update(added)
    return out


def written_records() -> dict[str, dict]:
    """Every kind of ``run.json`` a run writes: recorded ones (a run with a published
    accuracy, a tuned run, a complete and a pruned tuning trial) and those made from them
    key by key as the engine adds its keys (a packed seed: :mod:`coursework.engine.pack`
    then :mod:`coursework.engine.claimed`; a failed run: ``run.record`` with its error; a
    record of this schema's first days, before ``architecture`` and ``code_sha256``)."""
    complete, tuned = _recorded("complete"), _recorded("tuned")
    packed = {"seeds": [0, 1], "epoch_seconds": "its share of the pack's"}
    failed = _with(
        complete,
        drop=("key", "published_accuracy"),
        error="ValueError: no such layer",
        key=complete["key"],
    )
    failed.update(status="failed", metrics={}, params=None, architecture=[])
    return {
        "complete": complete,
        "tuned": tuned,
        "trial": _recorded("trial"),
        "trial-pruned": _recorded("trial-pruned"),
        "packed": _with(complete, drop=("key",), packed=packed, key=complete["key"]),
        "packed-tuned": _with(
            tuned, drop=("tuned", "key"), packed=packed, tuned=tuned["tuned"], key=tuned["key"]
        ),
        "failed": failed,
        "first-of-schema-2": _with(complete, drop=("architecture", "code_sha256", "key")),
    }


@pytest.mark.parametrize("kind", list(written_records()))
def test_every_kind_of_run_json_round_trips_byte_for_byte(tmp_path, kind):
    d = written_records()[kind]
    text = json.dumps(d, indent=2) + "\n"  # storage.write_json's form
    rec = RunRecord.from_json(json.loads(text), kind)
    assert rec.to_json() == d and list(rec.to_json()) == list(d)
    storage.write_record(tmp_path / "run.json", rec)
    assert (tmp_path / "run.json").read_text(encoding="utf-8") == text
    assert storage.read_record(tmp_path / "run.json") == rec


def test_a_record_is_read_by_its_fields():
    tuned, trial = written_records()["tuned"], _recorded("trial-pruned")
    rec = RunRecord.from_json(tuned, "tuned")
    assert rec.tuned is not None and rec.tuned.params == tuned["tuned"]["params"]
    assert rec.key is not None and rec.trial is None and rec.packed is None
    assert rec.config.epochs == tuned["config"]["epochs"] and rec.status is Status.COMPLETE
    assert rec.backend == tuned["environment"]["backend"]
    pruned = RunRecord.from_json(trial, "trial")
    assert pruned.status is Status.PRUNED and pruned.trial is not None
    assert pruned.trial.number == trial["trial"]["number"] and pruned.key is None
    assert pruned.with_(key={"digest": "x"}).to_json()["key"] == {"digest": "x"}


def test_a_record_of_some_keys_reads_the_rest_as_blank():
    """What a marker's re-run is handed (verify.inspection.settings_of): some keys."""
    d = _recorded("trial")
    parts = {k: d[k] for k in ("question", "run", "profile", "seed", "status", "config")}
    rec = RunRecord.from_parts({**parts, "spec_file": "", "trial": d["trial"]}, "settings")
    assert rec.metrics == {} and rec.params is None and rec.trial is not None
    with pytest.raises(CourseworkError, match="missing: seed"):
        RunRecord.from_parts({k: v for k, v in parts.items() if k != "seed"}, "settings")
