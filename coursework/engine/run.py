"""One run and seed, from start to test, and its records.

Seed everything, build and compile the model, then epoch by epoch:
train (one compiled program, see :mod:`coursework.engine.loop`), evaluate on validation, append the
row to ``history.csv``, keep the best-validation weights and checkpoint the whole training
state, so that a killed run resumes exactly where it stopped. Early stopping and divergence
end a run early. Finally the best weights are restored and evaluated on test: Nielsen's
protocol, test accuracy at the epoch of best validation accuracy.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from coursework import __version__
from coursework.data import datasets as data
from coursework.engine import augment, events, loop
from coursework.engine.history import Checkpoint, History, OnEpoch, chance_loss
from coursework.engine.network import (
    adapt,
    all_layers,
    build_model,
    compile_model,
    layer_table,
    trainable_params,
    with_augmentation,
)
from coursework.records import layout, storage
from coursework.records.project import project_digest
from coursework.records.record import SCHEMA_VERSION, Status, TrainConfig
from coursework.records.spec import Run
from coursework.runtime import backend
from coursework.runtime.env import environment

EVAL_BATCH = 1000
# --------------------------------------------------------------------------- helpers


def reseed(model: keras.Model, seed: int, epoch: int) -> None:
    """Set every random-seed state in the model (dropout, augmentation) from (seed, epoch):
    each epoch's random draws depend on nothing else, so a resumed run repeats them."""
    states = [v for v in model.non_trainable_variables if v.name == "seed_generator_state"]
    for i, v in enumerate(states):
        v.assign(np.array([seed * 7919 + i, epoch], dtype=v.dtype))


def duration(seconds: float) -> str:
    """``4 s``, ``3m 05s``, ``2h 10m``: a time as a person reads it."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


# --------------------------------------------------------------------------- one run


@dataclass
class Session:
    """What training one run needs: the model, the network it trains (the model behind its
    augmentation layers), the compiled epoch program and the validation split."""

    model: keras.Model
    net: keras.Model
    program: loop.EpochProgram
    num_train: int
    x_val: np.ndarray
    y_val: np.ndarray


def prepare(cfg: TrainConfig, seed: int, ds: data.Dataset) -> Session:
    """Seed everything, build and compile the model and its epoch program."""
    keras.utils.set_random_seed(seed)
    x_train, y_train = ds.x_train, ds.y_train
    if cfg.augment == "expand":
        x_train, y_train = augment.expand(x_train, y_train)
    model = build_model(cfg, ds.info)
    adapt(model, ds.x_train)  # input preprocessing: fitted on the training split only
    net = with_augmentation(model, cfg.augment, seed)
    compile_model(net, cfg)
    one_hot = cfg.loss == "mse"
    assert cfg.batch_size is not None  # a spec's config always has one (validate.py)
    program = loop.epoch_program(
        net,
        x_train,
        y_train,
        batch_size=cfg.batch_size,
        num_classes=ds.num_classes,
        one_hot=one_hot,
        deterministic=backend.settings()["deterministic"],
        on_gpu=bool(backend.accelerators()),
    )
    return Session(
        model,
        net,
        program,
        len(y_train),
        data.scale(ds.x_val),
        labels(ds.y_val, ds.num_classes, one_hot),
    )


def fit(
    s: Session,
    cfg: TrainConfig,
    seed: int,
    num_classes: int,
    out: Path,
    label: str = "",
    after: float | None = None,
    on_epoch: OnEpoch | None = None,
) -> tuple[History, bool]:
    """The epochs, from the last checkpoint on; return the history and whether the run
    diverged. After every epoch: a history row, the best weights, the checkpoint, and a
    progress line with the time left for this run and, if ``after`` (the estimated seconds of
    the runs after this one) is known, for the whole command. ``on_epoch(epoch, val_accuracy)``
    returning True stops the run there (a tuning trial that its study prunes)."""
    checkpoint = Checkpoint(layout.checkpoint_file(out), s.net)
    start = checkpoint.restore()
    history = History(out / layout.HISTORY, keep=start)
    chance = chance_loss(str(cfg.loss), num_classes)
    epochs = int(cfg.epochs or 0)
    if start:
        print(f"{label}    resuming after epoch {start}", flush=True)
    times: list[float] = []  # seconds of the epochs trained by this process
    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        row = _epoch(s, seed, epoch, history, checkpoint)
        times.append(time.perf_counter() - t0)
        steady = times[1:] or times  # the first epoch also compiles
        left = sum(steady) / len(steady) * (epochs - epoch - 1)
        eta = f"; left {duration(left)}" + (
            f", all {duration(left + after)}" if after is not None else ""
        )
        seconds = row["epoch_seconds_exact"]
        print(
            f"{label}    epoch {epoch + 1}/{epochs}: loss {row['loss']:.4f}, "
            f"accuracy {100 * row['accuracy']:.2f}%, val_accuracy "
            f"{100 * row['val_accuracy']:.2f}% ({seconds:.1f} s, "
            f"{s.num_train / seconds:,.0f} img/s{eta})",
            flush=True,
        )
        if history.diverged(chance):
            save_best(s.model, checkpoint.best, out)
            return history, True  # training blew up: no later epoch can mend it
        if history.should_stop(int(cfg.early_stopping or 0)):
            break
        if on_epoch is not None and epoch + 1 < epochs and on_epoch(epoch, row["val_accuracy"]):
            history.pruned = True
            print(f"{label}    pruned after epoch {epoch + 1}", flush=True)
            break
    save_best(s.model, checkpoint.best, out)
    return history, False


def _epoch(
    s: Session,
    seed: int,
    epoch: int,
    history: History,
    checkpoint: Checkpoint,
) -> dict[str, Any]:
    """Train and validate one epoch; append its row to the history (and emit it as an
    ``epoch`` event), keep the best weights and save the checkpoint. Return the row, with
    the epoch's unrounded seconds (``epoch_seconds_exact``) for the progress line."""
    reseed(s.net, seed, epoch)
    t0 = time.perf_counter()
    logs = s.program(loop.epoch_order(seed, epoch, s.num_train))
    val = s.net.evaluate(s.x_val, s.y_val, batch_size=EVAL_BATCH, verbose=0, return_dict=True)
    seconds = time.perf_counter() - t0
    lr = float(keras.ops.convert_to_numpy(s.net.optimizer.learning_rate))
    row = {
        "epoch": epoch + 1,
        "loss": logs["loss"],
        "accuracy": logs["accuracy"],
        "val_loss": float(val["loss"]),
        "val_accuracy": float(val["accuracy"]),
        "learning_rate": lr,
        "epoch_seconds": round(seconds, 3),
    }
    history.append(row)
    events.emit("epoch", epoch=epoch + 1, **{k: float(v) for k, v in row.items() if k != "epoch"})
    if history.best_epoch() == epoch:
        checkpoint.best = [np.array(w) for w in s.model.get_weights()]
    checkpoint.save(epoch + 1)
    return {**row, "epoch_seconds_exact": seconds}


def save_best(model: keras.Model, best: list[np.ndarray] | None, out: Path) -> None:
    """``best.weights.h5``: the model's weights of the best epoch (the model keeps its own)."""
    if best is None:
        return
    current = model.get_weights()
    model.set_weights(best)
    save_atomically(model.save_weights, out / layout.BEST_WEIGHTS)
    model.set_weights(current)


def test(
    s: Session, ds: data.Dataset, history: History, out: Path, one_hot: bool, evaluate: bool = True
) -> dict:
    """Restore the best-validation weights, evaluate on test, save the predictions and the
    model; return the metrics of ``run.json``. ``evaluate=False`` (a tuning trial): the
    validation metrics only, the test split untouched."""
    metrics: dict = {
        "epochs_run": len(history.rows),
        "train_seconds": round(sum(float(r["epoch_seconds"]) for r in history.rows), 3),
    }
    best = history.best_epoch()
    if best is None or not (out / layout.BEST_WEIGHTS).exists():
        return metrics
    if not evaluate:
        return {
            **metrics,
            "best_epoch": best + 1,
            "best_val_accuracy": history.val_accuracy()[best],
        }
    s.model.load_weights(out / layout.BEST_WEIGHTS)
    x_test, y_test = data.scale(ds.x_test), labels(ds.y_test, ds.num_classes, one_hot)
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


def train_one(
    run: Run,
    seed: int,
    ds: data.Dataset,
    out: Path,
    label: str = "",
    after: float | None = None,
    on_epoch: OnEpoch | None = None,
    evaluate: bool = True,
) -> dict:
    """Train one run with one seed into ``out`` (resuming from its checkpoint if there is
    one); return the ``run.json`` record. ``label`` prefixes the progress lines; ``after``,
    ``on_epoch``: see :func:`fit`; ``evaluate``: see :func:`test`."""
    cfg = run.config
    s = prepare(cfg, seed, ds)
    history, diverged = fit(s, cfg, seed, ds.num_classes, out, label, after, on_epoch)
    metrics = test(s, ds, history, out, one_hot=cfg.loss == "mse", evaluate=evaluate)
    # the run is over: nothing to resume
    shutil.rmtree(layout.checkpoint_file(out).parent, ignore_errors=True)
    settings = backend.settings()
    determinism = {
        "op_determinism": settings["deterministic"] and s.program.deterministic,
        "mixed_precision": settings["mixed_precision"],
        "policy": settings["policy"],
        "jit_compile": s.program.jit_compile,
    }
    if s.program.fallback:
        determinism["fallback"] = s.program.fallback
    status = (
        Status.PRUNED
        if history.pruned
        else Status.DIVERGED
        if diverged
        or "best_val_accuracy" not in metrics
        or (evaluate and "test_accuracy" not in metrics)
        else Status.COMPLETE
    )
    return record(run, seed, status, ds, metrics, determinism, model=s.model)


def labels(y: np.ndarray, num_classes: int, one_hot: bool) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[y] if one_hot else y


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
) -> dict:
    """The ``run.json`` record: everything plots, report and verify need, so that they never
    build a model or read the spec again."""
    rec = {
        "schema_version": SCHEMA_VERSION,
        "coursework_version": __version__,
        "question": run.question,
        "run": run.name,
        "seed": seed,
        "profile": run.profile,
        "status": status,
        "spec_file": run.spec_file,
        "config": run.config.to_dict(),
        "metrics": metrics,
        "params": trainable_params(model) if model is not None else None,
        "architecture": layer_table(model) if model is not None else [],
        "dataset": ds.describe() if ds is not None else {"name": run.config.dataset},
        "determinism": determinism or {"op_determinism": backend.settings()["deterministic"]},
        "environment": environment(),
        "code_sha256": project_digest(),  # the training code that made it (a marker compares)
    }
    if run.published is not None:
        rec["published_accuracy"] = run.published
    if error:
        rec["error"] = error
    return rec
