"""One epoch of training as one compiled program, on whichever backend Keras runs.

The training split is copied to the device once (GPU memory, or RAM on a CPU) as it is stored:
``uint8`` stays ``uint8``, four times smaller than float32. Each epoch is given an order of
the training images, and one call runs every mini-batch of it: gather the batch by index,
scale the pixels, run the model (its augmentation layers are active in training only) and
take the optimizer step. The order is a permutation that depends only on (seed, epoch),
computed on the host in a few milliseconds, so a resumed run, and every backend, sees the
same batches.

- JAX: Keras' stateless API (``model.stateless_call``, ``optimizer.stateless_apply``). On a
  GPU the whole epoch is one jitted ``lax.scan`` over the batches (Keras' own ``fit`` loops
  over jitted steps in Python and copies every batch from the host). On a CPU it is a Python
  loop over one jitted step: XLA's CPU convolutions inside a loop ran 6x slower than alone
  (Nielsen's conv net at batch 10: 465 against 3,018 images/s here). ``scan=`` asks for
  either program anywhere: the tests run the GPU's on a CPU against the other.
- TensorFlow: ``model.train_step`` in a ``tf.range`` loop inside one ``tf.function``, compiled
  by XLA on a GPU when the run need not be deterministic (``jit_compile=`` asks anywhere).
- PyTorch: ``model.train_step`` batch by batch (PyTorch runs eagerly).

A program reads the model's Keras variables when it starts and leaves its result in them, so
checkpoints, evaluation and saving around it need not know the backend.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import keras
import numpy as np
from keras import ops

from coursework.data import arrays as data

log = logging.getLogger(__name__)


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which epoch ``epoch`` (0-based) visits the ``n`` training images."""
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


def pixels(x):
    """A batch of stored images as float32 in [0, 1], in the compiled program (see
    :func:`coursework.data.arrays.scale`, the same rule on the host)."""
    if keras.backend.standardize_dtype(x.dtype) == "uint8":
        return ops.cast(x, "float32") * data.PIXEL_SCALE
    return ops.cast(x, "float32")


def targets(y: Any, num_classes: int, one_hot: bool) -> Any:
    """Integer labels, or one-hot rows for a loss that wants them (``mse``)."""
    return ops.one_hot(y, num_classes) if one_hot else y


class EpochProgram:
    """``program(order) -> {"loss", "accuracy"}``: one epoch of training over ``order``.

    ``model`` is compiled (optimizer, loss, an ``accuracy`` metric); ``x`` (N, H, W, C) uint8
    or float32 images and ``y`` (N,) int labels are the training split. ``deterministic`` is
    whether the program is deterministic (it can fall back, see the JAX program);
    ``jit_compile`` whether XLA compiles it."""

    deterministic: bool = True
    jit_compile: bool = False
    fallback: str = ""  # why a deterministic program fell back (JAX), else empty

    def __call__(self, order: np.ndarray) -> dict[str, float]:
        raise NotImplementedError


@dataclass(frozen=True)
class Split:
    """The training split as an epoch program takes it.

    Args:
        x: (N, H, W, C) images, ``uint8`` or float32 in [0, 1], as stored.
        y: (N,) int labels.
        batch_size: images per step.
        num_classes: classes of the dataset (for one-hot targets).
        one_hot: one-hot targets (the ``mse`` loss) instead of integer labels.
    """

    x: np.ndarray
    y: np.ndarray
    batch_size: int
    num_classes: int
    one_hot: bool = False


@dataclass(frozen=True)
class Placement:
    """Where a program runs and how it is compiled.

    Args:
        deterministic: byte-identical re-runs asked (XLA's deterministic GPU kernels, JAX).
        on_gpu: it runs on a GPU.
        scan: JAX: the epoch as one ``lax.scan`` (None: on a GPU).
        jit_compile: TensorFlow: XLA compiles it (None: on a GPU, where not deterministic).
    """

    deterministic: bool
    on_gpu: bool
    scan: bool | None = None
    jit_compile: bool | None = None

    @classmethod
    def here(cls) -> Placement:
        """This process's: its backend's determinism, and whether it has a GPU."""
        from coursework.runtime import backend

        return cls(backend.settings()["deterministic"], bool(backend.accelerators()))


def epoch_program(model: keras.Model, split: Split, where: Placement) -> EpochProgram:
    """The fastest epoch program for the backend Keras runs on. ``where.scan`` (JAX: the epoch
    as one ``lax.scan``) and ``where.jit_compile`` (TensorFlow: XLA) default to the choice
    for ``where.on_gpu``; given, they pick that program on any device, so a CPU can test the
    GPU's.

    Args:
        model: compiled (optimizer, loss, an ``accuracy`` metric).
        split: the training split.
        where: the device and the compilation (:meth:`Placement.here`: this process's).
    """
    name = keras.backend.backend()
    model.optimizer.build(model.trainable_variables)  # optimizer state exists before tracing
    if name == "jax":
        scan = where.on_gpu if where.scan is None else where.scan
        return JaxEpoch(model, split, replace(where, scan=scan))
    if name == "tensorflow":
        xla = where.on_gpu and not where.deterministic
        return TensorFlowEpoch(
            model, split, xla if where.jit_compile is None else where.jit_compile
        )
    return TorchEpoch(model, split)


def stateless_step(
    model: keras.Model, x: Any, y: Any, num_classes: int, one_hot: bool
) -> Callable[[Any, Any], Any]:
    """``step(state, idx) -> state``: one optimizer step of ``model`` on the images ``x[idx]``,
    with Keras' stateless API (JAX). ``state``: (trainable, non-trainable and optimizer
    values, the loss summed over images, the images right); ``x``, ``y`` on the device."""
    import jax

    loss_fn, optimizer = model.loss, model.optimizer

    def loss_and_updates(tv, ntv, xb, yb):
        pred, ntv, losses = model.stateless_call(tv, ntv, xb, training=True, return_losses=True)
        loss = loss_fn(targets(yb, num_classes, one_hot), pred)
        for extra in losses:  # weight penalties (L1, L2)
            loss = loss + extra
        return loss, (pred, ntv)

    grad_fn = jax.value_and_grad(loss_and_updates, has_aux=True)

    def step(state, idx):
        tv, ntv, ov, loss_sum, hits = state
        xb, yb = pixels(ops.take(x, idx, axis=0)), ops.take(y, idx, axis=0)
        (loss, (pred, ntv)), grads = grad_fn(tv, ntv, xb, yb)
        tv, ov = optimizer.stateless_apply(ov, grads, tv)
        hits = hits + ops.sum(ops.cast(ops.argmax(pred, -1) == yb, "int32"))
        return tv, ntv, ov, loss_sum + loss * idx.shape[-1], hits

    return step


class JaxCompiled:
    """``compiled(state, batches) -> state``: ``step`` over every batch of an epoch, jitted:
    as one ``lax.scan`` (``scan``, as on a GPU) or one jitted step at a time (as on a CPU).
    XLA's deterministic GPU kernels where asked on a GPU; where an op has none, it falls back
    (``fallback`` says why) and is no longer ``deterministic``."""

    def __init__(
        self, step: Callable[[Any, Any], Any], *, scan: bool, deterministic: bool, on_gpu: bool
    ) -> None:
        import jax

        def run(state, batches):
            return jax.lax.scan(lambda c, b: (step(c, b), None), state, batches)[0]

        self.scan, self.deterministic, self.fallback = scan, deterministic, ""
        self._jit = lambda options: jax.jit(
            run if scan else step, donate_argnums=0, compiler_options=options
        )
        self.fn = self._jit(
            {"xla_gpu_deterministic_ops": True} if deterministic and on_gpu else None
        )

    def __call__(self, state: Any, batches: np.ndarray) -> Any:
        try:
            if self.scan:
                return self.fn(state, batches)
            for batch in batches:
                state = self.fn(state, batch)
            return state
        except Exception as exc:  # XLA: an op with no deterministic GPU kernel
            if not self.deterministic or "deterministic" not in str(exc):
                raise
            # max-pooling's gradient (select-and-scatter) has no deterministic GPU kernel
            self.fallback = str(exc).splitlines()[0][:300]
            log.info(
                "    note: no deterministic GPU program (%s); this run is not deterministic",
                self.fallback,
            )
            self.deterministic = False
            self.fn = self._jit(None)
            return self(state, batches)


class JaxEpoch(EpochProgram):
    """Stateless training steps (:func:`stateless_step`), compiled (:class:`JaxCompiled`): the
    whole epoch as one jitted ``lax.scan`` (``scan``, as on a GPU), or one jitted step at a
    time (as on a CPU). XLA's deterministic GPU kernels are asked for on a GPU only."""

    def __init__(self, model: keras.Model, split: Split, where: Placement) -> None:
        import jax

        self.model, self.batch_size, self.n = model, split.batch_size, len(split.y)
        self.x, self.y = jax.device_put(split.x), jax.device_put(split.y)
        step = stateless_step(model, self.x, self.y, split.num_classes, split.one_hot)
        scan = bool(where.scan)
        self.compiled = JaxCompiled(
            step, scan=scan, deterministic=where.deterministic, on_gpu=where.on_gpu
        )
        self.scan, self.jit_compile = scan, True
        self.deterministic, self.fallback = where.deterministic, ""

    def __call__(self, order: np.ndarray) -> dict[str, float]:
        m = self.model
        variables = (m.trainable_variables, m.non_trainable_variables, m.optimizer.variables)
        state = (*([v.value for v in vs] for vs in variables), np.float32(0), np.int32(0))
        full = (self.n // self.batch_size) * self.batch_size
        state = self.compiled(state, order[:full].reshape(-1, self.batch_size))
        if full < self.n:  # the last, smaller batch: a second (cached) specialisation
            state = self.compiled(state, order[full:].reshape(1, -1))
        self.deterministic, self.fallback = self.compiled.deterministic, self.compiled.fallback
        for vs, values in zip(variables, state[:3], strict=True):
            for v, value in zip(vs, values, strict=True):
                v.assign(value)
        return {"loss": float(state[3]) / self.n, "accuracy": int(state[4]) / self.n}


class TensorFlowEpoch(EpochProgram):
    """``model.train_step`` for every batch inside one ``tf.function``: the full batches in one
    call, a last, smaller batch in a second. Sliced out of the order inside one XLA program, a
    short last batch reads as full size (``tf.shape`` of a 2-index slice, batch 4: 4), so the
    mean loss was divided, and the metrics counted, by the full batch: a wrong last step."""

    def __init__(self, model: keras.Model, split: Split, jit_compile: bool) -> None:
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # each run traces its own program: no news
        self.model, self.jit_compile, self.batch_size = model, jit_compile, split.batch_size
        xs, ys = tf.identity(split.x), tf.identity(split.y)  # on the default device (GPU if any)
        num_classes, one_hot = split.num_classes, split.one_hot

        @tf.function(jit_compile=jit_compile, reduce_retracing=True)
        def run(batches):  # (steps, batch) indices: every shape static to XLA
            for i in tf.range(tf.shape(batches)[0]):
                idx = batches[i]
                model.train_step(
                    (pixels(tf.gather(xs, idx)), targets(tf.gather(ys, idx), num_classes, one_hot))
                )

        self.fn = run

    def __call__(self, order: np.ndarray) -> dict[str, float]:
        import tensorflow as tf

        self.model.reset_metrics()
        full = (len(order) // self.batch_size) * self.batch_size
        if full:
            self.fn(tf.constant(order[:full].reshape(-1, self.batch_size)))
        if full < len(order):  # the last, smaller batch: a second specialisation
            self.fn(tf.constant(order[full:].reshape(1, -1)))
        return _logs(self.model)


class TorchEpoch(EpochProgram):
    """``model.train_step`` batch by batch, the data on the device."""

    def __init__(self, model: keras.Model, split: Split) -> None:
        self.model, self.batch_size = model, split.batch_size
        self.x, self.y = ops.convert_to_tensor(split.x), ops.convert_to_tensor(split.y)
        self.num_classes, self.one_hot = split.num_classes, split.one_hot

    def __call__(self, order: np.ndarray) -> dict[str, float]:
        self.model.reset_metrics()
        order = ops.convert_to_tensor(order.astype(np.int64))
        for i in range(math.ceil(len(order) / self.batch_size)):
            idx = order[i * self.batch_size : (i + 1) * self.batch_size]
            self.model.train_step(
                (pixels(self.x[idx]), targets(self.y[idx], self.num_classes, self.one_hot))
            )
        return _logs(self.model)


def _logs(model: keras.Model) -> dict[str, float]:
    logs = model.get_metrics_result()
    return {"loss": float(logs["loss"]), "accuracy": float(logs["accuracy"])}
