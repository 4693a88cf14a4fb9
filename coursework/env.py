"""The environment a run happened in: versions, backend, platform, CPU and GPU."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from coursework import backend


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@cache
def nvidia_smi_gpus() -> list[dict]:
    """GPU names, driver and CUDA version from ``nvidia-smi`` (no framework import), [] where
    there is none."""
    try:
        text = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version",
                               "--format=csv,noheader"], capture_output=True, text=True,
                              timeout=10, check=True).stdout
        header = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=10,
                                check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    cuda = header.split("CUDA Version:", 1)[1].split()[0] if "CUDA Version:" in header else ""
    out = []
    for line in text.strip().splitlines():
        name, _, driver = line.rpartition(",")
        out.append({"name": name.strip(), "driver": driver.strip(), "cuda": cuda})
    return out


@cache
def hardware() -> dict:
    """CPU model and count, GPUs with driver and CUDA: the manifest's hardware record."""
    return {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "platform": platform.platform(), "gpus": nvidia_smi_gpus()}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@cache
def environment() -> dict:
    """Versions and hardware, as recorded in every run.json: the Keras backend and its
    version, and the GPUs that backend trains on (with driver and CUDA from nvidia-smi)."""
    name = backend.chosen()
    gpus = backend.accelerators()
    return {
        "python": platform.python_version(),
        "backend": name,
        "backend_version": backend.version(name),
        "keras": _version("keras"),
        "numpy": _version("numpy"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus": gpus,
        **({"nvidia": nvidia_smi_gpus()} if gpus else {}),
        "executable": sys.executable,
    }
