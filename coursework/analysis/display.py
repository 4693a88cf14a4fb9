"""Numbers as the paper prints them: accuracies in % at the decimals a question supports,
settings in plain notation, parameter counts, p-values and the keys of ``\\result`` macros."""

from __future__ import annotations

import math
import re
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
    n_test: int = first.get("dataset", {}).get("sizes", {}).get("test", 10_000)  # a record's
    return decimals(
        n_test,
        [float(100 * results.test_accuracies(x).std(ddof=1)) for x in runs.values() if len(x) > 1],
    )


def plain(x: object, digits: int = 2) -> str:
    """A setting as a paper writes it: ``0.09111`` -> ``0.091``, ``0.00221`` -> ``2.2e-3``,
    ``60`` -> ``60``; text as it is."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if float(x).is_integer():
        return f"{int(x):,}" if abs(x) >= 10_000 else str(int(x))
    if 1e-2 <= abs(x) < 1e4:
        return f"{x:.{digits}g}"
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
