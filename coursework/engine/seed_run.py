"""One run and seed, from start to test, and its records.

Seed everything, build and compile the model (:mod:`.seeded`), then epoch by epoch
(:mod:`.epochs`): train (one compiled program, see :mod:`coursework.engine.loop`), evaluate on
validation, append the row to ``history.csv``, keep the best-validation weights and
checkpoint the whole training state, so that a killed run resumes exactly where it
stopped. Early stopping and divergence end a run early. Finally the best weights are
restored and evaluated on test: Nielsen's protocol, test accuracy at the epoch of best
validation accuracy.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import keras
import numpy as np

from coursework import __version__
from coursework.data import arrays as data
from coursework.engine.context import RunContext
from coursework.engine.epochs import SeedEpochs
from coursework.engine.history import History
from coursework.engine.network import all_layers, layer_table, trainable_params
from coursework.engine.seeded import EVAL_BATCH, Session, labels, prepare
from coursework.records import layout, storage
from coursework.records.project import project_digest
from coursework.records.record import SCHEMA_VERSION, RunRecord, Status
from coursework.records.spec import Run
from coursework.runtime import backend
from coursework.runtime.env import environment


class Program(Protocol):
    """What a record says of the program that trained a seed (its own, or a pack's)."""

    @property
    def deterministic(self) -> bool: ...

    @property
    def jit_compile(self) -> bool: ...

    @property
    def fallback(self) -> str: ...


def fit(s: Session, ctx: RunContext) -> SeedEpochs:
    """The epochs, from the last checkpoint on; return them (their history, and whether the
    run diverged). After every epoch: a history row, the best weights, the checkpoint, and a
    progress line with the time left for this run and, if ``ctx.after`` (the estimated seconds
    of the runs after this one) is known, for the whole command. ``ctx.on_epoch(epoch,
    val_accuracy)`` returning True stops the run there (a tuning trial that its study prunes).

    Args:
        s: the seed's session (:func:`coursework.engine.seeded.prepare`).
        ctx: the run and seed.
    """
    seed_epochs = SeedEpochs(s, ctx)
    while not seed_epochs.done:
        order = seed_epochs.order()
        t0 = time.perf_counter()
        logs = s.program(order)
        seed_epochs.finish(logs, time.perf_counter() - t0)
    return seed_epochs


def test(s: Session, ctx: RunContext, history: History) -> dict:
    """Restore the best-validation weights, evaluate on test, save the predictions and the
    model; return the metrics of ``run.json``. Without ``ctx.evaluate`` (a tuning trial): the
    validation metrics only, the test split untouched.

    Args:
        s: the seed's session.
        ctx: the run and seed (its dataset and folder).
        history: its epochs.
    """
    ds, out = ctx.ds, ctx.out
    metrics: dict = {
        "epochs_run": len(history.rows),
        "train_seconds": round(sum(float(r["epoch_seconds"]) for r in history.rows), 3),
    }
    best = history.best_epoch()
    if best is None or not (out / layout.BEST_WEIGHTS).exists():
        return metrics
    if not ctx.evaluate:
        return {
            **metrics,
            "best_epoch": best + 1,
            "best_val_accuracy": history.val_accuracy()[best],
        }
    s.model.load_weights(out / layout.BEST_WEIGHTS)
    x_test, y_test = data.scale(ds.x_test), labels(ds.y_test, ds.num_classes, ctx.one_hot)
    scores = s.net.evaluate(x_test, y_test, batch_size=EVAL_BATCH, verbose=0, return_dict=True)
    probs = s.model.predict(x_test, batch_size=EVAL_BATCH, verbose=0)
    save_predictions(out / layout.PREDICTIONS, s.model, ds.x_test, ds.y_test, probs, ds.names)
    save_atomically(s.model.save, out / layout.MODEL)
    return {
        **metrics,
        "best_epoch": best + 1,
        "best_val_accuracy": history.val_accuracy()[best],
        "test_accuracy": float(scores["accuracy"]),
        "test_loss": float(scores["loss"]),
    }


def train_one(ctx: RunContext) -> RunRecord:
    """Train one run with one seed into ``ctx.out`` (resuming from its checkpoint if there is
    one); return the ``run.json`` record.

    Args:
        ctx: the run and seed, and how (its label, time after it, study callback, test).
    """
    s = prepare(ctx.cfg, ctx.seed, ctx.ds)
    return conclude(ctx, fit(s, ctx), s.program)


def conclude(ctx: RunContext, trained: SeedEpochs, program: Program) -> RunRecord:
    """After a seed's last epoch: test it (see :func:`test`), drop its checkpoint (nothing is
    left to resume) and return its ``run.json`` record.

    Args:
        ctx: the run and seed.
        trained: its epochs (its session, history, and whether it diverged).
        program: the one that trained it (its own, or the pack's), whose determinism the
            record states.
    """
    s, history, evaluate = trained.s, trained.history, ctx.evaluate
    metrics = test(s, ctx, history)
    shutil.rmtree(layout.checkpoint_file(ctx.out).parent, ignore_errors=True)
    settings = backend.settings()
    determinism = {
        "op_determinism": settings["deterministic"] and program.deterministic,
        "mixed_precision": settings["mixed_precision"],
        "policy": settings["policy"],
        "jit_compile": program.jit_compile,
    }
    if program.fallback:
        determinism["fallback"] = program.fallback
    status = (
        Status.PRUNED
        if history.pruned
        else Status.DIVERGED
        if trained.diverged
        or "best_val_accuracy" not in metrics
        or (evaluate and "test_accuracy" not in metrics)
        else Status.COMPLETE
    )
    return record(ctx.run, ctx.seed, status, ctx.ds, metrics, determinism, model=s.model)


def save_atomically(save: Callable[[Path], object], path: Path) -> None:
    """``save(tmp)`` (a Keras save method), then rename: see
    :func:`coursework.records.storage.atomic`."""
    with storage.atomic(path) as tmp:
        save(tmp)


def save_predictions(
    path: Path,
    model: keras.Model,
    x_test: np.ndarray,
    y_test: np.ndarray,
    probs: np.ndarray,
    class_names: list[str],
    max_images: int = 36,
) -> None:
    """``predictions.npz``, what the plots and ensembles need beyond ``history.csv``:

    - ``y_true`` (N,) test labels; ``probs`` (N, classes) float16 softmax outputs of the
      best-validation weights;
    - ``mis_index`` (M,) indices of the first ``max_images`` misclassified test images and
      ``mis_images`` (M, H, W, C) float16 those images, scaled to [0, 1];
    - ``filters`` (k, k, channels, maps) first convolution layer's kernels, if there is one;
    - ``class_names`` (classes,) the names of the classes.
    """
    wrong = np.flatnonzero(probs.argmax(-1) != y_test)[:max_images]
    arrays: dict[str, np.ndarray] = {
        "y_true": y_test.astype(np.int64),
        "probs": probs.astype(np.float16),
        "mis_index": wrong,
        "mis_images": data.scale(x_test[wrong]).astype(np.float16),
        "class_names": np.array(class_names),
    }
    convs = [la for la in all_layers(model) if isinstance(la, keras.layers.Conv2D)]
    if convs:
        arrays["filters"] = keras.ops.convert_to_numpy(convs[0].kernel).astype(np.float32)
    buf = io.BytesIO()
    np.savez_compressed(buf, allow_pickle=True, **arrays)  # (its default, named for mypy)
    storage.write_bytes(path, buf.getvalue())


def record(
    run: Run,
    seed: int,
    status: str,
    ds: data.Dataset | None,
    metrics: dict,
    determinism: dict | None = None,
    error: str | None = None,
    model: keras.Model | None = None,
) -> RunRecord:
    """The ``run.json`` record: everything plots, report and verify need, so that they never
    build a model or read the spec again."""
    return RunRecord(
        schema_version=SCHEMA_VERSION,
        coursework_version=__version__,
        question=run.question,
        run=run.name,
        seed=seed,
        profile=run.profile,
        status=Status(status),
        spec_file=run.spec_file,
        config=run.config,
        metrics=metrics,
        params=trainable_params(model) if model is not None else None,
        architecture=layer_table(model) if model is not None else [],
        dataset=ds.describe() if ds is not None else {"name": run.config.dataset},
        determinism=determinism or {"op_determinism": backend.settings()["deterministic"]},
        environment=environment(),
        # the training code that made it: the engine and its builder's models (a marker compares)
        code_sha256=project_digest(run.config.builder),
        published_accuracy=run.published,
        error=error or None,
    )
