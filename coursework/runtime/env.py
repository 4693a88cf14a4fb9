"""The environment a run happened in: versions, backend, platform, CPU and GPU."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from coursework.records.project import LOCKS
from coursework.runtime import backend

# The lock files a backend may have been installed from: its own, then its CUDA build's
LOCK_FILES = {"tensorflow": ["tensorflow", "gpu"], "jax": ["jax", "jax-cuda"], "torch": ["torch"]}


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
        text = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        header = subprocess.run(
            ["nvidia-smi"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
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
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "gpus": nvidia_smi_gpus(),
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def locked(path: Path) -> dict[str, str]:
    """The exact pins of a lock file (``locks/*.txt``) that apply on this machine: name ->
    version."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        pin = next((s.version for s in req.specifier if s.operator == "=="), None)
        if pin:
            pins[req.name.lower()] = pin
    return pins


def differences(pins: dict[str, str]) -> dict[str, dict]:
    """The pinned packages whose installed version is another (local labels such as +cpu
    aside): name -> {"locked", "installed"}, "installed" None where it is missing."""
    out = {}
    for name, want in pins.items():
        got = _version(name)
        try:
            same = got is not None and Version(got).public == Version(want).public
        except InvalidVersion:
            same = got == want
        if not same:
            out[name] = {"locked": want, "installed": got}
    return out


@cache
def lock_state() -> dict:
    """Whether the installed packages are the ones ``locks/`` pins for this backend (the
    Makefile installs from there): the lock file that fits best, ``matches``, and every
    package that differs. ``file`` is None where the project has no lock (an installed wheel)."""
    name = backend.current()
    best: dict = {"file": None, "matches": None, "differences": {}}
    for stem in LOCK_FILES.get(name, []):
        path = LOCKS / f"{stem}.txt"
        if not path.exists():
            continue
        diff = differences(locked(path))
        if best["file"] is None or len(diff) < len(best["differences"]):
            best = {"file": f"locks/{stem}.txt", "matches": not diff, "differences": diff}
    return best


def lock_differences(state: dict) -> str:
    """ "matches", or the packages that differ: "1 differ: h5py 3.14.0 (lock 3.16.0)"."""
    if state.get("matches"):
        return "matches"
    items = [
        f"{n} {d['installed'] or 'missing'} (lock {d['locked']})"
        for n, d in sorted((state.get("differences") or {}).items())
    ]
    return f"{len(items)} differ: " + ", ".join(items)


@cache
def environment() -> dict:
    """Versions and hardware, as recorded in every run.json: the Keras backend and its
    version, and the GPUs that backend trains on (with driver and CUDA from nvidia-smi)."""
    name = backend.current()
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
