"""A real one-node Slurm cluster for the tests here, started once per session by
``scripts/slurm-local.sh`` and stopped after them. Where it cannot start (not root, no Slurm
or munge installed) the tests are skipped and say why; COURSEWORK_CLUSTER_TESTS=require
makes that a failure (CI, which installs them). A cluster that should start and does not
is an error, with the daemons' logs."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from coursework.records.project import ROOT
from tests.conftest import subset_npz

SCRIPT = ROOT / "scripts" / "slurm-local.sh"
NEEDED = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo", "setpriv")


def missing() -> str | None:
    """Why a cluster cannot start here, or None."""
    if os.geteuid() != 0:
        return "not root: scripts/slurm-local.sh starts the cluster's daemons as root (as CI runs)"
    absent = [b for b in NEEDED if shutil.which(b) is None]
    if absent:
        return f"no {', '.join(absent)}: apt-get install slurm-wlm munge (as .ci/run does)"
    return None


@pytest.fixture(scope="session")
def slurm(tmp_path_factory) -> Iterator[dict[str, str]]:
    """The environment of the cluster's commands (SLURM_CONF), for sbatch, squeue and make
    (never put in os.environ: other tests must not see a cluster)."""
    reason = missing()
    if reason:
        if os.environ.get("COURSEWORK_CLUSTER_TESTS") == "require":
            pytest.fail(reason)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "SLURM_LOCAL_DIR": str(folder)}

    def script(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=120
        )

    started = script("start")
    if started.returncode != 0:
        script("stop")
        pytest.fail(f"slurm-local.sh start failed:\n{started.stdout}{started.stderr}")
    try:
        yield {"SLURM_CONF": str(folder / "slurm.conf")}
    finally:
        stopped = script("stop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


@pytest.fixture(scope="session")
def slow_npz(tmp_path_factory, mnist5k) -> Path:
    """3,000 / 200 / 200 real MNIST images: epochs of half a second for a small CNN, long
    enough to requeue a task between two of them."""
    return subset_npz(tmp_path_factory.mktemp("data"), mnist5k, 3000, "slow")
