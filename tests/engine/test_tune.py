"""Tuning on validation: Optuna studies whose trials are ordinary runs of this engine."""

from __future__ import annotations

import multiprocessing
import textwrap
from pathlib import Path

import optuna
import pytest

from coursework.engine import tune
from coursework.engine.study import open_study, suggest
from coursework.records import layout, spec
from coursework.records.errors import SpecError
from coursework.records.layout import ResultsSet
from coursework.records.storage import read_json
from coursework.runtime import backend
from tests.helpers import run_cli, toy_spec

pytestmark = pytest.mark.slow  # trains small studies

GRID = """
    [[runs]]
    name = "fixed"
    model = { conv_maps = [], hidden = [16] }
    [[runs]]
    name = "tuned"
    model = { conv_maps = [], hidden = [16] }
    tune = { sampler = "grid", params = { learning_rate = [0.01, 0.3, 3.0] } }
"""
TPE = """
    [tune]
    sampler = "tpe"
    trials = 4
    epochs = 2
    [[runs]]
    name = "tuned"
    model = { conv_maps = [], hidden = [16] }
    tune = { params = { learning_rate = { low = 0.01, high = 1.0, log = true } } }
"""


def study_of(res: Path, name: str = "tuned", q: str = "toy") -> optuna.Study:
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(
            str(ResultsSet(res, "quick").tune_dir(q, name) / layout.STUDY)
        )
    )
    return optuna.load_study(study_name=f"{q}/{name}", storage=storage)


def trials(res: Path, name: str = "tuned") -> list[dict]:
    return [read_json(p) for p in ResultsSet(res, "quick").trial_paths("toy", name)]


def test_a_grid_over_three_rates_picks_the_best_on_validation_and_never_tests_a_trial(
    tmp_path, tiny_npz, capsys
):
    s = toy_spec(tmp_path, f"npz:{tiny_npz}", GRID, epochs=2, seeds="[0, 1]")
    res = tmp_path / "r"
    assert run_cli("--results", res, "run", s) == 0
    # run again: the chosen study is not opened, nor said to be tuning (a no-op in seconds)
    capsys.readouterr()
    assert run_cli("--results", res, "run", s) == 0
    again = capsys.readouterr().out
    assert "1 study (chosen)" in again and "tuning toy" not in again and ": chose " not in again
    recs = trials(res)
    assert len(recs) == 3 and {r["status"] for r in recs} == {"complete"}
    assert sorted(r["trial"]["params"]["learning_rate"] for r in recs) == [0.01, 0.3, 3.0]
    assert all("test_accuracy" not in r["metrics"] for r in recs)  # the test split untouched
    assert not list(ResultsSet(res, "quick").tune_dir("toy", "tuned").rglob("predictions.npz"))
    best = read_json(ResultsSet(res, "quick").tune_dir("toy", "tuned") / layout.BEST)
    top = max(recs, key=lambda r: r["metrics"]["best_val_accuracy"])
    assert best["params"] == top["trial"]["params"] and best["trials"] == 3
    seeds = [
        read_json(p)
        for p in ResultsSet(res, "quick").record_paths("toy")
        if "/tuned/" in p.as_posix()
    ]
    assert len(seeds) == 2 and all(r["metrics"]["test_accuracy"] > 0 for r in seeds)
    assert all(r["config"]["learning_rate"] == best["params"]["learning_rate"] for r in seeds)
    assert seeds[0]["tuned"]["trials"] == 3
    # make verify: the tuned runs' configs match spec + chosen parameters; trials re-train
    from coursework.verify import integrity

    rows = integrity.verify(ResultsSet(res, "quick"), sample=None, do_rerun=True)
    assert all(r.ok for r in rows), [r for r in rows if not r.ok]
    assert sum("trial" in r.seed and r.check.startswith("re-run history") for r in rows) == 3


def _work(args):
    spec_path, res, most = args
    backend.configure(deterministic=True)
    s = spec.load(str(spec_path))
    [run] = tune.tuned_runs(s, "quick")
    tune.run_study(run, ResultsSet(Path(res), "quick"), most=most)


def test_a_killed_study_resumes_without_repeating_trials_and_two_processes_share_one(
    tmp_path, tiny_npz
):
    s = toy_spec(tmp_path, f"npz:{tiny_npz}", TPE, epochs=2)
    res = tmp_path / "r"
    [run] = tune.tuned_runs(spec.load(str(s)), "quick")
    assert tune.run_study(run, ResultsSet(res, "quick"), most=2) is None  # two trials, then stopped
    # a process killed inside its third trial: asked, never told, its folder claimed by nobody
    study = open_study(ResultsSet(res, "quick"), run, 2)
    killed = study.ask()
    suggest(killed, run.tune.params)
    done = {
        p: p.stat().st_mtime_ns
        for p in ResultsSet(res, "quick").tune_dir("toy", "tuned").glob("trial-00[01]/history.csv")
    }
    best = tune.run_study(run, ResultsSet(res, "quick"))
    assert best is not None
    states = [t.state for t in study_of(res).trials]
    assert states.count(optuna.trial.TrialState.FAIL) == 1  # the killed one
    finished = [t for t in study_of(res).trials if t.state != optuna.trial.TrialState.FAIL]
    assert len(finished) == 4
    assert {p: p.stat().st_mtime_ns for p in done} == done  # no finished trial trained again
    # the killed trial's parameters were tried again
    assert killed.params in [t.params for t in finished]
    # two worker processes sharing one study run distinct trials, 4 in all
    res2 = tmp_path / "r2"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.map(_work, [(s, res2, None), (s, res2, None)])
    numbers = [r["trial"]["number"] for r in trials(res2)]
    assert sorted(numbers) == [0, 1, 2, 3]
    assert len(study_of(res2).trials) == 4


def test_slurm_tasks_one_by_one_then_collect_choose_what_make_tune_chooses(tmp_path, tiny_npz):
    s = toy_spec(tmp_path, f"npz:{tiny_npz}", TPE, epochs=2)
    one, tasks = tmp_path / "one", tmp_path / "tasks"
    assert run_cli("--results", one, "run", s, "--tune") == 0
    for k in range(4):
        assert run_cli("--results", tasks, "run", s, "--tune", "--task", k) == 0
    best_path = ResultsSet(tasks, "quick").tune_dir("toy", "tuned") / layout.BEST
    best_path.unlink(missing_ok=True)  # as if the last task had not written it
    assert run_cli("--results", tasks, "collect") == 0
    a = read_json(ResultsSet(one, "quick").tune_dir("toy", "tuned") / layout.BEST)
    b = read_json(best_path)
    assert a["params"] == b["params"] and a["trial"] == b["trial"]
    assert [r["trial"]["params"] for r in trials(one)] == [
        r["trial"]["params"] for r in trials(tasks)
    ]
    # the seeds of a tuned run are not trained before its study has finished
    fresh = tmp_path / "fresh"
    assert run_cli("--results", fresh, "run", s, "--task", "0") == 2


@pytest.mark.parametrize(
    ("tune_table", "message"),
    [
        ("{ params = { learning_rate = { low = 1.0, high = 0.1 } } }", "is empty"),
        ("{ params = { l2_lambda = { low = 0.0, high = 1.0, log = true } } }", "above zero"),
        ('{ params = { "model.nope" = [1, 2] } }', "takes no argument 'nope'"),
        (
            '{ sampler = "grid", params = { learning_rate = { low = 0.1, high = 1.0 } } }',
            "grid sampler needs a list",
        ),
        ('{ params = { dataset = ["a"] } }', "cannot be tuned"),
        ('{ sampler = "bayes", params = { learning_rate = [0.1] } }', "sampler"),
    ],
)
def test_bad_tune_tables_are_one_error_naming_the_run(tmp_path, tiny_npz, tune_table, message):
    runs = textwrap.dedent(f"""
        [[runs]]
        name = "tuned"
        model = {{ conv_maps = [], hidden = [16] }}
        tune = {tune_table}
    """)
    s = toy_spec(tmp_path, f"npz:{tiny_npz}", runs)
    with pytest.raises(SpecError) as err:
        spec.load(str(s))
    assert message in str(err.value) and "tuned" in str(err.value) and str(s) in str(err.value)


def test_the_tuned_runs_of_the_project_are_valid():
    for q in ("regularisation", "batchnorm"):
        s = spec.load(q)
        for profile in ("quick", "full"):
            runs = tune.tuned_runs(s, profile)
            assert runs and all(r.tune.size >= 4 for r in runs), (q, profile)


def test_a_changed_tune_table_makes_the_study_stale_and_a_new_one_chooses(
    tmp_path, tiny_npz, capsys
):
    s = toy_spec(tmp_path, f"npz:{tiny_npz}", GRID, epochs=1)
    res = tmp_path / "r"
    assert run_cli("--results", res, "run", s, "--only", "tuned") == 0
    first = read_json(ResultsSet(res, "quick").tune_dir("toy", "tuned") / layout.BEST)
    s.write_text(s.read_text().replace("[0.01, 0.3, 3.0]", "[0.05, 0.5]"))
    capsys.readouterr()
    assert run_cli("--results", res, "status", s) == 0
    out = capsys.readouterr().out
    assert "study    stale: its [tune] table or the run's settings changed" in out, out
    assert "tuned  seed 0   stale: its study is stale" in out, out
    assert run_cli("--results", res, "run", s, "--only", "tuned") == 0
    out = capsys.readouterr().out
    assert "its study is stale" in out
    best = read_json(ResultsSet(res, "quick").tune_dir("toy", "tuned") / layout.BEST)
    assert best["params"]["learning_rate"] in (0.05, 0.5) and first["params"] != best["params"]
    assert sorted(r["trial"]["params"]["learning_rate"] for r in trials(res)) == [0.05, 0.5]
    assert not ResultsSet(res, "quick").retired_study_dir("toy", "tuned").exists()
    seed = read_json(ResultsSet(res, "quick").run_dir("toy", "tuned", 0) / layout.RECORD)
    assert seed["config"]["learning_rate"] == best["params"]["learning_rate"]
