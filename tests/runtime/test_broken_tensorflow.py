"""A TensorFlow that is installed but does not import (a CUDA build without its libraries, as on
many GPU machines that train with JAX) stops no JAX run, and still stops a TensorFlow run with a
message that says why."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coursework.runtime import backend
from tests.helpers import toy_spec

ROOT = Path(__file__).resolve().parents[2]
# a CUDA build without its libraries; imported again, a half-loaded TensorFlow fails otherwise
# (Keras's lazy `import tensorflow` catches only ImportError)
BROKEN = """
import sys

if getattr(sys, "tensorflow_tried", False):
    raise OSError("libcudart.so.12: cannot open shared object file (again)")
sys.tensorflow_tried = True
raise ImportError("libcudart.so.12: cannot open shared object file")
"""


def run_with_broken_tensorflow(tmp_path: Path, name: str, *args) -> subprocess.CompletedProcess:
    """``python -m coursework ARGS`` on backend ``name``, a broken ``tensorflow`` first on
    the path."""
    (tmp_path / "fake" / "tensorflow").mkdir(parents=True, exist_ok=True)
    (tmp_path / "fake" / "tensorflow" / "__init__.py").write_text(BROKEN)
    env = {
        **os.environ,
        "KERAS_BACKEND": name,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "fake"), str(ROOT)]),
    }
    return subprocess.run(
        [sys.executable, "-m", "coursework", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.skipif(backend.current() != "jax", reason="runs in the JAX pass (BACKEND=jax)")
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_jax_run_goes_on_past_a_broken_tensorflow(tmp_path, tiny_npz):
    spec = toy_spec(
        tmp_path,
        f"npz:{tiny_npz}",
        epochs=1,
        runs='[[runs]]\nname = "fc"\nmodel = { conv_maps = [], hidden = [8] }\n',
    )
    proc = run_with_broken_tensorflow(tmp_path, "jax", "--results", tmp_path / "r", "run", spec)
    assert proc.returncode == 0, proc.stderr
    notes = [line for line in proc.stderr.splitlines() if "TensorFlow" in line]
    assert len(notes) == 1 and "does not import" in notes[0] and "libcudart" in notes[0], notes
    rec = json.loads((tmp_path / "r/quick/toy/fc/seed-0/run.json").read_text())
    assert rec["status"] == "complete" and rec["environment"]["backend"] == "jax"


def test_tensorflow_run_says_its_tensorflow_does_not_import(tmp_path):
    proc = run_with_broken_tensorflow(tmp_path, "tensorflow", "describe", "depth")
    assert proc.returncode != 0
    said = [line for line in proc.stderr.splitlines() if "does not import" in line]
    assert said and "TensorFlow" in said[0] and "libcudart" in said[0], proc.stderr
