"""``make verify``: do the submitted results hold together, and do they reproduce?

Integrity (seconds), from the results folder and its recorded specs alone (no Keras):

- every file matches its sha256 in ``MANIFEST.json``, and no file is missing or unlisted;
- every row of ``summary.csv`` matches its ``run.json``, and every ``run.json`` matches its
  ``history.csv`` (epochs, best epoch, best validation accuracy);
- every run the recorded spec asks for is there;
- ``stats.csv`` and ``ensembles.csv`` match a recomputation from the runs;
- every number of the report (``report/numbers.json``) matches a recomputation, and every
  number in ``report/numbers.tex`` and ``report/<question>.tex`` is the one recorded there.

Re-run (minutes): :mod:`coursework.verify.rerun`. Every check is a row of
``results/<profile>/verification.csv`` (:mod:`coursework.analysis.checks`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from coursework.analysis import ensemble, manifest, stats, tables
from coursework.analysis.checks import COLUMNS, Row, short
from coursework.analysis.tables import Facts, QuestionNumbers, TableRow
from coursework.records import results, spec
from coursework.records.errors import ResultsError
from coursework.records.results import SUMMARY_COLUMNS
from coursework.report import render as report
from coursework.runtime import env
from coursework.verify import rerun

InScope = Callable[[str], bool]


# --------------------------------------------------------------------------- files and records


def check_files(results_dir: Path, results_set: str, in_scope: InScope) -> list[Row]:
    """Files against the manifest: same hash, none missing, none unlisted."""
    try:
        man = manifest.read(results_dir, results_set)
    except ResultsError as exc:
        return [Row("-", "-", "manifest", manifest.NAME, "readable", str(exc), "MISSING")]
    base = results.set_dir(results_dir, results_set)
    listed = {rel: meta for rel, meta in man.get("files", {}).items() if in_scope(rel)}
    present = {rel for rel in manifest.listed(results_dir, results_set) if in_scope(rel)}
    rows, missing_runs = [], set()
    for rel, meta in sorted(listed.items()):
        run, seed = results.run_of(rel)
        path = base / rel
        if not path.exists():
            if run != "-" and not path.parent.exists():
                if (run, seed) not in missing_runs:
                    missing_runs.add((run, seed))
                    rows.append(Row(run, seed, "missing run", results.relative(
                        path.parent, results_dir, results_set), "run folder", "missing", "MISSING"))
                continue
            rows.append(Row(run, seed, "file", rel, meta["sha256"][:12], "missing", "MISSING"))
            continue
        got = manifest.sha256(path)
        rows.append(Row(run, seed, "file sha256", rel, meta["sha256"][:12], got[:12],
                        "ok" if got == meta["sha256"] else "EDITED"))
    for rel in sorted(present - set(listed)):
        run, seed = results.run_of(rel)
        rows.append(Row(run, seed, "file listed", rel, "in manifest", "not listed", "UNLISTED"))
    return rows


def check_summary(results_dir: Path, results_set: str, in_scope: InScope) -> list[Row]:
    """``summary.csv`` against the ``run.json`` files, row by row and field by field."""
    path = results.aggregate(results_dir, results_set, results.SUMMARY)
    if not path.exists():
        return [Row("-", "-", "summary", results.SUMMARY, "present", "missing", "MISSING")]
    got = {(r["question"], r["run"], r["seed"]): r for r in results.read_csv(path)}
    want = {(r["question"], r["run"], str(r["seed"])): r
            for r in results.summary_rows(results_dir, results_set)}
    rows = []
    for key in sorted(set(got) | set(want)):
        q, run, seed = key
        if not in_scope(f"{q}/"):
            continue
        if key not in want:
            rows.append(Row(f"{q}/{run}", seed, "missing run", f"{q}/{run}/seed-{seed}/run.json",
                            "run.json (summary.csv has a row)", "missing", "MISSING"))
            continue
        if key not in got:
            rows.append(Row(f"{q}/{run}", seed, "summary row", results.SUMMARY, "a row",
                            "missing", "MISSING"))
            continue
        bad = [(c, results.fmt(want[key][c]), got[key].get(c)) for c in SUMMARY_COLUMNS
               if results.fmt(want[key][c]) != got[key].get(c)]
        for col, expected, value in bad:
            rows.append(Row(f"{q}/{run}", seed, f"{results.SUMMARY} {col}", results.SUMMARY,
                            expected, str(value), "MISMATCH"))
        if not bad:
            rows.append(Row(f"{q}/{run}", seed, f"{results.SUMMARY} = {results.RECORD}",
                            results.SUMMARY))
    return rows


def check_histories(results_dir: Path, results_set: str, in_scope: InScope) -> list[Row]:
    """Each complete ``run.json`` against its ``history.csv``."""
    rows = []
    for path in results.record_paths(results_dir, results_set):
        rel = results.relative(path, results_dir, results_set)
        run, seed = results.run_of(rel)
        if not in_scope(rel):
            continue
        rec = results.read_json(path)
        hist_path = path.parent / results.HISTORY
        file = results.relative(hist_path, results_dir, results_set)
        if not hist_path.exists():
            rows.append(Row(run, seed, "history", file, "present", "missing", "MISSING"))
            continue
        if rec["status"] != "complete":
            continue
        val = results.column(results.read_csv(hist_path), "val_accuracy")
        m = rec["metrics"]
        best = results.best_epoch(val)  # as the runner picks it
        checks = [("epochs_run", m.get("epochs_run"), len(val)),
                  ("best_epoch", m.get("best_epoch"), None if best is None else best + 1),
                  ("best_val_accuracy", m.get("best_val_accuracy"),
                   None if best is None else val[best])]
        bad = [(k, a, b) for k, a, b in checks if results.fmt(a) != results.fmt(b)]
        for key, expected, value in bad:
            rows.append(Row(run, seed, f"run.json {key} vs history", file,
                            results.fmt(expected), results.fmt(value), "MISMATCH"))
        if not bad:
            rows.append(Row(run, seed, "run.json = history.csv", file))
    return rows


def check_expected_runs(results_dir: Path, results_set: str, in_scope: InScope) -> list[Row]:
    """Every run and seed that the question's recorded spec asks for has a ``run.json``."""
    rows = []
    for q in results.questions(results_dir, results_set):
        s = spec.trained_spec(results_dir, results_set, q)
        if not in_scope(f"{q}/") or s is None or results.profile_of(results_set) not in s.profiles:
            continue
        for run in s.resolve(results_set):
            for seed in run.seeds:
                out = results.run_dir(results_dir, results_set, q, run.name, seed)
                if not (out / results.RECORD).exists():
                    rows.append(Row(f"{q}/{run.name}", str(seed), "missing run",
                                    results.relative(out, results_dir, results_set),
                                    f"in {results.SPEC} of {q}", "no run.json", "MISSING"))
    return rows


def compare_csv(name: str, path: Path, columns: list[str], want: list[dict],
                in_scope: InScope) -> list[Row]:
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
            rows.append(Row(label, "-", f"{name} row", path.name,
                            "a row" if key in expected else "no row",
                            "missing" if key in expected else "extra row", "MISMATCH"))
            continue
        bad = [c for c in columns if results.fmt(expected[key][c]) != got[key].get(c)]
        for col in bad:
            rows.append(Row(label, "-", f"{name} {col}", path.name,
                            results.fmt(expected[key][col]), got[key].get(col, ""), "MISMATCH"))
        if not bad:
            rows.append(Row(label, "-", f"{name} recomputed", path.name))
    return rows


def check_aggregates(results_dir: Path, results_set: str, in_scope: InScope) -> list[Row]:
    return (compare_csv(results.STATS, results.aggregate(results_dir, results_set, results.STATS),
                        stats.COLUMNS, stats.stats_rows(results_dir, results_set), in_scope)
            + compare_csv(results.ENSEMBLES,
                          results.aggregate(results_dir, results_set, results.ENSEMBLES),
                          ensemble.COLUMNS, ensemble.ensemble_rows(results_dir, results_set),
                          in_scope))


# --------------------------------------------------------------------------- report numbers


def cells(q: QuestionNumbers) -> dict[tuple[str, str, str], str]:
    """Every number a question shows, keyed by (run, table, column); text facts by
    (``-``, ``text``, name)."""
    out = {("-", "text", k): v for k, v in vars(q.facts).items()}
    for name, t in q.tables.items():
        for row in t.rows:
            out.update({(row.run, name, col): v
                        for col, v in zip(t.columns[1:], row.cells, strict=True)})
    out.update({(m.key, "macro", m.field): m.value for m in q.macros})
    return out


def check_numbers(written: list[QuestionNumbers], fresh: list[QuestionNumbers],
                  in_scope: InScope) -> list[Row]:
    """``report/numbers.json`` against a recomputation from the results, number by number."""
    rows = []
    new = {q.id: cells(q) for q in fresh}
    for q in written:
        if not in_scope(f"{q.id}/"):
            continue
        have, want = cells(q), new.get(q.id, {})
        bad = [(k, want.get(k, "(none)"), have.get(k, "(none)")) for k in sorted(set(have)
               | set(want)) if have.get(k) != want.get(k)]
        for (run, table, col), expected, got in bad:
            label = run if table == "macro" else f"{q.id}/{run}"
            rows.append(Row(label, "-", f"numbers.json {table}: {col}",
                            f"report/{report.NUMBERS}", short(expected), short(got), "MISMATCH"))
        if not bad:
            rows.append(Row(q.id, "-", "report numbers recomputed", f"report/{report.NUMBERS}",
                            f"{len(want)} numbers", f"{len(have)} numbers"))
    return rows


TOKEN = "@@{}@@"
PATH_LINES = ("\\input{", "\\includegraphics")


def tokenised(q: QuestionNumbers) -> tuple[QuestionNumbers, dict[str, tuple[str, str]]]:
    """``q`` with every number replaced by a unique token, and token -> (run, column)."""
    where: dict[str, tuple[str, str]] = {}

    def token(run: str, column: str, value: str = "x") -> str:
        if not value:  # an empty value stays empty: the template may leave its block out
            return value
        t = TOKEN.format(len(where))
        where[t] = (run, column)
        return t

    facts = Facts(**{k: token("-", k, v) for k, v in vars(q.facts).items()})
    tables_ = {name: replace(t, rows=[
        TableRow(token(r.run, t.columns[0], r.run),
                 [token(r.run, c, v) for c, v in zip(t.columns[1:], r.cells, strict=True)])
        for r in t.rows]) for name, t in q.tables.items()}
    return replace(q, facts=facts, tables=tables_), where


def check_tex(path: Path, rel: str, template: str, q: QuestionNumbers, paths: dict) -> list[Row]:
    """Every number in a question's ``.tex`` against ``numbers.json``: the file is split where
    the numbers go (rendering the template with tokens in their place shows where), and each
    piece is compared with the same piece of a rendering from the recorded numbers."""
    want = report.render_part(template, q, paths).splitlines()
    shape, where = tokenised(q)
    tokens = report.render_part(template, shape, paths).splitlines()
    have = path.read_text().splitlines()
    if len(have) != len(want):
        return [Row(q.id, "-", "report lines", rel, f"{len(want)} lines", f"{len(have)} lines",
                    "MISMATCH")]
    rows = []
    for i, (a, b, t) in enumerate(zip(want, have, tokens, strict=True)):
        if a == b or a.lstrip().startswith(PATH_LINES):
            continue
        names = re.findall(r"@@\d+@@", t)
        pattern = "^" + "(.*?)".join(re.escape(x) for x in re.split(r"@@\d+@@", t)) + "$"
        ma, mb = re.match(pattern, a), re.match(pattern, b)
        if not names or ma is None or mb is None:
            rows.append(Row(q.id, "-", f"report line {i + 1}", rel, short(a), short(b),
                            "MISMATCH"))
            continue
        for name, x, y in zip(names, ma.groups(), mb.groups(), strict=True):
            if x != y:
                run, col = where[name]
                rows.append(Row(q.id if run == "-" else f"{q.id}/{run}", "-",
                                f"report table: {col}", rel, short(x), short(y), "MISMATCH"))
    return rows


def check_numbers_tex(path: Path, written: list[QuestionNumbers], in_scope: InScope) -> list[Row]:
    """``numbers.tex`` line by line against the macros of ``numbers.json``."""
    want = report.numbers_tex(written).splitlines()
    have = path.read_text().splitlines() if path.exists() else []
    macros = [m for q in written for m in q.macros]
    head = len(want) - len(macros)
    if len(have) != len(want):
        return [Row("-", "-", "numbers.tex lines", "report/numbers.tex", f"{len(want)} lines",
                    f"{len(have)} lines", "MISMATCH")]
    rows = []
    for i, (a, b) in enumerate(zip(want, have, strict=True)):
        key, field = (macros[i - head].key, macros[i - head].field) if i >= head else ("-",
                                                                                    "header")
        if a != b and in_scope(key):
            rows.append(Row(key, "-", f"numbers.tex {field}", "report/numbers.tex", short(a),
                            short(b), "MISMATCH"))
    return rows or [Row("-", "-", "numbers.tex = numbers.json", "report/numbers.tex",
                        f"{len(macros)} macros", f"{len(macros)} macros")]


def check_report(results_dir: Path, results_set: str, in_scope: InScope) -> list[Row]:
    """The report's numbers: recomputed, and as written in ``numbers.tex`` and each
    ``<question>.tex`` (nothing to check if no report was built)."""
    rdir = results.report_dir(results_dir, results_set)
    if not (rdir / report.NUMBERS).exists():
        return []
    written = [QuestionNumbers.from_json(q)
                for q in results.read_json(rdir / report.NUMBERS)["questions"]]
    fresh = tables.numbers(results_dir, results_set, order=[q.id for q in written])
    rows = check_numbers(written, fresh, in_scope)
    rows += check_numbers_tex(rdir / "numbers.tex", written, in_scope)
    for q in written:
        if not in_scope(f"{q.id}/"):
            continue
        paths = report.question_paths(results_dir, results_set, q, None, write=False)
        for template, name in report.PARTS.items():
            path = rdir / name.format(q.id)
            rel = results.relative(path, results_dir, results_set)
            if not path.exists():
                rows.append(Row(q.id, "-", "report section", rel, "present", "missing",
                                "MISSING"))
                continue
            rows += check_tex(path, rel, template, q, paths) or [
                Row(q.id, "-", "report tables = numbers.json", rel)]
    return rows


# --------------------------------------------------------------------------- all checks


def integrity(results_dir: Path, results_set: str, question: str | None = None) -> list[Row]:
    if not results.set_dir(results_dir, results_set).is_dir():
        raise ResultsError(f"{results.set_dir(results_dir, results_set)} does not exist: "
                           f"nothing to verify (run make quick, or make verify PROFILE=...)")

    def in_scope(rel: str) -> bool:
        """``rel``: a path under the profile folder; question-level items are passed as
        ``q/``."""
        return question is None or "/" not in rel or rel.split("/")[0] == question

    return [*check_files(results_dir, results_set, in_scope),
            *check_summary(results_dir, results_set, in_scope),
            *check_histories(results_dir, results_set, in_scope),
            *check_expected_runs(results_dir, results_set, in_scope),
            *check_aggregates(results_dir, results_set, in_scope),
            *check_report(results_dir, results_set, in_scope)]


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
            rows.append(Row("-", "-", check, state["file"], "matches",
                            env.lock_differences(state),
                            "ok" if state.get("matches") else "note"))
    return rows


def verify(results_dir: Path, results_set: str, question: str | None = None,
           sample: int | None = None, tolerance: float = 0.005, do_rerun: bool = True
           ) -> list[Row]:
    """All checks; writes ``verification.csv`` and returns its rows."""
    rows = integrity(results_dir, results_set, question) + check_lock(results_dir, results_set)
    if do_rerun:
        rows += rerun.rerun(results_dir, results_set,
                            rerun.rerun_jobs(results_dir, results_set, question, sample), tolerance)
    results.write_csv(results.aggregate(results_dir, results_set, results.VERIFICATION), COLUMNS,
                      [r.csv() for r in rows])
    return rows
