"""The environment a run happened in: versions, platform, CPU and GPU."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from functools import cache
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpus() -> list[dict]:
    """Visible GPUs as TensorFlow sees them, with name and compute capability when known."""
    import tensorflow as tf

    out = []
    for dev in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(dev)
        out.append({"device": dev.name, "name": details.get("device_name", ""),
                    "compute_capability": list(details.get("compute_capability", ()) or ())})
    return out


def nvidia_driver() -> dict:
    """Driver and CUDA versions from nvidia-smi, or {} where there is none."""
    try:
        text = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    import tensorflow as tf

    build = tf.sysconfig.get_build_info()
    return {"driver": text.strip().splitlines()[0] if text.strip() else "",
            "cuda": build.get("cuda_version", ""), "cudnn": build.get("cudnn_version", "")}


def nvidia_smi_gpus() -> list[dict]:
    """GPU names and driver from ``nvidia-smi`` (no TensorFlow import), [] where none."""
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


@cache
def environment() -> dict:
    """Versions and hardware, as recorded in every run.json and the manifest."""
    import keras
    import numpy
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus": gpus(),
        **({"nvidia": nvidia_driver()} if gpus() else {}),
        "executable": sys.executable,
    }
