"""The Keras backend in use (TensorFlow, JAX or PyTorch) and the process-wide training settings.

The backend is chosen the Keras way: ``KERAS_BACKEND`` (``make ... BACKEND=jax``), else
``~/.keras/keras.json``, else TensorFlow. Nothing here imports a framework until asked, so the
parts of the project that never train (plots, report, verify's checks) need none installed.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from coursework.records.errors import BackendError

log = logging.getLogger(__name__)

BACKENDS = ("tensorflow", "jax", "torch")
EXTRAS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}  # pip install -e '.[X]'
SETTINGS: dict = {"deterministic": None, "mixed_precision": False, "policy": "float32"}
# What TensorFlow's C++ side prints while it loads, before its log level applies, and what
# nobody can act on: "oneDNN custom operations are on", "Could not find cuda drivers", the
# absl preamble, "Unable to register cuDNN factory" on CUDA builds
IMPORT_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog|[IW]0000 "
    r"|E0000 .*(Unable to register|cuda|cuDNN|cuFFT|cuBLAS))"
)
# set once a broken TensorFlow has been noted (_import_frameworks), so workers say it no more
TENSORFLOW_NOTED = "COURSEWORK_TENSORFLOW_NOTED"


def current() -> str:
    """The backend Keras will use, read without importing Keras."""
    name = os.environ.get("KERAS_BACKEND")
    if not name:
        config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
        try:
            name = json.loads(config.read_text()).get("backend")
        except (OSError, ValueError, AttributeError):
            name = None
    return name or "tensorflow"


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or blocked install
        return False


def installed() -> list[str]:
    """The backends whose framework is installed (found without importing it)."""
    return [b for b in BACKENDS if _found(b)]


def version(name: str | None = None) -> str | None:
    """The installed version of a backend's framework (None if missing)."""
    try:
        return metadata.version(name or current())
    except metadata.PackageNotFoundError:
        return None


def check_installed(name: str | None = None) -> str:
    """The chosen backend, or BackendError naming the install command if it is missing."""
    name = name or current()
    if name not in BACKENDS:
        raise BackendError(
            f"KERAS_BACKEND={name!r} is not supported here: use one of {', '.join(BACKENDS)}"
        )
    if not _found(name):
        raise BackendError(
            f"the Keras backend {name!r} is not installed in this environment "
            f"(installed: {', '.join(installed()) or 'none'}).\n"
            f"  Install it: make setup BACKEND={name}   (or: pip install -e '.[{EXTRAS[name]}]'),"
            f"\n  or choose another: KERAS_BACKEND=<{'|'.join(installed() or BACKENDS)}>"
        )
    if name == current():
        import_keras()
    return name


def import_keras() -> None:
    """Import Keras (and so the backend's framework, and TensorFlow wherever it is installed)
    with their load-time noise (IMPORT_NOISE) filtered out of standard error; whatever else they
    print is passed on."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++ info and warnings after loading
    if "keras" in sys.modules or not _found(current()):
        return  # a missing backend: check_installed says how to install it
    sys.stderr.flush()
    saved = os.dup(2)
    note = None
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            note = _import_frameworks()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode(errors="replace").splitlines():
                if not IMPORT_NOISE.match(line):
                    log.warning(line)
    if note:
        log.warning(note)


def _import_frameworks() -> str | None:
    """Keras, and TensorFlow where it is installed (keras.utils.set_random_seed seeds it on any
    backend, for tf.data). A TensorFlow that is installed but does not import (a CUDA build
    without its libraries, common where JAX trains) stops a TensorFlow run with BackendError;
    on another backend it is blocked, so Keras (whose lazy import catches only ImportError) and
    the engine go on as if it were not installed, and the note to print says so, once for the
    process and the workers it starts."""
    name = current()
    if name == "tensorflow" and (problem := _import_tensorflow()):
        raise BackendError(
            f"TensorFlow, the Keras backend chosen, is installed but does not import "
            f"({problem}).\n  CUDA libraries missing? module load cuda, or make setup "
            f"EXTRA=gpu (they come with it); or choose another backend: "
            f"KERAS_BACKEND=<{'|'.join(b for b in BACKENDS if b != name)}>"
        )
    import keras  # noqa: F401

    if name == "tensorflow" or not _found("tensorflow") or not (problem := _import_tensorflow()):
        return None
    sys.modules["tensorflow"] = None  # type: ignore[assignment]  # import: as if missing
    if os.environ.get(TENSORFLOW_NOTED):
        return None
    os.environ[TENSORFLOW_NOTED] = "1"  # spawned workers inherit it
    return (
        f"note: TensorFlow is installed but does not import ({problem}); going on with {name}, "
        "without it"
    )


def _import_tensorflow() -> str | None:
    """Import TensorFlow; None, or what went wrong in one line (any exception: a broken build
    raises ImportError, OSError or others)."""
    try:
        import tensorflow  # noqa: F401
    except Exception as exc:  # anything: the run goes on without it
        first = (str(exc).strip().splitlines() or [""])[0]
        return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return None


def accelerators() -> list[dict]:
    """The GPUs the backend will train on: ``[{"device": "gpu:0", "name": ...}]``, [] on CPU."""
    name = check_installed()
    if name == "tensorflow":
        import tensorflow as tf

        out = []
        for i, dev in enumerate(tf.config.list_physical_devices("GPU")):
            details = tf.config.experimental.get_device_details(dev)
            out.append({"device": f"gpu:{i}", "name": details.get("device_name", dev.name)})
        return out
    if name == "jax":
        import jax

        return [
            {"device": f"gpu:{d.id}", "name": getattr(d, "device_kind", str(d))}
            for d in jax.devices()
            if d.platform in ("gpu", "cuda", "rocm")
        ]
    import torch

    if torch.cuda.is_available():
        return [
            {"device": f"gpu:{i}", "name": torch.cuda.get_device_name(i)}
            for i in range(torch.cuda.device_count())
        ]
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return [{"device": "mps:0", "name": "Apple GPU (MPS)"}]
    return []


def configure(deterministic: bool | None = None, mixed_precision: bool = False) -> dict:
    """Process-wide training settings, chosen once before the first model is built.

    ``deterministic``: a run repeats byte for byte on the same machine (and ``make verify``
    expects that). None (the default) turns it on without a GPU, where it costs nothing
    measurable, and off with one, where it can cost several times. Per backend: TensorFlow's
    op determinism; JAX's ``xla_gpu_deterministic_ops`` (XLA is deterministic on a CPU);
    PyTorch's ``use_deterministic_algorithms``.
    ``mixed_precision``: 16-bit compute with float32 weights: ``mixed_float16`` (with loss
    scaling) on TensorFlow and PyTorch, ``mixed_bfloat16`` on JAX.
    """
    name = check_installed()
    has_gpu = bool(accelerators())
    det = (not has_gpu) if deterministic is None else bool(deterministic)
    if det and name == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif det and name == "torch":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        import torch

        torch.use_deterministic_algorithms(True)
    policy = "float32"
    if mixed_precision:
        import keras

        policy = "mixed_bfloat16" if name == "jax" else "mixed_float16"
        keras.mixed_precision.set_global_policy(policy)
    SETTINGS.update(deterministic=det, mixed_precision=bool(mixed_precision), policy=policy)
    return dict(SETTINGS)


def settings() -> dict:
    """The settings in force. A command chooses them when it starts (``configure``), before
    anything trains; reading them earlier is a mistake in the code, not the user's."""
    if SETTINGS["deterministic"] is None:
        raise RuntimeError("backend.configure() must be called before training settings are read")
    return dict(SETTINGS)
