"""``make verify``'s re-run: re-train runs from their ``run.json`` and compare histories.

Each chosen run is re-trained from its recorded config and seed into a temporary folder, with
the Keras backend it recorded (in a worker process when that is not this process's), and its
``history.csv`` (and its ``gradients.csv``, :mod:`.gradient_flow`) is compared with the
submitted one. On the same hardware and package versions,
with determinism on both times, it must be byte-identical (the ``epoch_seconds`` column,
wall-clock time, aside); elsewhere the final and best validation accuracy and the test accuracy
must agree within the tolerance.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import TypeVar

from coursework.analysis.checks import Row, short
from coursework.records import layout, results, run_folders, spec, storage
from coursework.records.errors import BackendError, ResultsError
from coursework.records.layout import ResultsSet
from coursework.records.record import RunRecord, Status
from coursework.records.results import HISTORY_COLUMNS
from coursework.runtime import backend, workers
from coursework.verify import gradient_flow
from coursework.verify.verdicts import Verdict, passed

TIMING = {"epoch_seconds"}  # wall-clock columns: never reproducible
T = TypeVar("T", Path, str)
ENV_KEYS = ("python", "backend", "backend_version", "keras", "numpy", "cpu", "gpus")


def metric_text(path: Path) -> str:
    """``history.csv`` without its wall-clock columns: what must repeat byte for byte."""
    rows = storage.read_csv(path)
    keep = [c for c in HISTORY_COLUMNS if c not in TIMING]
    return "\n".join(",".join(r.get(c, "") for c in keep) for r in rows)


def same_environment(rec: RunRecord, new: RunRecord) -> bool:
    """Whether the re-run ``new`` happened where ``rec`` did (versions, backend, hardware),
    with determinism on both times: then its history must repeat byte for byte."""
    return (
        all(rec.environment.get(k) == new.environment.get(k) for k in ENV_KEYS)
        and bool(rec.determinism.get("op_determinism"))
        and bool(new.determinism.get("op_determinism"))
    )


def first_difference(a: Path, b: Path) -> str:
    """Where history ``b`` first differs from ``a`` (wall-clock columns aside)."""
    ra, rb = storage.read_csv(a), storage.read_csv(b)
    for i, (x, y) in enumerate(zip(ra, rb, strict=False)):
        for c in HISTORY_COLUMNS:
            if c not in TIMING and x.get(c) != y.get(c):
                return f"epoch {i + 1} {c}: {y.get(c)}"
    return f"{len(rb)} epochs, submitted {len(ra)}"


def final_and_best(path: Path) -> dict[str, float]:
    """A history's last and best validation accuracy."""
    val = results.column(storage.read_csv(path), "val_accuracy")
    return {"final val_accuracy": val[-1], "best val_accuracy": max(val)}


def rerun_jobs(
    rs: ResultsSet,
    question: str | None,
    sample: int | None,
    among: tuple[str, ...] | None = None,
) -> list[Path]:
    """``run.json`` paths of the complete runs to re-train, of ``question`` (None: of the
    questions ``among``, or all): all, or a sample seeded with 0 (``make verify``'s, the same
    every time; a marker's is :func:`secret_sample`)."""
    scope = [question] if question is not None or among is None else list(among)
    paths = [
        p
        for q in scope
        for p in [*rs.record_paths(q), *rs.trial_paths(q)]
        if not run_folders.in_progress(p.parent)
        and storage.read_record(p).status in (Status.COMPLETE, Status.PRUNED)
    ]
    if sample is not None and sample < len(paths):
        paths = sorted(random.Random(0).sample(paths, sample))
    return paths


def secret_sample(
    paths: list[T],
    sample: int,
    seed: int,
    weight: Callable[[T], float],
    done: set[T],
    first: frozenset[T] | set[T] = frozenset(),
) -> list[T]:
    """A marker's sample: ``sample`` of ``paths`` drawn without replacement by
    ``random.Random(seed)`` (the seed from the OS's randomness, kept on the marker's sheet),
    each with probability growing with ``weight`` (the runs of the paper's body weigh
    more); those not in ``done`` (re-run at an earlier marking of the same zip) first, and
    of them those in ``first`` (the runs the prose quotes) before the others."""
    rng = random.Random(seed)
    keyed = [(p in done, p not in first, -(rng.random() ** (1 / weight(p))), p) for p in paths]
    return sorted(k[-1] for k in sorted(keyed, key=lambda k: k[:3])[:sample])


def retrain(rec: RunRecord, folder: Path) -> RunRecord | str:
    """Re-train the run and seed of ``rec`` (a ``run.json``) into ``folder``; return the new
    record, or why not (the dataset is not the one the run used)."""
    from coursework.engine import trainer
    from coursework.engine.job import dataset
    from coursework.engine.request import Retrain, TrainRequest

    cfg = rec.config
    trial = rec.trial is not None  # a tuning trial: its epochs (a pruned one stopped early)
    if trial:
        cfg = cfg.with_(epochs=rec.metrics.get("epochs_run", cfg.epochs))
    ds = dataset(cfg)
    want = rec.dataset.get("fingerprint")
    if want != ds.fingerprint():
        return (
            f"dataset {cfg.dataset}: fingerprint {short(want, 16)} "
            f"recorded, {short(ds.fingerprint(), 16)} here"
        )
    run = spec.Run(
        rec.question,
        rec.run,
        rec.profile,
        cfg,
        spec_file=rec.spec_file,
        published=rec.published_accuracy,
    )
    packed = (rec.packed or {}).get("seeds") if not trial else None
    again = Retrain(run, rec.seed, Path(folder), not trial, tuple(packed or ()))
    return trainer.train(TrainRequest(questions=(), retrain=again)).records[0]


def how(rec: RunRecord, new: RunRecord | str) -> str:
    """The backend a run was re-trained with, and whether packed with its seeds, or alone
    where it was trained packed (then a byte-identical history cannot be asked)."""
    name = recorded_backend(rec)
    if isinstance(new, RunRecord) and new.packed:
        return f"{name}, packed with seeds {', '.join(map(str, new.packed['seeds']))}"
    return f"{name}, alone: it was trained packed" if rec.packed else name


class Trainers:
    """Re-training in this process, or in one worker process per other backend."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self.stack = stack
        self.pools: dict[str, Executor] = {}  # backend -> its worker process

    def retrain(self, rec: RunRecord, folder: Path) -> RunRecord | str:
        """:func:`retrain` with the backend ``rec`` recorded (or why it could not)."""
        name = recorded_backend(rec)
        try:
            if name == backend.current():
                return retrain(rec, folder)
            if name not in self.pools:
                backend.check_installed(name)
                self.pools[name] = self.stack.enter_context(
                    workers.pool(
                        1, backend=name, settings={"deterministic": True, "mixed_precision": False}
                    )
                )
            found: RunRecord | str = self.pools[name].submit(retrain, rec, folder).result()
            return found
        except BackendError as exc:
            return str(exc).splitlines()[0] + f" (make setup BACKEND={name})"


def outcome(rows: list[Row]) -> str:
    """A re-run's rows in a word, as the progress lines print it."""
    return Verdict.OK if all(r.ok for r in rows) else Verdict.MISMATCH


def recorded_backend(rec: RunRecord) -> str:
    """The Keras backend a ``run.json`` was trained with (schema 2 records it)."""
    if rec.backend is None:
        raise ResultsError(f"{rec.question}/{rec.run} seed {rec.seed}: run.json has no backend")
    return rec.backend


def rerun(rs: ResultsSet, jobs: list[Path], tolerance: float) -> list[Row]:
    """Re-train every job with the backend its ``run.json`` recorded and compare it with the
    submitted history."""
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        trainers = Trainers(stack)
        for i, path in enumerate(jobs, start=1):
            rec = storage.read_record(path)
            run_id, seed = f"{rec.question}/{rec.run}", str(rec.seed)
            if rec.trial is not None:
                seed = f"trial {rec.trial.number}"
            rel = rs.relative(path.parent / layout.HISTORY)
            print(
                f"[{i}/{len(jobs)}] re-training {run_id} seed {seed} ({rec.config.epochs}"
                f" epochs, backend {recorded_backend(rec)})",
                flush=True,
            )
            with tempfile.TemporaryDirectory(prefix="coursework-verify-") as tmp:
                new = trainers.retrain(rec, Path(tmp))
                mine = compare(
                    rec,
                    new,
                    path.parent / layout.HISTORY,
                    Path(tmp) / layout.HISTORY,
                    run_id,
                    seed,
                    rel,
                    how(rec, new),
                    tolerance,
                )
            rows += mine
            print(f"    -> {outcome(mine)}", flush=True)
    return rows


def compare(
    rec: RunRecord,
    new: RunRecord | str,
    hist: Path,
    new_hist: Path,
    run_id: str,
    seed: str,
    rel: str,
    name: str,
    tolerance: float,
) -> list[Row]:
    """Rows comparing a re-run (record ``new``, history ``new_hist``, the gradient flow
    beside it) with the submitted one: byte for byte where it ran where the submitted one did
    (or repeated it anyway), else within ``tolerance`` (``new`` a string: why it could not
    re-train)."""
    if isinstance(new, str):
        return [not_run(run_id, seed, name, rel, new, 60)]
    exact = same_environment(rec, new) and bool(rec.packed) == bool(new.packed)
    where = (run_id, seed, rel, name)
    flow = gradient_flow.rows(hist, new_hist, where, exact)
    if exact or metric_text(hist) == metric_text(new_hist):
        return identical_rows(rec, new, hist, new_hist, where, exact) + flow
    check = f"re-run within {tolerance} ({name}, other hardware or versions)"
    want: dict[str, float | None] = {**final_and_best(hist)}
    got: dict[str, float | None] = {**final_and_best(new_hist)}
    want["test_accuracy"] = rec.metrics.get("test_accuracy")
    got["test_accuracy"] = new.metrics.get("test_accuracy")
    rows = []
    for key in want:
        a, b = want[key], got[key]
        good = a is not None and b is not None and abs(a - b) <= tolerance
        rows.append(
            Row(
                run_id,
                seed,
                f"{check}: {key}",
                rel,
                f"{a:.4f}",
                f"{b:.4f}" if b is not None else "none",
                passed(good),
            )
        )
    return rows + flow


def not_run(run_id: str, seed: str, name: str, rel: str, why: object, width: int) -> Row:
    """A re-run that could not train (``why``, cut to ``width``)."""
    return Row(
        run_id, seed, f"re-run ({name})", rel, "a re-run", short(why, width), Verdict.NOT_RUN
    )


def identical_rows(
    rec: RunRecord,
    new: RunRecord,
    hist: Path,
    new_hist: Path,
    where: tuple[str, str, str, str],
    exact: bool,
) -> list[Row]:
    """A re-run that must repeat the submitted history byte for byte, and its test accuracy;
    ``where``: (run, seed, history file, backend); ``exact``: same hardware and versions."""
    run_id, seed, rel, name = where
    identical = metric_text(hist) == metric_text(new_hist)
    check = f"re-run history: byte-identical ({name}" + (
        ", same hardware and versions)" if exact else ")"
    )
    a, b = rec.metrics.get("test_accuracy"), new.metrics.get("test_accuracy")
    return [
        Row(
            run_id,
            seed,
            check,
            rel,
            "identical",
            "identical" if identical else first_difference(hist, new_hist),
            passed(identical),
        ),
        Row(
            run_id,
            seed,
            f"re-run test_accuracy ({name})",
            f"{rel[:-11]}run.json",
            storage.fmt(a),
            storage.fmt(b),
            passed(a == b),
        ),
    ]
