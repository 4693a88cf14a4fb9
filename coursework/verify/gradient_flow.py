"""A re-run's ``gradients.csv`` (the gradient flow, :mod:`coursework.engine.gradients`)
against the submitted one: what ``make verify`` and ``make mark`` check of it.

Where the re-run repeats the submitted history byte for byte (the same hardware and versions,
with determinism), its gradient flow must repeat byte for byte too, and the first value that
differs is named: the epoch, the layer and weight, the column, the submitted value and the
re-run's. Elsewhere a trained network's gradients follow its weights wherever they wander, so
only the start is compared: the statistics at initialisation (epoch 0), which depend on the
seed and the network alone, within :data:`RELATIVE`. A run trained before the template recorded
gradient flow has no file and is not checked. Every file is read as the marker reads a
submission's: a regular file (never through a link), at most ``MAX_CSV_BYTES``.
"""

from __future__ import annotations

from pathlib import Path

from coursework.analysis.checks import Row
from coursework.records import layout, storage
from coursework.records.errors import ResultsError
from coursework.records.results import GRADIENT_COLUMNS
from coursework.verify.options import MAX_CSV_BYTES
from coursework.verify.verdicts import Verdict, passed

RELATIVE = 0.01  # other hardware or versions: each statistic at initialisation within 1%
STATISTICS = GRADIENT_COLUMNS[4:]


def read(path: Path) -> list[dict[str, str]] | None:
    """The rows of the ``gradients.csv`` at ``path``; None where there is none.

    Raises:
        ResultsError: naming the file: a link, not a regular file, over ``MAX_CSV_BYTES``.
    """
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ResultsError(f"{path.name}: not a regular file")
    if not path.exists():
        return None
    if path.stat().st_size > MAX_CSV_BYTES:
        raise ResultsError(f"{path.name}: over {MAX_CSV_BYTES:,} bytes")
    return storage.read_csv(path)


def first_difference(want: list[dict[str, str]], got: list[dict[str, str]]) -> str | None:
    """Where the re-run's rows ``got`` first differ from the submitted ``want``, named; None
    where they are the same."""
    for a, b in zip(want, got, strict=False):
        for c in GRADIENT_COLUMNS:
            if a.get(c) != b.get(c):
                return (
                    f"epoch {b.get('epoch')} {b.get('layer')}/{b.get('weight')} {c}: "
                    f"{b.get(c)} (submitted {a.get(c)})"
                )
    if len(want) != len(got):
        return f"{len(got)} rows, submitted {len(want)}"
    return None


def at_start(want: list[dict[str, str]], got: list[dict[str, str]]) -> str | None:
    """Where the statistics at initialisation differ by more than :data:`RELATIVE`; None
    where they agree."""
    first = [[r for r in rows if r.get("epoch") == "0"] for rows in (want, got)]
    if not first[0] or [(r["layer"], r["weight"]) for r in first[0]] != [
        (r.get("layer"), r.get("weight")) for r in first[1]
    ]:
        return f"epoch 0: {len(first[1])} weight tensors, submitted {len(first[0])}"
    for a, b in zip(*first, strict=True):
        for c in STATISTICS:
            x, y = float(a[c]), float(b[c])
            if abs(x - y) > RELATIVE * max(abs(x), abs(y)):
                return f"epoch 0 {b['layer']}/{b['weight']} {c}: {b[c]} (submitted {a[c]})"
    return None


def rows(hist: Path, new_hist: Path, where: tuple[str, str, str, str], exact: bool) -> list[Row]:
    """The rows comparing the ``gradients.csv`` beside the re-run's history ``new_hist`` with
    the one beside the submitted ``hist``.

    Args:
        hist: the submitted ``history.csv`` (its folder holds the submitted gradient flow).
        new_hist: the re-run's.
        where: (run, seed, the submitted history's file as rows name it, backend).
        exact: the re-run must repeat the submitted files byte for byte.
    """
    run_id, seed, rel, name = where
    file = rel.removesuffix(layout.HISTORY) + layout.GRADIENTS
    try:
        want = read(hist.parent / layout.GRADIENTS)
        got = read(new_hist.parent / layout.GRADIENTS)
    except ResultsError as exc:
        check = "gradients.csv readable"
        return [Row(run_id, seed, check, file, "a gradients.csv", str(exc), Verdict.MISMATCH)]
    if want is None:
        return []  # trained before gradient flow was recorded
    if got is None:
        check = f"re-run gradients.csv ({name})"
        return [Row(run_id, seed, check, file, "written", "none", Verdict.MISMATCH)]
    diff = first_difference(want, got)
    if exact or diff is None:
        check = f"re-run gradients.csv: byte-identical ({name})"
        return [Row(run_id, seed, check, file, "identical", diff or "identical", passed(not diff))]
    diff = at_start(want, got)
    check = (
        f"re-run gradients.csv at initialisation within {RELATIVE:.0%} "
        f"({name}, other hardware or versions)"
    )
    return [Row(run_id, seed, check, file, "within", diff or "within", passed(diff is None))]
