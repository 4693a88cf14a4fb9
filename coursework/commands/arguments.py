"""The command line as data: a :class:`Command` per command (its name, help and
:class:`Arg` list), and :func:`build`, which makes the ``argparse`` parser of a table of them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PROFILE = "quick"
# --profile auto (what make passes where PROFILE is not given, for the commands that read
# results): full where it has runs, else quick (records.results.profile_had)
AUTO = "auto"

Handler = Callable[[argparse.Namespace], int]


def seeds(text: str) -> list[int]:
    """``0,1,2``: non-negative integers (seeds, batch sizes)."""
    try:
        out = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--seeds wants integers like 0,1,2, got {text!r}"
        ) from None
    if not out or min(out) < 0:
        raise argparse.ArgumentTypeError("--seeds wants non-negative integers like 0,1,2")
    return out


def positive(text: str) -> int:
    """A positive integer."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"wants a positive integer, got {text!r}")
    return int(text)


def names(text: str) -> list[str]:
    """Names with commas or spaces between them."""
    return [s for s in text.replace(",", " ").split() if s]


@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call: its flags (or name) and keyword arguments."""

    flags: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


def arg(*flags: str, **options: Any) -> Arg:
    """An :class:`Arg`, written as the ``add_argument`` call it stands for."""
    return Arg(flags, options)


@dataclass(frozen=True)
class Command:
    """A command: ``name``, its ``help`` (also its description), its arguments, whether it
    takes ``--profile`` and ``--dataset`` first, and the function that carries it out (0, 1:
    its exit status)."""

    name: str
    help: str
    run: Handler
    args: tuple[Arg, ...] = ()
    profile: bool = True


PROFILE_ARGS = (
    arg("--profile", default=DEFAULT_PROFILE, help=f"quick or full (default: {DEFAULT_PROFILE})"),
    arg(
        "--dataset",
        default=None,
        help="every run on this dataset instead of the spec's (mnist, "
        "mnist-5k, fashion-mnist, cifar10, cifar100, pickles:PATH, npz:PATH, "
        "folder:PATH); results in their own folder, results/<profile>@<data>",
    ),
)


# ----------------------------------------------------------------- arguments several commands share

ONLY = arg("--only", type=names, help="comma-separated run names")
SEEDS = arg("--seeds", type=seeds, help="comma-separated seeds, e.g. 0,1")
QUESTIONS = arg("question", nargs="*", help="question ids or .toml files (default: all)")
QUESTION = "question id (experiments/<id>.toml) or a .toml"
TOLERANCE = arg(
    "--tolerance",
    type=float,
    default=0.005,
    help="accuracy tolerance where byte identity cannot be expected (default: 0.005)",
)
RUN_FOLDER = arg("run_folder", type=Path, help="e.g. results/quick/conv/conv2/seed-0")


def cluster(
    time: str | None,
    default: str,
    memory: str = "16G, or what a node has",
) -> tuple[Arg, ...]:
    """What each task of a Slurm array asks for (make slurm; make mark SLURM=1); ``time``:
    the default time per task (``default``: it in words), ``memory``: the default memory in
    words."""
    return (
        arg("--partition", default="", help="Slurm partition (default: the cluster's)"),
        arg(
            "--gpus",
            type=int,
            default=None,
            help="GPUs per task (default: 1 where the partition's nodes have GPUs, else 0: CPU)",
        ),
        arg("--time", default=time, help=f"time limit per task (default: {default})"),
        arg("--mem", default=None, help=f"memory per task (default: {memory})"),
        arg("--cpus", type=int, default=None, help="CPU cores per task (default: 4, or a node's)"),
        arg(
            "--setup",
            default="",
            help="shell lines to run first in each task, e.g. 'module load cuda'",
        ),
    )


# the marker's limits on each command of a submission (make mark; docs/marking.md)
MARK_LIMITS = (
    arg(
        "--memory-gb",
        type=float,
        default=4.0,
        help="memory one command of a submission may use, its processes together, GiB (default: 4)",
    ),
    arg(
        "--tasks",
        type=positive,
        default=512,
        help="processes and threads one command of a submission may have (default: 512)",
    ),
    arg(
        "--disk-gb",
        type=float,
        default=2.0,
        help="what one command of a submission may write, GiB (default: 2)",
    ),
    arg(
        "--rerun-speed",
        type=float,
        default=200.0,
        help="images/s this machine trains at least: a re-run's time limit is 3 times its "
        "images at this speed, at least --min-rerun-seconds (default: 200, a slow CPU)",
    ),
    arg(
        "--inspect-seconds",
        type=float,
        default=300.0,
        help="time to read one submission's files, and to compile its report (default: 300)",
    ),
    arg(
        "--min-rerun-seconds",
        type=float,
        default=600.0,
        help="the shortest time limit of a re-run (default: 600)",
    ),
    arg(
        "--handed-in-engine",
        action="store_true",
        help="re-train with the submission's own coursework/ (default: this checkout's "
        "engine, with the handed-in models/ and experiments/); the sheet says which",
    ),
    arg(
        "--slurm",
        action="store_true",
        help="send the re-runs to Slurm as one array job (make mark again gathers them); "
        "the integrity checks stay here",
    ),
    *cluster(
        None,
        "the longest re-run's time limit, plus 10 minutes",
        "the sandbox's memory plus 2 GB",
    ),
)


def determinism(text: str) -> tuple:
    return (arg("--deterministic", action=argparse.BooleanOptionalAction, default=None, help=text),)


PACK = arg(
    "--pack-seeds",
    action=argparse.BooleanOptionalAction,
    default=None,
    help="train the seeds of a run together as one program (JAX; default: on a GPU)",
)


def build(commands: Sequence[Command], description: str | None) -> argparse.ArgumentParser:
    """The parser of ``python -m coursework``: ``--results``, then a sub-command each."""
    p = argparse.ArgumentParser(prog="python -m coursework", description=description)
    p.add_argument(
        "--results", type=Path, default=Path("results"), help="results folder (default: results)"
    )
    sub = p.add_subparsers(dest="command", required=True)
    for c in commands:
        sp = sub.add_parser(c.name, help=c.help, description=c.help)
        for a in (*PROFILE_ARGS, *c.args) if c.profile else c.args:
            sp.add_argument(*a.flags, **a.options)
    return p
