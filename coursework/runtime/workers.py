"""Worker processes: several runs at once (``run --jobs N``), or training on another Keras
backend than this process's (``verify`` re-trains with the backend a run recorded; ``bench``
measures every installed backend).

A worker is a fresh Python process (``spawn``) whose environment is set before it imports
Keras: the backend, the GPU it may use (with several GPUs, worker ``k`` gets GPU
``k mod count``), GPU memory taken as needed rather than all at once (several workers share one
GPU). On a CPU a worker keeps every core, as a run in the parent would: TensorFlow splits its
sums by the number of threads, so fewer threads would change the last digits of the results.
It then applies the same training settings as the parent (determinism, mixed precision).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
import os
import sys
from concurrent.futures import ProcessPoolExecutor

from coursework.runtime import env, logs


def pool(
    workers: int, backend: str | None = None, settings: dict | None = None
) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes on ``backend`` (default: this process's)."""
    ctx = multiprocessing.get_context("spawn")
    slots = ctx.Queue()
    for slot in range(workers):
        slots.put(slot)
    return ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_start, initargs=(slots, workers, backend, settings)
    )


def worker_env(slot: int, workers: int, backend: str | None, gpus: int) -> dict[str, str]:
    """Environment variables for worker ``slot`` of ``workers``."""
    out = {"KERAS_BACKEND": backend} if backend else {}
    if gpus > 1:
        out["CUDA_VISIBLE_DEVICES"] = str(slot % gpus)
    if gpus and workers > gpus:  # several workers on one GPU: take memory as needed
        out.update(XLA_PYTHON_CLIENT_PREALLOCATE="false", TF_FORCE_GPU_ALLOW_GROWTH="true")
    return out


def _start(
    slots: multiprocessing.queues.Queue[int],
    workers: int,
    backend: str | None,
    settings: dict | None,
) -> None:
    """A worker's first step: whole lines, its output configured as the parent's, its slot's
    environment, then the parent's training settings."""
    whole_lines()
    logs.configure()  # what the engine says in the worker: as in the parent
    os.environ.update(worker_env(slots.get(), workers, backend, len(env.nvidia_smi_gpus())))
    if settings is not None:
        from coursework.runtime import backend as keras_backend

        keras_backend.configure(settings["deterministic"], settings["mixed_precision"])


def whole_lines() -> None:
    """Write each line of this process's output in one piece, flushed at its end: runs
    trained at once share the terminal, and where ``PYTHONUNBUFFERED`` is set (Docker images,
    the lab book, Slurm scripts) a ``print`` is otherwise two writes, its text and its newline,
    between which another process's line lands."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # a notebook's is not a file's
        if reconfigure is not None:
            reconfigure(line_buffering=True, write_through=False)
