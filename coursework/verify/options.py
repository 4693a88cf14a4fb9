"""What a marker chooses for a marking (``make mark``'s options), and the sizes it never reads
past."""

from __future__ import annotations

import math
from dataclasses import dataclass

from coursework.verify import archive
from coursework.verify.bounded import GiB, Limits

MAX_JSON_BYTES = 16 << 20  # a run.json is a few kB; numbers.json, MANIFEST.json below 1 MB
MAX_CSV_BYTES = 64 << 20  # a history.csv is an epoch a line
INSPECT_OUTPUT = 48 << 20  # bytes of the inspection's answer: its rows and results page
# a re-run's time limit: MARGIN times the images it trains at SPEED images/s (a floor for a
# CPU: make plan measures this machine at 400 to 20,000), at least MIN_SECONDS
RERUN_SPEED, RERUN_MARGIN, RERUN_MIN_SECONDS = 200.0, 3.0, 600.0


@dataclass(frozen=True)
class Options:
    """A marking's options, kept on each sheet: a zip marked again with the same options is
    skipped.

    Args:
        sample: runs re-trained per submission (0: none).
        tolerance: how far a re-run's accuracies may differ on other hardware or versions.
        page_limit: the course's limit on the report's body pages.
        max_bytes: the most an archive may unpack to.
        max_files: the most files an archive may hold.
        unsafe: run a submission's code without a sandbox where bwrap cannot.
        target: instead of ``sample``, ``quoted`` (every run and seed the prose quotes) or
            ``P%`` (enough of them that one faked quoted run is re-trained with chance P).
        memory: bytes one command of a submission may use (its whole process tree).
        tasks: its processes and threads at once.
        disk: bytes its work folder may hold.
        inspect_seconds: the time to read a submission's files and compile its report.
        rerun_speed: images/s this machine trains at least (a re-run's time limit).
        rerun_min_seconds: the shortest time limit of a re-run.
        handed_in_engine: re-train with the submission's own ``coursework/`` (never by
            default: the marker's engine trains, with the handed-in models and experiments).
        slurm: send the re-runs as tasks of a Slurm array job (:mod:`.cohort`) instead of
            training them here; not part of what makes two markings the same.
    """

    sample: int = 2
    tolerance: float = 0.005
    page_limit: int = 6
    max_bytes: int = archive.MAX_BYTES
    max_files: int = archive.MAX_FILES
    unsafe: bool = False
    target: str = ""
    memory: int = 4 * GiB
    tasks: int = 512
    disk: int = 2 * GiB
    inspect_seconds: float = 300.0
    rerun_speed: float = RERUN_SPEED
    rerun_min_seconds: float = RERUN_MIN_SECONDS
    handed_in_engine: bool = False
    slurm: bool = False

    def limits(self) -> Limits:
        """The limits of one command of a submission (its time: the inspection's)."""
        return Limits(self.inspect_seconds, self.memory, self.tasks, self.disk)

    def rerun_seconds(self, images: int) -> float:
        """A re-run's time limit: the marker's estimate for ``images`` with a margin."""
        return max(self.rerun_min_seconds, RERUN_MARGIN * images / self.rerun_speed)

    def reruns(self, quoted: int) -> int:
        """How many runs to re-train where the prose quotes ``quoted`` runs and seeds."""
        if not self.target:
            return self.sample
        if self.target == "quoted":
            return max(quoted, 1)
        share = float(self.target.rstrip("%")) / 100
        return max(math.ceil(share * quoted - 1e-9), 1)


def parse_sample(text: str) -> tuple[int, str]:
    """``--sample``: a count (``2``), ``quoted`` or a chance (``90%``); (count, target).

    Raises:
        ValueError: none of these.
    """
    text = text.strip()
    if text == "quoted":
        return 0, text
    if text.endswith("%"):
        share = float(text[:-1])
        if not 0 < share <= 100:
            raise ValueError(f"{text}: a chance between 0 and 100%")
        return 0, text
    count = int(text)
    if count < 0:
        raise ValueError(f"{text}: 0 or more runs")
    return count, ""
