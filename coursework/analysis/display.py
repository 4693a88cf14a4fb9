"""Numbers as the paper prints them: accuracies in % at the decimals a question supports,
settings in plain notation (one notation per quantity), parameter counts, p-values and the
keys of ``\\result`` macros."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from coursework.records import results


def pct(x: float, digits: int = 2) -> str:
    """An accuracy (a fraction) in %, with ``digits`` decimals."""
    return f"{100 * x:.{digits}f}"


def mean_sd(values: np.ndarray, digits: int = 2) -> str:
    """Mean ± sample standard deviation over seeds in %, the mean alone for one seed."""
    if len(values) > 1:
        return f"{100 * values.mean():.{digits}f} ± {100 * values.std(ddof=1):.{digits}f}"
    return f"{100 * values.mean():.{digits}f}"


def decimals(n_test: int, sds: list[float]) -> int:
    """Decimals of a question's accuracies in %: no more than its test set resolves (one
    image is 100/n %: 500 images, 0.2 %, one decimal) and than the spread over seeds
    supports (the smallest standard deviation, in %, to two significant digits), at most
    two; one for every accuracy of the question, so that a column has one."""
    res = max(0, math.ceil(-math.log10(100 / max(n_test, 1)) - 1e-9))
    spread = [sd for sd in sds if sd > 0]
    by_sd = max(0, 1 - math.floor(math.log10(min(spread)))) if spread else res
    return min(2, res, by_sd)


def dataset_label(name: str) -> str:
    """A dataset as the paper names it: a named one as it is, one of files by its kind and
    file or folder name (``npz:/home/me/data/bees.npz`` -> ``npz:bees.npz``): a path would
    run out of the column."""
    kind, sep, rest = name.partition(":")
    return f"{kind}:{Path(rest.rstrip('/')).name}" if sep and "/" in rest else name


def run_decimals(runs: dict[str, list[results.SeedResult]]) -> int:
    """:func:`decimals` for a question's runs (run -> its seeds): what its tables, macros and
    the comparison figure print."""
    first = next(iter(runs.values()))[0].record
    n_test: int = first.dataset.get("sizes", {}).get("test", 10_000)  # a record's
    return decimals(
        n_test,
        [float(100 * results.test_accuracies(x).std(ddof=1)) for x in runs.values() if len(x) > 1],
    )


FIXED_DOWN_TO = 1e-4  # a setting this small still reads in fixed notation: 0.00022


def scientific(values: Iterable[object]) -> bool:
    """Whether a quantity's values are written in scientific notation: all of them when one
    is below :data:`FIXED_DOWN_TO` (or 10,000 and more, not a whole number), so that one
    quantity never shows in two notations (``λ = 0.017`` beside ``λ = 1.7e-3``)."""
    return any(
        isinstance(x, int | float)
        and not isinstance(x, bool)
        and x != 0
        and not float(x).is_integer()
        and not FIXED_DOWN_TO <= abs(x) < 1e4
        for x in values
    )


def plain(x: object, digits: int = 2, sci: bool | None = None) -> str:
    """A setting as a paper writes it, to ``digits`` significant digits: ``0.09111`` ->
    ``0.091``, ``0.00221`` -> ``0.0022``, ``60`` -> ``60``; in scientific notation
    (``2.2e-3``) where ``sci`` says so (default: :func:`scientific` of this value alone); a
    whole number and text as they are."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if float(x).is_integer():
        return f"{int(x):,}" if abs(x) >= 10_000 else str(int(x))
    if not (scientific([x]) if sci is None else sci):
        places = max(0, digits - 1 - math.floor(math.log10(abs(x))))
        return f"{x:.{places}f}".rstrip("0").rstrip(".")
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def params_text(n: int) -> str:
    """A parameter count for the body: ``7,850``, ``25.0k``, ``1.23M`` (three significant
    digits once it has five; the appendix has the exact count)."""
    if n < 10_000:
        return f"{n:,}"
    return f"{n / 1000:.3g}k" if n < 1_000_000 else f"{n / 1e6:.3g}M"


def macro_key(text: str) -> str:
    """A safe key for ``\\result{key}{field}``: letters, digits, '-', '.', '/' only."""
    return re.sub(r"[^A-Za-z0-9./-]", "", text)


def p_text(p: str) -> str:
    """A ``stats.csv`` p-value as the tables print it (``-`` where there was no test)."""
    if p == "":
        return "-"
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"
