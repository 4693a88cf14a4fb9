"""What a Slurm partition offers, and the resources an array task asks for, fitted to it.

``make slurm`` runs on the login node, where ``sinfo`` says what the partition's nodes have.
A resource the user did not set is chosen to fit them (a GPU where the nodes have one, else
a CPU job; at most 4 cores and 16 GB, never more than a node has); one the user set that no
node can give is one error, before ``sbatch``, with the numbers to set. Where there is no
``sinfo`` (a script written on a laptop), the defaults stand unchecked, and it says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, replace

from coursework.records.errors import CourseworkError

DEFAULT_CPUS = 4
DEFAULT_MEM_MB = 16 * 1024
DEFAULT_TIME = "04:00:00"


class ClusterError(CourseworkError):
    """The resources asked for do not fit the partition; the message says what to set."""


@dataclass(frozen=True)
class Resources:
    """What each array task asks Slurm for. ``None``: not set by the user (fitted to the
    partition, see :func:`fit`); an empty partition or time is left to the cluster."""

    partition: str = ""
    gpus: int | None = None
    time: str = DEFAULT_TIME
    mem: str | None = None
    cpus: int | None = None
    setup: str = ""  # shell lines before training, e.g. "module load cuda"


@dataclass(frozen=True)
class Partition:
    """The smallest node of a partition: what every task can be given on any of its nodes."""

    name: str
    cpus: int
    mem_mb: int
    gpus: int
    max_minutes: int | None  # None: no limit


def megabytes(mem: str) -> int:
    """``16G`` -> 16384, ``500M`` -> 500, ``2T``, ``1024K``; a bare number is megabytes (as
    Slurm reads ``--mem``)."""
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)B?\s*", mem.upper())
    if not m:
        raise ClusterError(f"MEM={mem!r}: give a size such as 16G or 500M")
    scale = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}[m.group(2)]
    return int(int(m.group(1)) * scale)


def minutes(limit: str) -> int | None:
    """A Slurm time (``4:00:00``, ``1-00:00:00``, ``30``, ``infinite``) in minutes."""
    limit = limit.strip().lower()
    if limit in ("infinite", "unlimited", "n/a", ""):
        return None
    days, _, clock = limit.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    if days:  # days-hours[:minutes[:seconds]]
        h, mi, s = (parts + [0, 0])[:3]
    else:  # minutes, minutes:seconds or hours:minutes:seconds
        h, mi, s = [0, *parts, 0][:3] if len(parts) < 3 else parts
    return (int(days or 0) * 24 + h) * 60 + mi + (s > 0)


def _gpus(gres: str) -> int:
    """GPUs in a node's ``%G``: ``gpu:a100:4(S:0-1)``, ``gpu:2``, ``(null)``."""
    total = 0
    for item in gres.split(","):
        m = re.match(r"gpu(?::[^:(]+)?:(\d+)", item.strip())
        total += int(m.group(1)) if m else 0
    return total


def partition(name: str = "") -> Partition | None:
    """What ``sinfo`` says of the partition ``name`` (the cluster's default where empty);
    None where there is no ``sinfo`` or it does not answer."""
    if shutil.which("sinfo") is None:
        return None
    try:
        out = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%P|%c|%m|%G|%l"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    nodes = [line.split("|") for line in out.splitlines() if line.count("|") == 4]
    if not nodes:
        return None
    default = next((p.rstrip("*") for p, *_ in nodes if p.endswith("*")), nodes[0][0])
    wanted = name or default
    mine = [n for n in nodes if n[0].rstrip("*") == wanted]
    if not mine:
        known = sorted({p.rstrip("*") for p, *_ in nodes})
        raise ClusterError(f"PARTITION={wanted}: no such partition (sinfo: {', '.join(known)})")
    return Partition(
        wanted,
        min(int(n[1].rstrip("+")) for n in mine),
        min(int(n[2].rstrip("+")) for n in mine),
        min(_gpus(n[3]) for n in mine),
        minutes(mine[0][4]),
    )


def fit(res: Resources, part: Partition | None) -> tuple[Resources, list[str]]:
    """``res`` with every unset resource chosen, and notes to print; ClusterError (every
    misfit, with what to set) where a set one exceeds what ``part``'s nodes have."""
    if part is None:
        notes = ["no answer from sinfo (not on a cluster?): the resources are not checked"]
        return _defaults(res, DEFAULT_CPUS, DEFAULT_MEM_MB, 1), notes
    fitted = _defaults(
        res, min(DEFAULT_CPUS, part.cpus), min(DEFAULT_MEM_MB, part.mem_mb), int(part.gpus > 0)
    )
    where = (
        f"partition {part.name} (nodes with {part.cpus} CPUs, {part.mem_mb} MB, "
        f"{part.gpus} GPUs, time limit {part.max_minutes or 'none'} min)"
    )
    errors = []
    if (fitted.gpus or 0) > part.gpus:
        errors.append(
            f"GPUS={fitted.gpus}: set GPUS={part.gpus}" + " (a CPU job)" * (not part.gpus)
        )
    if (fitted.cpus or 0) > part.cpus:
        errors.append(f"CPUS={fitted.cpus}: set CPUS={part.cpus} or fewer")
    if megabytes(fitted.mem or "0") > part.mem_mb:
        errors.append(f"MEM={fitted.mem}: set MEM={part.mem_mb}M or less")
    asked = minutes(fitted.time) if fitted.time else None
    if asked and part.max_minutes and asked > part.max_minutes:
        errors.append(f"TIME={fitted.time}: set TIME={part.max_minutes} (minutes) or less")
    if errors:
        raise ClusterError(f"{where} cannot give what the tasks ask for: " + "; ".join(errors))
    notes = []
    if res.gpus is None and not fitted.gpus:
        notes.append(f"{where}: no GPUs there, so a CPU job (GPUS=0)")
    return fitted, notes


def _defaults(res: Resources, cpus: int, mem_mb: int, gpus: int) -> Resources:
    mem = f"{mem_mb // 1024}G" if mem_mb % 1024 == 0 else f"{mem_mb}M"
    return replace(
        res,
        gpus=gpus if res.gpus is None else res.gpus,
        cpus=cpus if res.cpus is None else res.cpus,
        mem=mem if res.mem is None else res.mem,
    )
