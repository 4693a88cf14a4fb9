"""The whole command's progress: the runs it trains numbered ``[i/N]`` across all its
questions (N: the runs and seeds ``make plan`` counts as still to do), and after each one
ends, one line with the runs done, the time so far and the time left for the whole command.

The time left is the plan's estimate of the runs still to do, scaled by how long the runs done
took against their estimates (so it holds with ``JOBS=2``, where runs overlap); without
estimates, the mean time of a run so far.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from coursework.engine import events
from coursework.engine.estimate import Item, Plans
from coursework.engine.job import Job
from coursework.engine.seeded import duration


@dataclass
class Progress:
    """The runs a command trains (``left``: each run folder with its estimated seconds, None
    where unknown) and those done."""

    left: dict[Path, float | None]
    total: int
    estimated: bool = True  # every run has an estimate
    todo: frozenset[Path] = frozenset()  # the run folders to train, done or not
    done: int = 0
    done_estimate: float = 0.0  # the estimated seconds of the runs done, where all known
    started: float = field(default_factory=lambda: time.monotonic())

    @classmethod
    def of(cls, plan: list[Item], force: bool) -> Progress:
        """The progress of ``plan`` (``estimate.announce``'s): its runs and seeds not complete
        (all of them with ``force``), never the studies."""
        todo = [i for i in plan if not i.study and (force or not i.complete)]
        left = {i.job.out: i.seconds if force else i.seconds_left for i in todo}
        return cls(left, len(left), all(v is not None for v in left.values()), frozenset(left))

    def numbered(self, plans: Plans) -> Plans:
        """``plans`` with the runs to do numbered across the command, ``[1/N]`` to ``[N/N]``
        (a complete run keeps its place: it is skipped when it comes)."""
        order = {out: i for i, out in enumerate(self.left, 1)}

        def number(job: Job) -> Job:
            return replace(job, number=order.get(job.out, 0), total=self.total)

        return [(spec, [number(job) for job in jobs]) for spec, jobs in plans]

    def finished(self, job: Job) -> None:
        """Say where the command stands once ``job`` has ended (trained, failed, or skipped
        because another process trains it)."""
        if job.out not in self.left:
            return
        estimate = self.left.pop(job.out)
        self.done += 1
        self.done_estimate += estimate or 0.0
        if self.total < 2:
            return
        elapsed = time.monotonic() - self.started
        text = f"== {self.done}/{self.total} runs done, {duration(elapsed)} so far"
        if self.left:
            text += f", about {duration(self.seconds_left(elapsed))} left"
        events.say(text)

    def seconds_left(self, elapsed: float) -> float:
        """The time the runs left will take, from the time those done took."""
        if self.estimated and self.done_estimate > 0:
            return sum(e or 0.0 for e in self.left.values()) * elapsed / self.done_estimate
        return elapsed / self.done * len(self.left)
