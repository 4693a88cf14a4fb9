"""The runner: train every run and seed of a question and write its results.

For each run and seed: seed everything, build and compile the model, train with Keras
callbacks (per-epoch history, best-validation checkpoint, early stopping when asked,
TerminateOnNaN, BackupAndRestore for resume), then restore the best-validation weights and
evaluate on test: Nielsen's protocol, test accuracy at the epoch of best validation accuracy.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from coursework import __version__, augment, data, ensemble, results
from coursework.env import environment
from coursework.results import HISTORY_COLUMNS, SCHEMA_VERSION
from coursework.spec import Run, Spec, resolve_builder
from models.common import keras_penalty

EVAL_BATCH = 1000
STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS}
DATA_THREADS = max(2, (os.cpu_count() or 2) // 4)  # input pipeline threads: 2 on a laptop
tf.get_logger().setLevel("ERROR")  # retracing notices between runs are expected


# --------------------------------------------------------------------------- settings

SETTINGS: dict = {"deterministic": None, "mixed_precision": False}


def configure(deterministic: bool | None = None, mixed_precision: bool = False) -> dict:
    """Process-wide training settings, chosen once before the first model is built.

    ``deterministic``: TensorFlow op determinism, which makes a run repeat byte for byte (and
    ``make verify`` expect that). None (the default) turns it on where there is no GPU, where
    it costs nothing measurable, and off on a GPU, where it can cost several times (it also
    turns XLA off). ``mixed_precision``: float16 compute with float32 weights (GPU only).
    TensorFlow cannot turn op determinism off again once it is on in a process.
    """
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    det = (not has_gpu) if deterministic is None else bool(deterministic)
    if det:
        tf.config.experimental.enable_op_determinism()
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    SETTINGS.update(deterministic=det, mixed_precision=bool(mixed_precision))
    return dict(SETTINGS)


def op_determinism_enabled() -> bool:
    from tensorflow.python.framework import config as tf_config

    return bool(tf_config.is_op_determinism_enabled())


# --------------------------------------------------------------------------- input pipeline


def steps_per_execution(batch_size: int) -> int:
    """Run several small batches per call into the graph: Keras' per-step overhead dominates
    at Nielsen's mini-batch of 10."""
    return max(1, min(32, 512 // batch_size))


def train_dataset(x: np.ndarray, y: np.ndarray, *, batch_size: int, seed: int,
                  epoch: tf.Variable, num_classes: int, one_hot: bool = False,
                  augment_name: str = "none", affine: list | None = None) -> tf.data.Dataset:
    """Shuffled mini-batches of the training split, in a new order every epoch.

    The order is a stateless function of (seed, epoch): a resumed run sees the same batches
    as an uninterrupted one. Images are cast and scaled in the graph; augmentation happens
    here, on training data only.
    """
    xs, ys = tf.constant(x), tf.constant(y)
    n = len(y)

    def epoch_order(_):
        seed_pair = tf.stack([tf.constant(seed, tf.int64), epoch.read_value()])
        return tf.data.Dataset.from_tensor_slices(
            tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed_pair))

    def load_batch(step, idx):
        images = data.scale(tf.gather(xs, idx))
        labels = tf.gather(ys, idx)
        if augment_name == "elastic":
            seed_pair = tf.stack([tf.constant(seed, tf.int64) * 1_000_003 + epoch.read_value(),
                                  step])
            images = augment.elastic(images, seed_pair)
        elif augment_name == "affine":
            for layer in affine or []:
                images = layer(images, training=True)
        return images, (tf.one_hot(labels, num_classes) if one_hot else labels)

    ds = tf.data.Dataset.from_tensors(0).flat_map(epoch_order).batch(batch_size)
    ds = ds.enumerate().map(load_batch)
    ds = ds.apply(tf.data.experimental.assert_cardinality(math.ceil(n / batch_size)))
    return ds.prefetch(2).with_options(_options())


def eval_dataset(x: np.ndarray, y: np.ndarray, num_classes: int, one_hot: bool = False,
                 batch_size: int = EVAL_BATCH) -> tf.data.Dataset:
    """Validation or test data in large batches, never augmented."""
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    ds = ds.map(lambda a, b: (data.scale(a), tf.one_hot(b, num_classes) if one_hot else b))
    return ds.prefetch(1).with_options(_options())


def _options() -> tf.data.Options:
    """Deterministic order; a small private thread pool; tf.data's autotuner off. On a 2-core
    machine the autotuner's background work competes with the compute threads: with it, whole
    epochs ran at ~60% speed at random (``make bench`` measures this)."""
    opts = tf.data.Options()
    opts.deterministic = True
    opts.autotune.enabled = False
    opts.threading.private_threadpool_size = DATA_THREADS
    opts.threading.max_intra_op_parallelism = 1
    return opts


# --------------------------------------------------------------------------- callbacks


class EpochLog(keras.callbacks.Callback):
    """Writes ``history.csv`` (one row per epoch, atomically) and keeps a resumed run exact.

    At the first epoch of a (possibly resumed) fit it drops rows of epochs that will be
    trained again, sets the data-order epoch, reseeds the random layers per epoch, and hands
    the best-so-far validation accuracy to the checkpoint and early-stopping callbacks.
    """

    def __init__(self, path: Path, seed: int, epoch_var: tf.Variable, checkpoint, early_stopping,
                 seed_generators: list):
        super().__init__()
        self.path, self.seed, self.epoch_var = Path(path), seed, epoch_var
        self.checkpoint, self.early_stopping = checkpoint, early_stopping
        self.seed_generators = seed_generators
        self.rows: list[dict] | None = None
        self.start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        if self.rows is None:  # first epoch of this fit: fresh start or resume
            old = results.read_csv(self.path) if self.path.exists() else []
            if len(old) < epoch:
                raise RuntimeError(f"{self.path} has {len(old)} rows but the backup is at "
                                   f"epoch {epoch}; delete the run folder and start again")
            self.rows = [{k: r[k] for k in HISTORY_COLUMNS} for r in old[:epoch]]
            self._restore_best()
        self.epoch_var.assign(epoch)
        for i, sg in enumerate(self.seed_generators):
            sg.state.assign(np.array([self.seed * 7919 + i, epoch], dtype=sg.state.dtype))
        self.start = time.perf_counter()

    def _restore_best(self):
        if not self.rows:
            return
        val = [float(r["val_accuracy"]) for r in self.rows]
        best = int(np.argmax(val))
        self.checkpoint.best = val[best]
        if self.early_stopping is not None:
            self.early_stopping.best = val[best]
            self.early_stopping.best_epoch = best
            self.early_stopping.wait = len(val) - 1 - best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        lr = self.model.optimizer.learning_rate
        row = {"epoch": epoch + 1, "learning_rate": float(keras.ops.convert_to_numpy(lr)),
               "epoch_seconds": round(time.perf_counter() - self.start, 3)}
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            row[key] = float(logs[key]) if key in logs else None
        self.rows.append(row)
        results.write_csv(self.path, HISTORY_COLUMNS, self.rows)


class BestWeights(keras.callbacks.Callback):
    """Keeps the weights of the best validation accuracy so far in ``path``, written to a
    temporary file and renamed: a kill mid-write never leaves a broken checkpoint."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        self.best = -math.inf

    def on_epoch_end(self, epoch, logs=None):
        val = (logs or {}).get("val_accuracy")
        if val is not None and math.isfinite(val) and val > self.best:
            self.best = float(val)
            tmp = self.path.with_name(".best.tmp.weights.h5")
            self.model.save_weights(tmp)
            os.replace(tmp, self.path)


class Divergence(keras.callbacks.TerminateOnNaN):
    """TerminateOnNaN that remembers that it stopped the run, and that also stops a run whose
    training loss ends an epoch above ``limit`` (3x the loss of guessing uniformly: training
    has blown up even if the numbers are still finite)."""

    def __init__(self, limit: float):
        super().__init__()
        self.limit = limit
        self.diverged = False

    def on_batch_end(self, batch, logs=None):
        super().on_batch_end(batch, logs)
        if self.model.stop_training:
            self.diverged = True

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not (math.isfinite(loss) and loss <= self.limit):
            self.diverged = True
            self.model.stop_training = True


def chance_loss(loss: str, num_classes: int) -> float:
    """The loss of predicting 1/C for every class: where an untrained network starts."""
    if loss == "mse":
        return (1 - 1 / num_classes) / num_classes
    return math.log(num_classes)


def random_seed_generators(model: keras.Model, extra: list) -> list:
    """Every seed generator in the model (dropout, random layers) and in ``extra`` layers."""
    found = []
    for top in [model, *extra]:
        for layer in top._flatten_layers():  # includes ``top`` itself
            sg = getattr(layer, "seed_generator", None)
            if sg is not None and sg not in found:
                found.append(sg)
    return found


# --------------------------------------------------------------------------- one run


def make_optimizer(cfg: dict) -> keras.optimizers.Optimizer:
    lr = float(cfg["learning_rate"])
    name = cfg["optimizer"]
    if name == "sgd":
        return keras.optimizers.SGD(lr)
    if name == "momentum":
        return keras.optimizers.SGD(lr, momentum=float(cfg["momentum"]))
    if name == "adam":
        return keras.optimizers.Adam(lr)
    return keras.optimizers.RMSprop(lr)


def builder_kwargs(cfg: dict, num_train: int) -> dict:
    """The builder's keyword arguments: the spec's ``model`` table plus Keras penalties."""
    kwargs = dict(cfg["model"])
    batches = max(1, num_train // cfg["batch_size"])  # network3's num_training_batches
    if cfg.get("l2_lambda"):
        kwargs["l2"] = keras_penalty(cfg["l2_lambda"], batches, "l2")
    if cfg.get("l1_lambda"):
        kwargs["l1"] = keras_penalty(cfg["l1_lambda"], batches, "l1")
    return kwargs


def build_model(cfg: dict, info: data.DatasetInfo) -> keras.Model:
    train_size = info.sizes["train"] * (5 if cfg.get("augment") == "expand" else 1)
    return resolve_builder(cfg["builder"])(info.input_shape, info.num_classes,
                                           **builder_kwargs(cfg, train_size))


def trainable_params(model: keras.Model) -> int:
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def train_one(run: Run, seed: int, ds: data.Dataset, out: Path, verbose: int = 2) -> dict:
    """Train one run with one seed into ``out``; return the ``run.json`` record."""
    cfg = run.config
    if SETTINGS["deterministic"] is None:
        configure()
    keras.utils.set_random_seed(seed)
    x_train, y_train = ds.x_train, ds.y_train
    if cfg["augment"] == "expand":
        x_train, y_train = augment.expand(x_train, y_train)
    model = build_model(cfg, ds.info)
    one_hot = cfg["loss"] == "mse"
    if one_hot:
        loss, metric = keras.losses.MeanSquaredError(), keras.metrics.CategoricalAccuracy
    else:
        loss, metric = (keras.losses.SparseCategoricalCrossentropy(),
                        keras.metrics.SparseCategoricalAccuracy)
    model.compile(optimizer=make_optimizer(cfg), loss=loss, metrics=[metric(name="accuracy")],
                  steps_per_execution=steps_per_execution(cfg["batch_size"]))

    epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False)
    affine = augment.affine_layers(seed) if cfg["augment"] == "affine" else []
    train = train_dataset(x_train, y_train, batch_size=cfg["batch_size"], seed=seed,
                          epoch=epoch_var, num_classes=ds.num_classes, one_hot=one_hot,
                          augment_name=cfg["augment"], affine=affine)
    val = eval_dataset(ds.x_val, ds.y_val, ds.num_classes, one_hot)

    best_path = out / "best.weights.h5"
    checkpoint = BestWeights(best_path)
    early = (keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                           patience=cfg["early_stopping"])
             if cfg["early_stopping"] else None)
    divergence = Divergence(3 * chance_loss(cfg["loss"], ds.num_classes))
    log = EpochLog(out / "history.csv", seed, epoch_var, checkpoint, early,
                   random_seed_generators(model, affine))
    callbacks = [log, divergence, checkpoint, *([early] if early else []),
                 keras.callbacks.BackupAndRestore(out / "backup", double_checkpoint=True)]
    # order matters: the history row is written before the backup, so a kill in between
    # re-trains that epoch and EpochLog drops the stale row.

    t0 = time.perf_counter()
    model.fit(train, validation_data=val, epochs=cfg["epochs"], callbacks=callbacks,
              verbose=verbose, shuffle=False)  # the dataset shuffles itself
    train_seconds = time.perf_counter() - t0

    history = results.read_csv(out / "history.csv")
    val_acc = [float(r["val_accuracy"]) for r in history]
    finite = [v for v in val_acc if math.isfinite(v)]
    metrics: dict = {"epochs_run": len(history), "train_seconds": round(train_seconds, 3)}
    if finite and best_path.exists():
        best = int(np.nanargmax(val_acc))
        model.load_weights(best_path)
        test = eval_dataset(ds.x_test, ds.y_test, ds.num_classes, one_hot)
        test_loss, test_acc = model.evaluate(test, verbose=0)
        probs = model.predict(test, verbose=0)
        save_predictions(out / "predictions.npz", model, ds.x_test, ds.y_test, probs)
        model.save(out / ".model.tmp.keras")
        os.replace(out / ".model.tmp.keras", out / "model.keras")
        metrics.update(best_epoch=best + 1, best_val_accuracy=val_acc[best],
                       test_accuracy=float(test_acc), test_loss=float(test_loss))
    status = "diverged" if divergence.diverged or not finite else "complete"
    settings = {"op_determinism": op_determinism_enabled(),
                "mixed_precision": SETTINGS["mixed_precision"],
                "jit_compile": bool(model.jit_compile)}
    return record(run, seed, status, model, ds, metrics, settings=settings)


def save_predictions(path: Path, model: keras.Model, x_test: np.ndarray, y_test: np.ndarray,
                     probs: np.ndarray, max_images: int = 36) -> None:
    """``predictions.npz``, what the plots and ensembles need beyond ``history.csv``:

    - ``y_true`` (N,) test labels; ``probs`` (N, classes) float16 softmax outputs of the
      best-validation weights;
    - ``mis_index`` (M,) indices of the first ``max_images`` misclassified test images and
      ``mis_images`` (M, H, W, C) float16 those images, scaled to [0, 1];
    - ``filters`` (k, k, channels, maps) first convolution layer's kernels, if there is one.
    """
    import io

    wrong = np.flatnonzero(probs.argmax(-1) != y_test)[:max_images]
    arrays = {"y_true": y_test.astype(np.int64), "probs": probs.astype(np.float16),
              "mis_index": wrong, "mis_images": data.scale(x_test[wrong]).astype(np.float16)}
    convs = [la for la in model._flatten_layers() if isinstance(la, keras.layers.Conv2D)]
    if convs:
        arrays["filters"] = keras.ops.convert_to_numpy(convs[0].kernel).astype(np.float32)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    results.write_bytes(path, buf.getvalue())


def record(run: Run, seed: int, status: str, model: keras.Model | None, ds: data.Dataset | None,
           metrics: dict, error: str | None = None, settings: dict | None = None) -> dict:
    rec = {
        "schema_version": SCHEMA_VERSION,
        "coursework_version": __version__,
        "question": run.question,
        "run": run.name,
        "seed": seed,
        "profile": run.profile,
        "status": status,
        "spec_file": run.spec_file,
        "config": run.config,
        "metrics": metrics,
        "params": trainable_params(model) if model is not None else None,
        "dataset": ds.describe() if ds is not None else {"name": run.config.get("dataset")},
        "determinism": settings or {"op_determinism": op_determinism_enabled()},
        "environment": environment(),
    }
    if run.published is not None:
        rec["published_accuracy"] = run.published
    if error:
        rec["error"] = error
    return rec


# --------------------------------------------------------------------------- a question


def run_question(spec: Spec, profile: str, results_dir: Path, only: list[str] | None = None,
                 seeds: list[int] | None = None, force: bool = False) -> int:
    """Train the selected runs and seeds of ``spec``; return the number that failed."""
    runs = spec.resolve(profile)
    if only:
        unknown = sorted(set(only) - {r.name for r in runs})
        if unknown:
            raise SystemExit(f"{spec.path}: no run named {', '.join(unknown)} "
                             f"(runs: {', '.join(r.name for r in runs)})")
        runs = [r for r in runs if r.name in only]
    jobs = [(r, s) for r in runs for s in (seeds if seeds is not None else r.seeds)]
    verbose = 1 if sys.stdout.isatty() else 2
    results.ensure_writable(Path(results_dir) / profile)
    cache: dict[str, data.Dataset] = {}
    failed = 0
    for i, (run, seed) in enumerate(jobs, start=1):
        out = results.run_dir(results_dir, profile, spec.question, run.name, seed)
        done = out / "run.json"
        if done.exists() and not force:
            try:
                if results.read_json(done).get("status") == "complete":
                    print(f"[{i}/{len(jobs)}] {spec.question}/{run.name} seed {seed}: "
                          "complete, skipped (--force to re-run)", flush=True)
                    continue
            except results.ResultsError:
                pass
        try:
            if out.exists() and (force or done.exists()):  # start clean; else resume a killed run
                shutil.rmtree(out)
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise results.ResultsError(f"cannot write {out}: {exc.strerror or exc}") from exc
        cfg = run.config
        print(f"[{i}/{len(jobs)}] {spec.question}/{run.name} seed {seed}: profile {profile}, "
              f"dataset {cfg['dataset']}, {cfg['epochs']} epochs, batch {cfg['batch_size']}, "
              f"{cfg['optimizer']} lr {cfg['learning_rate']}", flush=True)
        ds = None
        try:
            if cfg["dataset"] not in cache:
                cache[cfg["dataset"]] = data.load(cfg["dataset"])
            ds = cache[cfg["dataset"]]
            rec = train_one(run, seed, ds, out, verbose)
        except (KeyboardInterrupt, results.ResultsError):
            raise
        except Exception as exc:
            if isinstance(exc, OSError) and exc.errno in STORAGE_ERRORS:
                # a full disk or a read-only folder fails every run after it: stop now
                raise results.ResultsError(f"cannot write {out}: {exc.strerror}") from exc
            traceback.print_exc()
            rec = record(run, seed, "failed", None, ds, {},
                         error=f"{type(exc).__name__}: {exc}")
            failed += 1
        results.write_json(done, rec)
        m = rec["metrics"]
        if rec["status"] == "complete":
            print(f"    -> best val {m['best_val_accuracy']:.4f} at epoch {m['best_epoch']}, "
                  f"test {m['test_accuracy']:.4f}, {m['train_seconds']:.1f}s", flush=True)
        else:
            print(f"    -> {rec['status'].upper()}" + (f": {rec['error']}" if "error" in rec
                                                      else ""), flush=True)
        with results.locked(results_dir, profile):
            results.write_summary(results_dir, profile)
    write_aggregates(results_dir, profile)
    return failed


def write_aggregates(results_dir: Path, profile: str) -> None:
    """summary.csv, stats.csv, ensembles.csv and MANIFEST.json, from all runs on disk."""
    from coursework import manifest, stats

    with results.locked(results_dir, profile):
        results.write_summary(results_dir, profile)
        stats.write_stats(results_dir, profile)
        ensemble.write_ensembles(results_dir, profile)
        manifest.write(results_dir, profile)
