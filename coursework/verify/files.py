"""The files of a results set against their manifest, and each ``run.json`` against what
holds it to account: ``summary.csv``, its ``history.csv`` and its question's recorded spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from coursework.analysis import manifest
from coursework.analysis.checks import InScope, Row
from coursework.records import layout, results, spec, storage
from coursework.records.errors import ResultsError, SpecError
from coursework.records.layout import ResultsSet
from coursework.records.record import Status
from coursework.records.results import SUMMARY_COLUMNS
from coursework.verify.verdicts import NONE, Verdict, absent, whole


def check_files(
    rs: ResultsSet,
    in_scope: InScope,
    left_out: tuple[str, ...] = (),
) -> list[Row]:
    """Files against the manifest: same hash, none missing, none unlisted. Files whose names
    end with ``left_out`` may be missing (a submission leaves the weights out): one row
    counts them."""
    try:
        man = manifest.read(rs)
    except ResultsError as exc:
        return [whole("manifest", manifest.NAME, "readable", str(exc), Verdict.MISSING)]
    base = rs.dir()
    listed = {rel: meta for rel, meta in man.get("files", {}).items() if in_scope(rel)}
    present = {rel for rel in manifest.listed(rs) if in_scope(rel)}
    rows: list[Row] = []
    missing_runs: set[tuple[str, str]] = set()
    absent_files = 0
    for rel, meta in sorted(listed.items()):
        path = base / rel
        if not path.exists() and left_out and rel.endswith(left_out) and path.parent.exists():
            absent_files += 1
            continue
        rows += _check_file(rs, rel, meta["sha256"], missing_runs)
    for rel in sorted(present - set(listed)):
        run, seed = layout.run_of(rel)
        rows.append(
            Row(run, seed, "file listed", rel, "in manifest", "not listed", Verdict.UNLISTED)
        )
    if absent_files:
        rows.append(
            whole(
                "files left out",
                " ".join(f"*{s}" for s in left_out),
                "not handed in (weights)",
                f"{absent_files} files",
            )
        )
    return rows


def _check_file(
    rs: ResultsSet,
    rel: str,
    sha256: str,
    missing_runs: set[tuple[str, str]],
) -> list[Row]:
    """One listed file against its recorded ``sha256``; a run folder gone is one row, the
    first time (``missing_runs``: those already reported)."""
    run, seed = layout.run_of(rel)
    path = rs.dir() / rel
    if path.exists():
        got = manifest.sha256(path)
        verdict = Verdict.OK if got == sha256 else Verdict.EDITED
        return [Row(run, seed, "file sha256", rel, sha256[:12], got[:12], verdict)]
    if run == NONE or path.parent.exists():
        return [absent("file", rel, sha256[:12], run, seed)]
    if (run, seed) in missing_runs:
        return []
    missing_runs.add((run, seed))
    folder = rs.relative(path.parent)
    return [absent("missing run", folder, "run folder", run, seed)]


def check_configs(rs: ResultsSet, in_scope: InScope) -> list[Row]:
    """Each ``run.json``'s config against the config the question's recorded spec gives that
    run (the dataset aside where the set was trained on another one, ``--dataset``)."""
    rows: list[Row] = []
    configs: dict[str, dict[str, Any] | None] = {}
    for path in rs.record_paths():
        rel = rs.relative(path)
        if not in_scope(rel):
            continue
        rec = storage.read_record(path)
        q, run, seed = rec.question, f"{rec.question}/{rec.run}", str(rec.seed)
        if q not in configs:
            configs[q] = _spec_configs(rs, q)
        want = (configs[q] or {}).get(rec.run)
        if want is None:
            continue
        got = rec.config.to_dict()
        keys = sorted((set(want) | set(got)) - ({"dataset"} if "@" in rs.name else set()))
        text = {
            k: (json.dumps(want.get(k), sort_keys=True), json.dumps(got.get(k), sort_keys=True))
            for k in keys
        }
        bad = [k for k in keys if text[k][0] != text[k][1]]
        rows += [
            Row(run, seed, f"run.json config: {k}", rel, text[k][0], text[k][1], Verdict.MISMATCH)
            for k in bad
        ] or [Row(run, seed, f"run.json config = {layout.SPEC}", rel)]
    return rows


def _spec_configs(rs: ResultsSet, question: str) -> dict[str, Any] | None:
    """Run name -> the config the question's trained spec gives it (tuned as it was
    trained); None where the spec is not there or has no such profile."""
    s = spec.trained_spec(rs, question)
    if s is None or rs.profile not in s.profiles:
        return None
    return {r.name: _tuned(rs, r).config.to_dict() for r in s.resolve(rs.name)}


def _tuned(rs: ResultsSet, run: spec.Run) -> spec.Run:
    """A tuned run with the parameters its study chose (as it was trained)."""
    try:
        return spec.with_best_params(rs, run)
    except SpecError:
        return run


def check_summary(rs: ResultsSet, in_scope: InScope) -> list[Row]:
    """``summary.csv`` against the ``run.json`` files, row by row and field by field."""
    path = rs.aggregate(layout.SUMMARY)
    if not path.exists():
        return [absent("summary", layout.SUMMARY)]
    got = {(r["question"], r["run"], r["seed"]): r for r in storage.read_csv(path)}
    want = {(r["question"], r["run"], str(r["seed"])): r for r in results.summary_rows(rs)}
    rows: list[Row] = []
    for key in sorted(set(got) | set(want)):
        q, run, seed = key
        if not in_scope(f"{q}/{run}/seed-{seed}/{layout.RECORD}"):
            continue
        label = f"{q}/{run}"
        if key not in want:
            record = f"{q}/{run}/seed-{seed}/run.json"
            rows.append(
                absent("missing run", record, "run.json (summary.csv has a row)", label, seed)
            )
        elif key not in got:
            rows.append(absent("summary row", layout.SUMMARY, "a row", label, seed))
        else:
            rows += _summary_row(label, seed, want[key], got[key])
    return rows


def _summary_row(label: str, seed: str, want: dict[str, Any], got: dict[str, str]) -> list[Row]:
    """One row of ``summary.csv`` (``got``) against its ``run.json`` (``want``)."""
    bad = [
        (c, storage.fmt(want[c]), got.get(c))
        for c in SUMMARY_COLUMNS
        if storage.fmt(want[c]) != got.get(c)
    ]
    check = layout.SUMMARY
    return [
        Row(label, seed, f"{check} {col}", check, expected, str(value), Verdict.MISMATCH)
        for col, expected, value in bad
    ] or [Row(label, seed, f"{check} = {layout.RECORD}", check)]


def check_histories(rs: ResultsSet, in_scope: InScope) -> list[Row]:
    """Each complete ``run.json`` against its ``history.csv``."""
    rows: list[Row] = []
    for path in [
        *rs.record_paths(),
        *rs.trial_paths(),
    ]:
        rel = rs.relative(path)
        run, seed = layout.run_of(rel)
        if not in_scope(rel):
            continue
        rec = storage.read_record(path)
        if rec.trial is not None:
            run, seed = f"{rec.question}/{rec.run}", f"trial {rec.trial.number}"
        hist_path = path.parent / layout.HISTORY
        file = rs.relative(hist_path)
        if not hist_path.exists():
            rows.append(absent("history", file, "present", run, seed))
            continue
        if rec.status not in (Status.COMPLETE, Status.PRUNED):
            continue
        rows += _history_rows(run, seed, file, rec.metrics, hist_path)
    return rows


def _history_rows(
    run: str,
    seed: str,
    file: str,
    metrics: dict[str, Any],
    hist_path: Path,
) -> list[Row]:
    """A record's ``metrics`` against the ``history.csv`` at ``hist_path``."""
    val = results.column(storage.read_csv(hist_path), "val_accuracy")
    best = results.best_epoch(val)  # as the runner picks it
    checks = [
        ("epochs_run", metrics.get("epochs_run"), len(val)),
        ("best_epoch", metrics.get("best_epoch"), None if best is None else best + 1),
        (
            "best_val_accuracy",
            metrics.get("best_val_accuracy"),
            None if best is None else val[best],
        ),
    ]
    return [
        Row(
            run,
            seed,
            f"run.json {key} vs history",
            file,
            storage.fmt(expected),
            storage.fmt(value),
            Verdict.MISMATCH,
        )
        for key, expected, value in checks
        if storage.fmt(expected) != storage.fmt(value)
    ] or [Row(run, seed, "run.json = history.csv", file)]
