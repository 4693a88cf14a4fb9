"""What one ``run`` command asks for, as a value: the CLI, the Slurm tasks and the lab book
build a :class:`TrainRequest`, and :func:`coursework.engine.trainer.train` carries it out."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from coursework.records import layout
from coursework.records import spec as specs
from coursework.records.layout import ResultsSet
from coursework.records.spec import Run, Spec
from coursework.runtime import backend


@dataclass(frozen=True)
class Retrain:
    """A recorded run and seed trained again into a folder of its own (``verify``'s re-runs):
    no results set, no plan, no claim, nothing said but its epochs.

    Args:
        run: the run as its ``run.json`` recorded it.
        seed: the seed.
        folder: where it trains.
        evaluate: test it at the end (a tuning trial: validation only).
        packed: the seeds it was trained with as one program (JAX trains them so again; the
            others go to ``pack-seed-<seed>`` folders inside ``folder``), else empty.
    """

    run: Run
    seed: int
    folder: Path
    evaluate: bool = True
    packed: tuple[int, ...] = ()


@dataclass(frozen=True)
class TrainRequest:
    """The questions to train and how: every option of ``python -m coursework run``.

    Args:
        questions: question ids (``experiments/<id>.toml``) or experiment files.
        results: the results folder (``--results``).
        profile: ``quick`` or ``full`` (resolved: never ``auto``).
        dataset: every run on this dataset instead of the spec's.
        only: the run names to train (None: all).
        seeds: the seeds to train (None: each run's).
        force: train complete runs again.
        deterministic: byte-identical re-runs (None: the backend's default).
        mixed_precision: 16-bit compute.
        jobs: run/seed pairs trained at once in worker processes.
        task: only the K-th run and seed (a Slurm array task), or trial with ``tune``.
        tune: only run the studies of the tuned runs.
        pack: train the seeds of a run together as one program (None: on a GPU; JAX).
        retrain: one recorded run to train again instead (the options above unused).
    """

    questions: tuple[str, ...]
    results: Path = Path("results")
    profile: str = "quick"
    dataset: str | None = None
    only: tuple[str, ...] | None = None
    seeds: tuple[int, ...] | None = None
    force: bool = False
    deterministic: bool | None = None
    mixed_precision: bool = False
    jobs: int = 1
    task: int | None = None
    tune: bool = False
    pack: bool | None = None
    retrain: Retrain | None = None

    @property
    def rs(self) -> ResultsSet:
        """Its profile's results set under ``results`` (on ``dataset``: its own set)."""
        return ResultsSet(self.results, layout.set_name(self.profile, self.dataset))

    def load(self) -> list[Spec]:
        """The specs of its questions, every one checked, then the backend checked installed:
        a SpecError or BackendError before anything (Keras included) is loaded for training."""
        loaded = [specs.load(q) for q in self.questions]
        backend.check_installed()
        return loaded

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainRequest:
        """The request of a parsed ``run`` command line."""
        return cls(
            questions=tuple(args.question),
            results=Path(args.results),
            profile=args.profile,
            dataset=args.dataset,
            only=tuple(args.only) if args.only is not None else None,
            seeds=tuple(args.seeds) if args.seeds is not None else None,
            force=args.force,
            deterministic=args.deterministic,
            mixed_precision=args.mixed_precision,
            jobs=args.jobs,
            task=args.task,
            tune=args.tune,
            pack=args.pack_seeds,
        )

    def to_argv(self) -> list[str]:
        """The arguments of ``python -m coursework`` that parse back to this request (not a
        ``retrain``: it has none)."""
        if self.retrain is not None:
            raise ValueError("a re-run of a recorded run has no command line")
        argv = ["--results", str(self.results), "run", *self.questions, "--profile", self.profile]
        argv += ["--dataset", self.dataset] if self.dataset else []
        argv += ["--only", ",".join(self.only)] if self.only is not None else []
        argv += ["--seeds", ",".join(map(str, self.seeds))] if self.seeds else []
        argv += ["--force"] if self.force else []
        if self.deterministic is not None:
            argv.append("--deterministic" if self.deterministic else "--no-deterministic")
        argv += ["--mixed-precision"] if self.mixed_precision else []
        argv += ["--jobs", str(self.jobs)] if self.jobs != 1 else []
        argv += ["--tune"] if self.tune else []
        if self.pack is not None:
            argv.append("--pack-seeds" if self.pack else "--no-pack-seeds")
        argv += ["--task", str(self.task)] if self.task is not None else []  # last: Slurm's
        return argv
