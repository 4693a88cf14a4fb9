"""A run is what its settings say: keys, staleness, and replacing a run without losing it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coursework.engine import keys
from coursework.engine.job import plan, state
from coursework.records import layout, run_folders, storage
from coursework.records import spec as specs
from coursework.records.layout import ResultsSet
from coursework.records.record import RunRecord
from tests.helpers import CONFIG, FC_AND_CONV, run_cli, toy_spec


def toy_run(tmp_path, **config):
    s = specs.load(str(toy_spec(tmp_path, "mnist-5k", FC_AND_CONV)))
    run = s.resolve("quick")[0]
    return replace(run, config=run.config.with_(**config))


def test_the_key_follows_settings_seed_and_data_but_not_the_list_of_seeds(tmp_path):
    run = toy_run(tmp_path)
    key = keys.run_key(run, 0, "data-a")
    assert keys.run_key(replace(run, config=run.config.with_(seeds=[0, 1, 2])), 0, "data-a") == key
    assert keys.run_key(run, 1, "data-a").digest != key.digest
    assert keys.run_key(run, 0, "data-b").digest != key.digest
    other = toy_run(tmp_path, learning_rate=0.05)
    assert keys.run_key(other, 0, "data-a").digest != key.digest
    assert "models/conv.py" in key.builder_files and "models/common.py" in key.builder_files


def test_differences_say_what_changed_in_a_persons_words(tmp_path):
    run = toy_run(tmp_path)
    key = keys.run_key(run, 0, "data-a")
    record = a_record(config=run.config.to_dict(), seed=0, key=key.to_json())
    assert keys.differences(record, key, run, 0) == []
    new = toy_run(tmp_path, learning_rate=0.05, model={**run.config.model, "hidden": [30]})
    changes = keys.differences(record, keys.run_key(new, 0, "data-a"), new, 0)
    assert changes == ["learning_rate 0.1 -> 0.05", "model.hidden [16] -> [30]"]
    edited = replace(
        key, builder_files={**key.builder_files, "models/conv.py": "0" * 64}, digest="x"
    )
    assert keys.differences(record, edited, run, 0) == ["models/conv.py changed"]
    assert keys.differences(record, keys.run_key(run, 0, "data-b"), run, 0) == [
        "the dataset's content changed"
    ]


def a_record(**fields) -> RunRecord:
    """A complete run's record of ``fields`` (the others blank)."""
    given = {"question": "q", "run": "r", "profile": "quick", "seed": 0, "spec_file": ""}
    parts = {**given, "status": "complete", "config": CONFIG, **fields}
    return RunRecord.from_parts(parts, "a record")


def write(folder, text: str) -> None:
    """A complete run's record whose ``error`` is ``text`` (to tell the runs apart)."""
    folder.mkdir(parents=True, exist_ok=True)
    storage.write_record(folder / layout.RECORD, a_record(error=text))


def test_a_replacement_killed_at_any_step_loses_neither_run(tmp_path):
    out = tmp_path / "q" / "r" / "seed-0"
    new = layout.staging_dir(out)
    for stage in ("before", "old aside", "new in"):
        for d, text in ((out, "old"), (new, "new")):
            d.mkdir(parents=True, exist_ok=True)
            write(d, text)
        old = out.parent / f".{out.name}.old"
        if stage in ("old aside", "new in"):
            out.rename(old)
        if stage == "new in":
            new.rename(out)
        run_folders.recover_run(out)  # what the next run command does first
        assert storage.read_record(out / layout.RECORD).error == "new"
        assert not new.exists() and not old.exists()
        for d in (out, new, old):
            if d.exists():
                for f in d.iterdir():
                    f.unlink()
                d.rmdir()
    # a replacement killed while training: the old run goes back, the new resumes later
    out.mkdir(parents=True)
    write(out, "old")
    new.mkdir()
    run_folders.recover_run(out)
    assert storage.read_record(out / layout.RECORD).error == "old" and new.exists()


def test_a_replacement_killed_at_its_records_rename_leaves_no_temporary_in_the_run(tmp_path):
    """Killed while the new run's run.json was renamed into place (its temporary file left
    beside it): the run swapped in carried that file into the final run folder."""
    out = tmp_path / "q" / "r" / "seed-0"
    new = layout.staging_dir(out)
    for d, text in ((out, "old"), (new, "new")):
        write(d, text)
    (new / ".run.json.k1ll3d.tmp.json").write_text('{"status": "comp')
    (new / "backup").mkdir()
    (new / "backup" / ".state.npz.x7.tmp.npz").write_bytes(b"half")
    run_folders.recover_run(out)
    assert storage.read_record(out / layout.RECORD).error == "new"
    assert [p.name for p in out.rglob("*") if p.is_file()] == [layout.RECORD]


@pytest.mark.slow  # trains
def test_a_changed_setting_makes_exactly_its_run_stale_and_run_trains_it_again(tmp_path, capsys):
    path = toy_spec(tmp_path, "mnist-5k", FC_AND_CONV, epochs=1, seeds="[0, 1]")
    res = tmp_path / "r"
    assert run_cli("--results", res, "run", path) == 0
    history = (ResultsSet(res, "quick").run_dir("toy", "conv", 0) / layout.HISTORY).read_bytes()
    text = path.read_text().replace(
        'name = "fc"\n', 'name = "fc"\nprofiles.quick = { learning_rate = 0.05 }\n'
    )
    path.write_text(text)
    capsys.readouterr()
    assert run_cli("--results", res, "status", path) == 0
    out = capsys.readouterr().out
    stale = [line.split()[0:3] for line in out.splitlines() if "stale:" in line]
    assert stale == [["fc", "seed", "0"], ["fc", "seed", "1"]], out
    assert "learning_rate 0.1 -> 0.05" in out and "2 complete, 2 stale" in out
    assert run_cli("--results", res, "run", path) == 0
    out = capsys.readouterr().out
    assert out.count(": stale (learning_rate 0.1 -> 0.05)") == 2
    # the plan's line counts the complete runs; the runs to do are numbered for the command
    assert (
        "plan: 4 runs and seeds (2 complete, skipped)" in out and "complete, skipped (" not in out
    )
    assert "[1/2] toy/fc seed 0: stale" in out and "[2/2] toy/fc seed 1: stale" in out
    assert "== 1/2 runs done, " in out and " left\n" in out and "== 2/2 runs done, " in out
    for seed in (0, 1):
        rec = storage.read_json(ResultsSet(res, "quick").run_dir("toy", "fc", seed) / layout.RECORD)
        assert rec["config"]["learning_rate"] == 0.05 and rec["key"]["digest"]
    assert (
        ResultsSet(res, "quick").run_dir("toy", "conv", 0) / layout.HISTORY
    ).read_bytes() == history  # untouched
    assert not layout.staging_dir(ResultsSet(res, "quick").run_dir("toy", "fc", 0)).exists()
    job = plan(specs.load(str(path)), "quick", res)[0]
    assert state(job).kind == "complete"


def test_runs_of_another_backend_are_kept_and_the_command_says_so():
    from coursework.commands.status import backend_note
    from coursework.engine.job import State

    states = [(None, State("complete", backend="tensorflow")) for _ in range(12)]
    states.append((None, State("stale", backend="tensorflow")))
    assert backend_note(states, "jax") == (
        "12 runs trained with tensorflow, kept (backends agree within verify's tolerance); "
        "FORCE=1 re-trains them with jax"
    )
    assert backend_note(states, "tensorflow") == ""
