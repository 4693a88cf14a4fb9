"""Shared fixtures: tiny real-MNIST datasets, so tests run the real pipeline in seconds."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from coursework.data import datasets as data
from coursework.data.arrays import Dataset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def save_npz(path: Path, arrays: dict) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="session", autouse=True)
def template_settings(tmp_path_factory) -> Iterator[Path]:
    """Every test reads the template's report.toml, never the one a student edited (their
    questions, their name): `make test-fast` passes in a student's clone."""
    from coursework.report import settings
    from tests.helpers import template_report_toml

    path = template_report_toml(tmp_path_factory.mktemp("settings") / "report.toml")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "SETTINGS_FILE", path)
        yield path


@pytest.fixture(scope="session", autouse=True)
def console_output() -> None:
    """What the package says (its loggers) reaches stdout and stderr as a command shows it:
    a command configures that when it starts (runtime/logs.py); tests also call below it."""
    from coursework.runtime import logs

    logs.configure()


@pytest.fixture(scope="session")
def mnist5k() -> Dataset:
    return data.load("mnist-5k")


def subset_npz(folder: Path, d: Dataset, n_train: int, name: str) -> Path:
    """The first ``n_train`` / 200 / 200 images of ``d`` as an npz (dataset npz:PATH)."""
    arrays = {
        "x_train": d.x_train[:n_train],
        "y_train": d.y_train[:n_train],
        "x_val": d.x_val[:200],
        "y_val": d.y_val[:200],
        "x_test": d.x_test[:200],
        "y_test": d.y_test[:200],
    }
    return save_npz(folder / f"{name}.npz", arrays)


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory, mnist5k) -> Path:
    """600 / 200 / 200 real MNIST images (28x28x1, 10 classes) as an npz: dataset npz:PATH."""
    return subset_npz(tmp_path_factory.mktemp("data"), mnist5k, 600, "tiny")


@pytest.fixture(scope="session")
def rgb_npz(tmp_path_factory) -> Path:
    """64x64x3 images, 2 classes (bright vs dark squares), like USU's bee / no-bee data."""
    rng = np.random.default_rng(0)

    def split(n):
        y = rng.integers(0, 2, n)
        x = rng.integers(0, 80, (n, 64, 64, 3)).astype(np.uint8)
        x[y == 1, 16:48, 16:48, :] += 150
        return x, y

    arrays = {}
    for name, n in (("train", 160), ("val", 40), ("test", 40)):
        arrays[f"x_{name}"], arrays[f"y_{name}"] = split(n)
    return save_npz(tmp_path_factory.mktemp("data") / "rgb.npz", arrays)


def train_results(folder: Path, npz: Path) -> Path:
    """Train :func:`trained_results`'s set into ``folder/results`` (the specs beside it)."""
    from tests.helpers import FC_AND_CONV, run_cli, toy_spec

    specs = [
        toy_spec(folder, f"npz:{npz}", FC_AND_CONV, name=name, seeds="[0, 1, 2]")
        for name in ("toy", "toyb")
    ]
    assert run_cli("--results", folder / "results", "run", *specs) == 0
    return folder / "results"


@pytest.fixture(scope="session")
def trained_results(tmp_path_factory, tiny_npz) -> Path:
    """THE results set trained in a session, shared by the end-to-end tests instead of each
    training its own: questions ``toy`` and ``toyb``, each the runs fc and conv
    (tests.helpers.FC_AND_CONV) with seeds 0, 1 and 2, two epochs on :func:`tiny_npz`. Under
    pytest-xdist the first worker to ask trains it, in the folder the workers share, and the
    others wait for it (a lock). Read it; a test that changes results copies it first
    (tests.helpers.copied)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return train_results(tmp_path_factory.mktemp("trained"), tiny_npz)
    shared = tmp_path_factory.getbasetemp().parent / "trained"  # this session's, every worker's
    shared.mkdir(exist_ok=True)
    with open(shared / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (shared / "done").exists():
            train_results(shared, tiny_npz)
            (shared / "done").touch()
    return shared / "results"


@pytest.fixture
def recorded(tmp_path) -> Path:
    """A copy of the checked-in results set (tests.recorded.RECORDED: questions toy and
    pair, as the engine trained them), to read or change: no training."""
    from tests.helpers import copied
    from tests.recorded import RECORDED

    return copied(RECORDED, tmp_path / "recorded")
