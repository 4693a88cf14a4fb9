"""The whole command's progress: runs numbered across its questions, the time left."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from coursework.engine.progress import Progress
from tests.helpers import FC_AND_CONV, run_cli, toy_spec


def test_runs_are_numbered_across_the_questions_of_one_command(tmp_path, capsys):
    """Each question used to restart its own [i/N]: the command's N is every run it trains."""
    first = toy_spec(tmp_path, "mnist-5k", FC_AND_CONV, epochs=1, seeds="[0]")
    second = tmp_path / "other.toml"
    second.write_text(first.read_text().replace('question = "toy"', 'question = "other"'))
    assert run_cli("--results", tmp_path / "r", "run", first, second) == 0
    out = capsys.readouterr().out
    heads = [line.split("]")[0] + "]" for line in out.splitlines() if line.startswith("[")]
    assert heads == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"], out
    assert [line.split(",")[0] for line in out.splitlines() if line.startswith("==")] == [
        f"== {i}/4 runs done" for i in range(1, 5)
    ], out


def test_the_time_left_scales_the_plans_estimates_by_the_time_the_runs_took(monkeypatch):
    clock = iter([0.0, 20.0, 50.0])
    monkeypatch.setattr("coursework.engine.progress.time.monotonic", lambda: next(clock))
    said: list[str] = []
    monkeypatch.setattr("coursework.engine.progress.events.say", said.append)
    runs = [Path(f"run-{i}") for i in range(3)]
    progress = Progress(dict(zip(runs, [10.0, 10.0, 30.0], strict=True)), 3)
    for run in runs[:2]:
        progress.finished(SimpleNamespace(out=run))
    # the first run took 20 s for 10 estimated: the 40 s left are 80 s; then 50 s for 20
    assert said == [
        "== 1/3 runs done, 20 s so far, about 1m 20s left",
        "== 2/3 runs done, 50 s so far, about 1m 15s left",
    ]
