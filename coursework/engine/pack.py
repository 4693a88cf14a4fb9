"""The seeds of one run trained together, as one program (JAX).

At a small batch one network cannot fill a GPU: each step is a chain of tiny kernels and the
GPU waits on their launches. ``jax.vmap`` over the stateless training step trains S seeds in
the launches of one. Each seed keeps everything it has alone: its own weights, optimizer
state and batch-norm statistics (the leading axis of every array), its data order
(``epoch_order(seed, epoch)``) and its dropout and augmentation draws (its own seed-generator
states, reseeded per epoch), and everything around the epoch is its own
(:class:`coursework.engine.epochs.SeedEpochs`: validation, best epoch, checkpoint, early
stopping, history). A seed that stops leaves the pack; the others go on without waiting.
Each seed is built exactly as alone (:func:`coursework.engine.seeded.prepare`), so a packed
run agrees with the same seeds trained one by one to float tolerance.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import keras
import numpy as np

from coursework.engine import loop
from coursework.engine.context import RunContext
from coursework.engine.epochs import SeedEpochs
from coursework.engine.seed_run import conclude
from coursework.engine.seeded import prepare
from coursework.records.record import RunRecord


class PackedEpoch:
    """``program.train(nets, orders) -> [{"loss", "accuracy"}, ...]``: one epoch of each
    network (the same architecture, each with its own variables) over its own order, as one
    vmapped program (:class:`coursework.engine.loop.JaxCompiled`: a ``lax.scan`` over the
    batches with ``scan``, as on a GPU, else one jitted step at a time).

    Args:
        net: one of the networks (they share its stateless functions).
        split: the training split, shared by every seed.
        where: the device and the compilation; ``where.scan``: the epoch as one ``lax.scan``.
    """

    jit_compile = True

    def __init__(self, net: keras.Model, split: loop.Split, where: loop.Placement) -> None:
        import jax

        self.batch_size, self.n, self.scan = split.batch_size, len(split.y), bool(where.scan)
        xs, ys = jax.device_put(split.x), jax.device_put(split.y)
        step = jax.vmap(loop.stateless_step(net, xs, ys, split.num_classes, split.one_hot))
        self.compiled = loop.JaxCompiled(
            step, scan=self.scan, deterministic=where.deterministic, on_gpu=where.on_gpu
        )

    @property
    def deterministic(self) -> bool:
        return self.compiled.deterministic

    @property
    def fallback(self) -> str:
        return self.compiled.fallback

    def train(self, nets: list[keras.Model], orders: list[np.ndarray]) -> list[dict[str, float]]:
        """One epoch of each of ``nets`` over its order; each net's variables are read at
        the start and hold its result at the end."""
        import jax.numpy as jnp

        groups = [_variables(net) for net in nets]
        stacked_values = [
            [jnp.stack([g[k][j].value for g in groups]) for j in range(len(groups[0][k]))]
            for k in range(3)
        ]
        zeros = (jnp.zeros(len(nets), "float32"), jnp.zeros(len(nets), "int32"))
        state: Any = (*stacked_values, *zeros)
        stacked = np.stack(orders)  # (seeds, N)
        full = (self.n // self.batch_size) * self.batch_size
        batches = stacked[:, :full].reshape(len(nets), -1, self.batch_size).transpose(1, 0, 2)
        state = self.compiled(state, batches)  # (steps, seeds, batch)
        if full < self.n:  # the last, smaller batch: a second (cached) specialisation
            state = self.compiled(state, stacked[:, full:][None])
        for k in range(3):
            for j, values in enumerate(state[k]):
                for i, g in enumerate(groups):
                    g[k][j].assign(values[i])
        loss, hits = np.asarray(state[3]), np.asarray(state[4])
        return [
            {"loss": float(loss[i]) / self.n, "accuracy": int(hits[i]) / self.n}
            for i in range(len(nets))
        ]


def _variables(net: keras.Model) -> tuple[list, list, list]:
    return net.trainable_variables, net.non_trainable_variables, net.optimizer.variables


def train_pack(ctxs: list[RunContext]) -> list[RunRecord]:
    """Train seeds of one run together, each into its own folder (each resuming from its own
    checkpoint); return each seed's ``run.json`` record, which says it was packed.

    Args:
        ctxs: one per seed, of the same run and dataset.
    """
    sessions = [prepare(ctx.cfg, ctx.seed, ctx.ds) for ctx in ctxs]
    here = loop.Placement.here()
    program = PackedEpoch(sessions[0].net, sessions[0].split, replace(here, scan=here.on_gpu))
    epochs = [SeedEpochs(s, ctx) for s, ctx in zip(sessions, ctxs, strict=True)]
    while active := [e for e in epochs if not e.done]:
        orders = [e.order() for e in active]
        t0 = time.perf_counter()
        logs = program.train([e.s.net for e in active], orders)
        share = (time.perf_counter() - t0) / len(active)  # each seed's part of the epoch
        for e, seed_logs in zip(active, logs, strict=True):
            e.finish(seed_logs, share)
    recs = []
    seeds = [ctx.seed for ctx in ctxs]
    for e, ctx in zip(epochs, ctxs, strict=True):
        rec = conclude(ctx, e, program)
        packed = {"seeds": list(seeds), "epoch_seconds": "its share of the pack's"}
        recs.append(rec.with_(packed=packed))
    return recs
