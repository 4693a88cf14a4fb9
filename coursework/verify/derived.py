"""What is drawn or computed from the runs, against a recomputation: ``stats.csv``,
``ensembles.csv`` and the figures (``figures/provenance.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coursework.analysis import ensemble, stats
from coursework.analysis.checks import InScope, Row
from coursework.records import layout, storage
from coursework.records.layout import ResultsSet
from coursework.verify.verdicts import ABSENT, NONE, Verdict, absent, whole


def compare_csv(
    name: str,
    path: Path,
    columns: list[str],
    want: list[dict[str, Any]],
    in_scope: InScope,
) -> list[Row]:
    """A ``question,run,...`` CSV against its recomputed rows, cell by cell."""
    if not path.exists():
        return [absent(name, path.name)]
    got = {(r["question"], r["run"]): r for r in storage.read_csv(path)}
    expected = {(storage.fmt(r["question"]), storage.fmt(r["run"])): r for r in want}
    rows: list[Row] = []
    for key in sorted(set(got) | set(expected)):
        if not in_scope(f"{key[0]}/"):
            continue
        label = "/".join(key)
        if key not in got or key not in expected:
            mine = key in expected
            rows.append(
                Row(
                    label,
                    NONE,
                    f"{name} row",
                    path.name,
                    "a row" if mine else "no row",
                    ABSENT if mine else "extra row",
                    Verdict.MISMATCH,
                )
            )
            continue
        bad = [c for c in columns if storage.fmt(expected[key][c]) != got[key].get(c)]
        rows += [
            Row(
                label,
                NONE,
                f"{name} {col}",
                path.name,
                storage.fmt(expected[key][col]),
                got[key].get(col, ""),
                Verdict.MISMATCH,
            )
            for col in bad
        ] or [Row(label, NONE, f"{name} recomputed", path.name)]
    return rows


def check_aggregates(rs: ResultsSet, in_scope: InScope) -> list[Row]:
    """``stats.csv`` and ``ensembles.csv`` against their recomputation from the runs."""
    return compare_csv(
        layout.STATS,
        rs.aggregate(layout.STATS),
        stats.COLUMNS,
        stats.stats_rows(rs),
        in_scope,
    ) + compare_csv(
        layout.ENSEMBLES,
        rs.aggregate(layout.ENSEMBLES),
        ensemble.COLUMNS,
        ensemble.ensemble_rows(rs),
        in_scope,
    )


def check_figures(rs: ResultsSet, question: str | None) -> list[Row]:
    """Every figure is the file drawn from these results (``figures/provenance.json``): an
    older figure put back, an edited one, or one drawn from other results fails, by name."""
    from coursework.report.plots import stale_figures

    check = "figure: drawn from these results"
    rows = [
        whole(check, rel, "as recorded", why, Verdict.STALE)
        for rel, why in stale_figures(rs)
        if question is None or rel.split("/")[-1].startswith(f"{question}-")
    ]
    if not rows and rs.figure_files():
        rows.append(whole(check, "figures/"))
    return rows
