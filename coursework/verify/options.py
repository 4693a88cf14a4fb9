"""What a marker chooses for a marking (``make mark``'s options), and the sizes it never reads
past."""

from __future__ import annotations

from dataclasses import dataclass

from coursework.verify import archive

MAX_JSON_BYTES = 16 << 20  # a run.json is a few kB; numbers.json, MANIFEST.json below 1 MB
MAX_CSV_BYTES = 64 << 20  # a history.csv is an epoch a line
RERUN_TIMEOUT = 3600, 20  # seconds: at least the first, else the second times the recorded


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
    """

    sample: int = 2
    tolerance: float = 0.005
    page_limit: int = 6
    max_bytes: int = archive.MAX_BYTES
    max_files: int = archive.MAX_FILES
    unsafe: bool = False
