"""``make verify``: do the submitted results hold together, and do they reproduce?

Integrity (seconds), from the results folder and its recorded specs alone (no Keras):

- every file matches its sha256 in ``MANIFEST.json``, and no file is missing or unlisted;
- every row of ``summary.csv`` matches its ``run.json``, and every ``run.json`` matches its
  ``history.csv`` (epochs, best epoch, best validation accuracy);
- every ``run.json``'s config is the one its question's recorded spec gives the run;
- every run the recorded spec asks for is there;
- ``stats.csv`` and ``ensembles.csv`` match a recomputation from the runs;
- every figure is the one drawn from these results (``figures/provenance.json``: the digest of
  the files it was drawn from, and its own sha256);
- every number of the report (``report/numbers.json``) matches a recomputation, and every
  number in ``report/numbers.tex`` and ``report/<question>.tex`` is the one recorded there
  (:mod:`coursework.verify.numbers`).

``make verify`` may run while runs train: a run in progress (its ``backup/``, see
:func:`coursework.records.results.in_progress`) is a note saying so, with the epochs it has
trained, instead of failures of its files, which are checked once it has completed; the complete
runs are checked as ever, and a run in progress is never re-trained.

Re-run (minutes): :mod:`coursework.verify.rerun`. Every check is a row of
``results/<set>/verification.csv`` (:mod:`coursework.analysis.checks`).
"""

from __future__ import annotations

import json
from pathlib import Path

from coursework.analysis import ensemble, manifest, stats
from coursework.analysis.checks import COLUMNS, InScope, Row
from coursework.records import results, spec
from coursework.records.errors import ResultsError, SpecError
from coursework.records.results import SUMMARY_COLUMNS
from coursework.runtime import env
from coursework.verify import rerun
from coursework.verify.numbers import check_report

# --------------------------------------------------------------------------- files and records


def check_files(
    results_dir: Path, results_set: str, in_scope: InScope, left_out: tuple[str, ...] = ()
) -> list[Row]:
    """Files against the manifest: same hash, none missing, none unlisted. Files whose names
    end with ``left_out`` may be missing (a submission leaves the weights out): one row
    counts them."""
    try:
        man = manifest.read(results_dir, results_set)
    except ResultsError as exc:
        return [Row("-", "-", "manifest", manifest.NAME, "readable", str(exc), "MISSING")]
    base = results.set_dir(results_dir, results_set)
    listed = {rel: meta for rel, meta in man.get("files", {}).items() if in_scope(rel)}
    present = {rel for rel in manifest.listed(results_dir, results_set) if in_scope(rel)}
    rows, missing_runs, absent = [], set(), 0
    for rel, meta in sorted(listed.items()):
        run, seed = results.run_of(rel)
        path = base / rel
        if not path.exists() and left_out and rel.endswith(left_out) and path.parent.exists():
            absent += 1
            continue
        if not path.exists():
            if run != "-" and not path.parent.exists():
                if (run, seed) not in missing_runs:
                    missing_runs.add((run, seed))
                    rows.append(
                        Row(
                            run,
                            seed,
                            "missing run",
                            results.relative(path.parent, results_dir, results_set),
                            "run folder",
                            "missing",
                            "MISSING",
                        )
                    )
                continue
            rows.append(Row(run, seed, "file", rel, meta["sha256"][:12], "missing", "MISSING"))
            continue
        got = manifest.sha256(path)
        rows.append(
            Row(
                run,
                seed,
                "file sha256",
                rel,
                meta["sha256"][:12],
                got[:12],
                "ok" if got == meta["sha256"] else "EDITED",
            )
        )
    for rel in sorted(present - set(listed)):
        run, seed = results.run_of(rel)
        rows.append(Row(run, seed, "file listed", rel, "in manifest", "not listed", "UNLISTED"))
    if absent:
        rows.append(
            Row(
                "-",
                "-",
                "files left out",
                " ".join(f"*{s}" for s in left_out),
                "not handed in (weights)",
                f"{absent} files",
            )
        )
    return rows


def check_configs(results_dir: Path, results_set: str, in_scope: InScope) -> list[Row]:
    """Each ``run.json``'s config against the config the question's recorded spec gives that
    run (the dataset aside where the set was trained on another one, ``--dataset``)."""
    rows: list[Row] = []
    configs: dict[str, dict | None] = {}
    for path in results.record_paths(results_dir, results_set):
        rel = results.relative(path, results_dir, results_set)
        if not in_scope(rel):
            continue
        rec = results.read_json(path)
        q, run, seed = rec["question"], f"{rec['question']}/{rec['run']}", str(rec["seed"])
        if q not in configs:
            s = spec.trained_spec(results_dir, results_set, q)
            configs[q] = (
                {r.name: _tuned(results_dir, results_set, r).config for r in s.resolve(results_set)}
                if s is not None and results.profile_of(results_set) in s.profiles
                else None
            )
        want = (configs[q] or {}).get(rec["run"])
        if want is None:
            continue
        got = rec.get("config", {})
        keys = sorted((set(want) | set(got)) - ({"dataset"} if "@" in results_set else set()))
        text = {
            k: (json.dumps(want.get(k), sort_keys=True), json.dumps(got.get(k), sort_keys=True))
            for k in keys
        }
        bad = [k for k in keys if text[k][0] != text[k][1]]
        rows += [
            Row(run, seed, f"run.json config: {k}", rel, text[k][0], text[k][1], "MISMATCH")
            for k in bad
        ] or [Row(run, seed, f"run.json config = {results.SPEC}", rel)]
    return rows


def check_summary(results_dir: Path, results_set: str, in_scope: InScope) -> list[Row]:
    """``summary.csv`` against the ``run.json`` files, row by row and field by field."""
    path = results.aggregate(results_dir, results_set, results.SUMMARY)
    if not path.exists():
        return [Row("-", "-", "summary", results.SUMMARY, "present", "missing", "MISSING")]
    got = {(r["question"], r["run"], r["seed"]): r for r in results.read_csv(path)}
    want = {
        (r["question"], r["run"], str(r["seed"])): r
        for r in results.summary_rows(results_dir, results_set)
    }
    rows = []
    for key in sorted(set(got) | set(want)):
        q, run, seed = key
        if not in_scope(f"{q}/{run}/seed-{seed}/{results.RECORD}"):
            continue
        if key not in want:
            rows.append(
                Row(
                    f"{q}/{run}",
                    seed,
                    "missing run",
                    f"{q}/{run}/seed-{seed}/run.json",
                    "run.json (summary.csv has a row)",
                    "missing",
                    "MISSING",
                )
            )
            continue
        if key not in got:
            rows.append(
                Row(
                    f"{q}/{run}",
                    seed,
                    "summary row",
                    results.SUMMARY,
                    "a row",
                    "missing",
                    "MISSING",
                )
            )
            continue
        bad = [
            (c, results.fmt(want[key][c]), got[key].get(c))
            for c in SUMMARY_COLUMNS
            if results.fmt(want[key][c]) != got[key].get(c)
        ]
        for col, expected, value in bad:
            rows.append(
                Row(
                    f"{q}/{run}",
                    seed,
                    f"{results.SUMMARY} {col}",
                    results.SUMMARY,
                    expected,
                    str(value),
                    "MISMATCH",
                )
            )
        if not bad:
            rows.append(
                Row(f"{q}/{run}", seed, f"{results.SUMMARY} = {results.RECORD}", results.SUMMARY)
            )
    return rows


def check_histories(results_dir: Path, results_set: str, in_scope: InScope) -> list[Row]:
    """Each complete ``run.json`` against its ``history.csv``."""
    rows = []
    for path in [
        *results.record_paths(results_dir, results_set),
        *results.trial_paths(results_dir, results_set),
    ]:
        rel = results.relative(path, results_dir, results_set)
        run, seed = results.run_of(rel)
        if not in_scope(rel):
            continue
        rec = results.read_json(path)
        if "trial" in rec:
            run, seed = f"{rec['question']}/{rec['run']}", f"trial {rec['trial']['number']}"
        hist_path = path.parent / results.HISTORY
        file = results.relative(hist_path, results_dir, results_set)
        if not hist_path.exists():
            rows.append(Row(run, seed, "history", file, "present", "missing", "MISSING"))
            continue
        if rec["status"] not in ("complete", "pruned"):
            continue
        val = results.column(results.read_csv(hist_path), "val_accuracy")
        m = rec["metrics"]
        best = results.best_epoch(val)  # as the runner picks it
        checks = [
            ("epochs_run", m.get("epochs_run"), len(val)),
            ("best_epoch", m.get("best_epoch"), None if best is None else best + 1),
            ("best_val_accuracy", m.get("best_val_accuracy"), None if best is None else val[best]),
        ]
        bad = [(k, a, b) for k, a, b in checks if results.fmt(a) != results.fmt(b)]
        for key, expected, value in bad:
            rows.append(
                Row(
                    run,
                    seed,
                    f"run.json {key} vs history",
                    file,
                    results.fmt(expected),
                    results.fmt(value),
                    "MISMATCH",
                )
            )
        if not bad:
            rows.append(Row(run, seed, "run.json = history.csv", file))
    return rows


def check_expected_runs(results_dir: Path, results_set: str, in_scope: InScope) -> list[Row]:
    """The runs and seeds that the question's trained spec asks for and that have no
    ``run.json``: a note per run (results may hold some of a question's runs: ``run --only``).
    A run folder deleted after the manifest listed it is a failure of :func:`check_files`."""
    rows = []
    for q in results.questions(results_dir, results_set):
        s = spec.trained_spec(results_dir, results_set, q)
        if not in_scope(f"{q}/") or s is None or results.profile_of(results_set) not in s.profiles:
            continue
        for run in s.resolve(results_set):
            records = [
                results.run_dir(results_dir, results_set, q, run.name, seed) / results.RECORD
                for seed in run.seeds
            ]
            seeds = [
                str(seed)
                for seed, path in zip(run.seeds, records, strict=True)
                if not path.exists()  # one in progress has its own note
                and in_scope(results.relative(path, results_dir, results_set))
            ]
            if seeds:
                folder = results.question_dir(results_dir, results_set, q) / run.name
                rows.append(
                    Row(
                        f"{q}/{run.name}",
                        ", ".join(seeds),
                        "not trained",
                        results.relative(folder, results_dir, results_set),
                        f"in {results.SPEC} of {q}",
                        f"no run.json for seed {', '.join(seeds)}",
                        "note",
                    )
                )
    return rows


def check_in_progress(results_dir: Path, results_set: str, in_scope: InScope) -> list[Row]:
    """A note per run in progress (:func:`coursework.records.results.in_progress`: training
    now, or stopped part-way for ``make`` to resume) with the epochs it has trained: its files
    are checked once it completes. A complete run trained again beside itself
    (``.seed-0.next``) stays, and is checked, until the new one has completed."""
    rows: list[Row] = []
    totals: dict[str, dict[str, object]] = {}
    for folder in results.in_progress_dirs(results_dir, results_set):
        rel = results.relative(folder, results_dir, results_set)
        q, name, part = rel.split("/")[:3]
        if not in_scope(f"{q}/"):
            continue
        if q not in totals:
            s = spec.trained_spec(results_dir, results_set, q)
            totals[q] = (
                {r.name: r.config.get("epochs") for r in s.resolve(results_set)}
                if s is not None and results.profile_of(results_set) in s.profiles
                else {}
            )
        try:
            done = len(results.read_csv(folder / results.HISTORY))
        except (OSError, ValueError):
            done = 0
        total = totals[q].get(name)
        epochs = f"{done} of {total} epochs" if total else f"{done} epoch(s)"
        now = "training now, or stopped part-way: `make` resumes it"
        if part == results.TUNE:
            seed = f"trial {folder.name.removeprefix('trial-').lstrip('0') or '0'}"
            got = f"tuning trial: {done} epoch(s) trained ({now}); checked once it completes"
        elif part.startswith("."):  # staging_dir: the complete run stays in place
            seed = part[1:].split(".")[0].removeprefix("seed-")
            got = (
                f"a new run of it: {epochs} trained ({now}); the complete run stays, and "
                "is checked, until the new one completes"
            )
        else:
            seed = part.removeprefix("seed-")
            got = f"{epochs} trained ({now}); its files are checked once it completes"
        rows.append(Row(f"{q}/{name}", seed, "run in progress", rel, "complete", got, "note"))
    return rows


def _tuned(results_dir: Path, results_set: str, run: spec.Run) -> spec.Run:
    """A tuned run with the parameters its study chose (as it was trained)."""
    try:
        return spec.tuned(results_dir, results_set, run)
    except SpecError:
        return run


def compare_csv(
    name: str, path: Path, columns: list[str], want: list[dict], in_scope: InScope
) -> list[Row]:
    """A ``question,run,...`` CSV against its recomputed rows, cell by cell."""
    if not path.exists():
        return [Row("-", "-", name, path.name, "present", "missing", "MISSING")]
    got = {(r["question"], r["run"]): r for r in results.read_csv(path)}
    expected = {(results.fmt(r["question"]), results.fmt(r["run"])): r for r in want}
    rows = []
    for key in sorted(set(got) | set(expected)):
        if not in_scope(f"{key[0]}/"):
            continue
        label = "/".join(key)
        if key not in got or key not in expected:
            rows.append(
                Row(
                    label,
                    "-",
                    f"{name} row",
                    path.name,
                    "a row" if key in expected else "no row",
                    "missing" if key in expected else "extra row",
                    "MISMATCH",
                )
            )
            continue
        bad = [c for c in columns if results.fmt(expected[key][c]) != got[key].get(c)]
        for col in bad:
            rows.append(
                Row(
                    label,
                    "-",
                    f"{name} {col}",
                    path.name,
                    results.fmt(expected[key][col]),
                    got[key].get(col, ""),
                    "MISMATCH",
                )
            )
        if not bad:
            rows.append(Row(label, "-", f"{name} recomputed", path.name))
    return rows


def check_aggregates(results_dir: Path, results_set: str, in_scope: InScope) -> list[Row]:
    return compare_csv(
        results.STATS,
        results.aggregate(results_dir, results_set, results.STATS),
        stats.COLUMNS,
        stats.stats_rows(results_dir, results_set),
        in_scope,
    ) + compare_csv(
        results.ENSEMBLES,
        results.aggregate(results_dir, results_set, results.ENSEMBLES),
        ensemble.COLUMNS,
        ensemble.ensemble_rows(results_dir, results_set),
        in_scope,
    )


def check_figures(results_dir: Path, results_set: str, question: str | None) -> list[Row]:
    """Every figure is the file drawn from these results (``figures/provenance.json``): an
    older figure put back, an edited one, or one drawn from other results fails, by name."""
    from coursework.report.plots import stale_figures

    rows = [
        Row("-", "-", "figure: drawn from these results", rel, "as recorded", why, "STALE")
        for rel, why in stale_figures(results_dir, results_set)
        if question is None or rel.split("/")[-1].startswith(f"{question}-")
    ]
    if not rows and results.figure_files(results_dir, results_set):
        rows.append(Row("-", "-", "figure: drawn from these results", "figures/"))
    return rows


# --------------------------------------------------------------------------- all checks


def integrity(
    results_dir: Path,
    results_set: str,
    question: str | None = None,
    left_out: tuple[str, ...] = (),
    templates: Path | None = None,
    running: bool = False,
) -> list[Row]:
    """Every check that reads files only; ``left_out``: see :func:`check_files`;
    ``templates``: the report templates the report was made from (default: this project's).
    ``running``: the student's own results, where runs may be training now (``make verify``):
    a run in progress is a note (:func:`check_in_progress`) and no check reads its files. Else
    (``make mark``: a submission never holds one, its ``backup/`` is not handed in) its files
    are checked as any."""
    if not results.set_dir(results_dir, results_set).is_dir():
        raise ResultsError(
            f"{results.set_dir(results_dir, results_set)} does not exist: "
            f"nothing to verify (run make quick, or make verify PROFILE=...)"
        )
    training = (
        tuple(
            f"{results.relative(d, results_dir, results_set)}/"
            for d in results.in_progress_dirs(results_dir, results_set)
        )
        if running
        else ()
    )

    def in_scope(rel: str) -> bool:
        """``rel``: a path under the profile folder; question-level items are passed as
        ``q/``. Never a file of a run in progress (``running``)."""
        return (
            question is None or "/" not in rel or rel.split("/")[0] == question
        ) and not rel.startswith(training)

    return [
        *(check_in_progress(results_dir, results_set, in_scope) if running else []),
        *check_files(results_dir, results_set, in_scope, left_out),
        *check_summary(results_dir, results_set, in_scope),
        *check_histories(results_dir, results_set, in_scope),
        *check_configs(results_dir, results_set, in_scope),
        *check_expected_runs(results_dir, results_set, in_scope),
        *check_aggregates(results_dir, results_set, in_scope),
        *check_figures(results_dir, results_set, question),
        *check_report(results_dir, results_set, in_scope, templates),
    ]


def check_lock(results_dir: Path, results_set: str) -> list[Row]:
    """Whether the results were made, and are checked here, with the versions ``locks/`` pins:
    a ``note`` where not (a re-run on other versions may differ in the last digits)."""
    try:
        made = manifest.read(results_dir, results_set).get("lock") or {}
    except ResultsError:
        made = {}
    here = env.lock_state()
    rows = []
    for check, state in (("lock: results made with", made), ("lock: installed here", here)):
        if state.get("file"):
            rows.append(
                Row(
                    "-",
                    "-",
                    check,
                    state["file"],
                    "matches",
                    env.lock_differences(state),
                    "ok" if state.get("matches") else "note",
                )
            )
    return rows


def verify(
    results_dir: Path,
    results_set: str,
    question: str | None = None,
    sample: int | None = None,
    tolerance: float = 0.005,
    do_rerun: bool = True,
) -> list[Row]:
    """All checks of the student's own results (runs may be training now: see
    :func:`integrity`); writes ``verification.csv`` and returns its rows."""
    rows = integrity(results_dir, results_set, question, running=True) + check_lock(
        results_dir, results_set
    )
    if do_rerun:
        jobs = [
            p
            for p in rerun.rerun_jobs(results_dir, results_set, question, sample)
            if not results.in_progress(p.parent)
        ]  # never one in progress
        rows += rerun.rerun(results_dir, results_set, jobs, tolerance)
    results.write_csv(
        results.aggregate(results_dir, results_set, results.VERIFICATION),
        COLUMNS,
        [r.csv() for r in rows],
    )
    return rows
