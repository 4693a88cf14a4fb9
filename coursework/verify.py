"""``make verify``: do the submitted results hold together, and do they reproduce?

Integrity (seconds):

- every file matches its sha256 in ``MANIFEST.json``, and no file is missing or unlisted;
- every row of ``summary.csv`` matches its ``run.json``, and every ``run.json`` matches its
  ``history.csv`` (epochs, best epoch, best validation accuracy);
- every run the spec asks for is there;
- ``stats.csv`` and ``ensembles.csv`` match a recomputation from the runs;
- every macro in ``report/numbers.tex`` and every table in ``report/<question>.tex`` match
  a re-rendering from the results files.

Re-run (minutes): re-trains the chosen runs from their recorded config and seed into a
temporary folder and compares with the submitted ``history.csv``. On the same hardware and
package versions, with op determinism on, the history must be byte-identical (the
``epoch_seconds`` column, wall-clock time, aside); elsewhere the final and best validation
accuracy and the test accuracy must agree within the tolerance.

Every check is a row (run, seed, check, file, expected, got, verdict) of
``results/<profile>/verification.csv``.
"""

from __future__ import annotations

import contextlib
import random
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from coursework import backend, ensemble, manifest, results, spec, stats, workers
from coursework.results import HISTORY_COLUMNS, SUMMARY_COLUMNS

COLUMNS = ["run", "seed", "check", "file", "expected", "got", "verdict"]
TIMING = {"epoch_seconds"}  # wall-clock columns: never reproducible
ENV_KEYS = ("python", "backend", "backend_version", "keras", "numpy", "cpu", "gpus")


@dataclass
class Row:
    run: str
    seed: str
    check: str
    file: str
    expected: str = ""
    got: str = ""
    verdict: str = "ok"

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"


def _run_of(rel: str) -> tuple[str, str]:
    """``q/run/seed-3/history.csv`` -> (``q/run``, ``3``); other files -> (``-``, ``-``)."""
    parts = rel.split("/")
    if len(parts) >= 4 and parts[2].startswith("seed-"):
        return f"{parts[0]}/{parts[1]}", parts[2][5:]
    return "-", "-"


def _short(value: object, width: int = 40) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


# --------------------------------------------------------------------------- integrity


def check_files(base: Path, in_scope) -> list[Row]:
    """Files against the manifest: same hash, none missing, none unlisted."""
    try:
        man = manifest.read(base.parent, base.name)
    except results.ResultsError as exc:
        return [Row("-", "-", "manifest", manifest.NAME, "readable", str(exc), "MISSING")]
    listed = {rel: meta for rel, meta in man.get("files", {}).items() if in_scope(rel)}
    present = {p.relative_to(base).as_posix() for p in manifest.listed(base)}
    present = {rel for rel in present if in_scope(rel)}
    rows, missing_runs = [], set()
    for rel, meta in sorted(listed.items()):
        run, seed = _run_of(rel)
        path = base / rel
        if not path.exists():
            if run != "-" and not path.parent.exists():
                if (run, seed) not in missing_runs:
                    missing_runs.add((run, seed))
                    rows.append(Row(run, seed, "missing run", str(path.parent.relative_to(
                        base)), "run folder", "missing", "MISSING"))
                continue
            rows.append(Row(run, seed, "file", rel, meta["sha256"][:12], "missing", "MISSING"))
            continue
        got = manifest.sha256(path)
        rows.append(Row(run, seed, "file sha256", rel, meta["sha256"][:12], got[:12],
                        "ok" if got == meta["sha256"] else "EDITED"))
    for rel in sorted(present - set(listed)):
        run, seed = _run_of(rel)
        rows.append(Row(run, seed, "file listed", rel, "in manifest", "not listed", "UNLISTED"))
    return rows


def check_summary(base: Path, in_scope) -> list[Row]:
    """``summary.csv`` against the ``run.json`` files, row by row and field by field."""
    path = base / "summary.csv"
    if not path.exists():
        return [Row("-", "-", "summary", "summary.csv", "present", "missing", "MISSING")]
    got = {(r["question"], r["run"], r["seed"]): r for r in results.read_csv(path)}
    want = {(r["question"], r["run"], str(r["seed"])): r
            for r in results.summary_rows(base.parent, base.name)}
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
            rows.append(Row(f"{q}/{run}", seed, "summary row", "summary.csv", "a row",
                            "missing", "MISSING"))
            continue
        bad = [(c, results.fmt(want[key][c]), got[key].get(c)) for c in SUMMARY_COLUMNS
               if results.fmt(want[key][c]) != got[key].get(c)]
        for col, expected, value in bad:
            rows.append(Row(f"{q}/{run}", seed, f"summary.csv {col}", "summary.csv",
                            expected, str(value), "MISMATCH"))
        if not bad:
            rows.append(Row(f"{q}/{run}", seed, "summary.csv = run.json", "summary.csv"))
    return rows


def check_histories(base: Path, in_scope) -> list[Row]:
    """Each complete ``run.json`` against its ``history.csv``."""
    rows = []
    for path in sorted(base.glob("*/*/seed-*/run.json")):
        rel = path.relative_to(base).as_posix()
        run, seed = _run_of(rel)
        if not in_scope(rel):
            continue
        rec = results.read_json(path)
        hist_path = path.parent / "history.csv"
        if not hist_path.exists():
            rows.append(Row(run, seed, "history", rel.replace("run.json", "history.csv"),
                            "present", "missing", "MISSING"))
            continue
        if rec["status"] != "complete":
            continue
        hist = results.read_csv(hist_path)
        val = [float(r["val_accuracy"]) if r["val_accuracy"] else float("nan") for r in hist]
        m = rec["metrics"]
        best = int(np.nanargmax(val)) if val else -1  # as the runner picks it
        checks = [("epochs_run", m.get("epochs_run"), len(hist)),
                  ("best_epoch", m.get("best_epoch"), best + 1),
                  ("best_val_accuracy", m.get("best_val_accuracy"), val[best] if val else None)]
        file = hist_path.relative_to(base).as_posix()
        bad = [(k, a, b) for k, a, b in checks if results.fmt(a) != results.fmt(b)]
        for key, expected, value in bad:
            rows.append(Row(run, seed, f"run.json {key} vs history", file,
                            results.fmt(expected), results.fmt(value), "MISMATCH"))
        if not bad:
            rows.append(Row(run, seed, "run.json = history.csv", file))
    return rows


def check_expected_runs(base: Path, profile: str, in_scope) -> list[Row]:
    """Every run and seed that the question's spec asks for has a ``run.json``."""
    rows = []
    for qdir in sorted(p for p in base.iterdir() if p.is_dir() and in_scope(f"{p.name}/")):
        records = sorted(qdir.glob("*/seed-*/run.json"))
        spec_file = results.read_json(records[0]).get("spec_file", "") if records else ""
        s = spec.load_for_results(qdir.name, spec_file)
        if s is None or profile not in s.profiles:
            continue
        for run in s.resolve(profile):
            for seed in run.seeds:
                out = results.run_dir(base.parent, profile, qdir.name, run.name, seed)
                if not (out / "run.json").exists():
                    rows.append(Row(f"{qdir.name}/{run.name}", str(seed), "missing run",
                                    out.relative_to(base).as_posix(),
                                    f"in {Path(s.path).as_posix()}", "no run.json", "MISSING"))
    return rows


def _compare_csv(name: str, path: Path, columns: list[str], key_cols: list[str],
                 want: list[dict], in_scope) -> list[Row]:
    if not path.exists():
        return [Row("-", "-", name, path.name, "present", "missing", "MISSING")]
    got = {tuple(r[k] for k in key_cols): r for r in results.read_csv(path)}
    expected = {tuple(results.fmt(r[k]) for k in key_cols): r for r in want}
    rows = []
    for key in sorted(set(got) | set(expected)):
        if not in_scope(f"{key[0]}/"):
            continue
        label = "/".join(key[:2])
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


PATH_LINES = ("\\input{", "\\includegraphics")
_CWSET = re.compile(r"^\\cwset\{([^}]*)\}\{([^}]*)\}\{(.*)\}$")


def _table_diffs(rel: str, question: str, expected: str, got: str) -> list[Row]:
    """Cell-by-cell differences between the expected and the submitted ``<q>.tex``."""
    def numbers_only(text: str) -> list[str]:  # paths to prose and figures are not results
        return [x for x in text.splitlines() if not x.lstrip().startswith(PATH_LINES)]

    want, have = numbers_only(expected), numbers_only(got)
    if len(want) != len(have):
        return [Row(question, "-", "report table", rel, f"{len(want)} lines",
                    f"{len(have)} lines", "MISMATCH")]
    rows, header = [], []
    for i, (a, b) in enumerate(zip(want, have, strict=True)):
        if i > 0 and want[i - 1].strip() == r"\toprule":
            header = [c.strip(" \\") for c in a.split(" & ")]
        if a == b:
            continue
        ca, cb = a.split(" & "), b.split(" & ")
        if len(ca) == len(cb) and len(ca) > 1:
            label = re.sub(r"\\texttt\{(.*)\}", r"\1", ca[0]).strip()
            for j, (x, y) in enumerate(zip(ca, cb, strict=True)):
                if x != y:
                    col = header[j] if j < len(header) else f"column {j + 1}"
                    rows.append(Row(f"{question}/{label}", "-", f"report table: {col}", rel,
                                    _short(x.strip(" \\")), _short(y.strip(" \\")),
                                    "MISMATCH"))
        else:
            rows.append(Row(question, "-", f"report line {i + 1}", rel, _short(a), _short(b),
                            "MISMATCH"))
    return rows


def check_derived(base: Path, in_scope) -> list[Row]:
    """stats.csv, ensembles.csv, numbers.tex and the report tables, recomputed."""
    from coursework import report

    results_dir, profile = base.parent, base.name
    rows = _compare_csv("stats.csv", base / "stats.csv", stats.COLUMNS, ["question", "run"],
                        stats.stats_rows(results_dir, profile), in_scope)
    rows += _compare_csv("ensembles.csv", base / "ensembles.csv", ensemble.COLUMNS,
                         ["question", "run"], ensemble.ensemble_rows(results_dir, profile),
                         in_scope)
    report_dir = base / "report"
    if not (report_dir / "numbers.tex").exists():
        return rows  # no report built: nothing to compare
    questions, numbers = report.contexts(results_dir, profile, write_prose=False)
    want = {m.group(1, 2): m.group(3) for m in map(_CWSET.match, numbers) if m}
    have = {m.group(1, 2): m.group(3) for m in map(
        _CWSET.match, (report_dir / "numbers.tex").read_text().splitlines()) if m}
    bad = 0
    for key in sorted(set(want) | set(have)):
        if not in_scope(key[0]):
            continue
        if want.get(key) != have.get(key):
            bad += 1
            rows.append(Row(key[0], "-", f"numbers.tex {key[1]}", "report/numbers.tex",
                            want.get(key, "(none)"), have.get(key, "(none)"), "MISMATCH"))
    if not bad:
        rows.append(Row("-", "-", "numbers.tex recomputed", "report/numbers.tex",
                        f"{len(want)} macros", f"{len(have)} macros"))
    for ctx in questions:
        if not in_scope(f"{ctx['id']}/"):
            continue
        path = report_dir / f"{ctx['id']}.tex"
        rel = path.relative_to(base).as_posix()
        if not path.exists():
            rows.append(Row(ctx["id"], "-", "report section", rel, "present", "missing",
                            "MISSING"))
            continue
        diffs = _table_diffs(rel, ctx["id"], report.render_question(ctx), path.read_text())
        rows += diffs or [Row(ctx["id"], "-", "report tables recomputed", rel)]
    return rows


def integrity(results_dir: Path, profile: str, question: str | None = None) -> list[Row]:
    base = Path(results_dir) / profile
    if not base.is_dir():
        raise results.ResultsError(f"{base} does not exist: nothing to verify "
                                   f"(run make quick, or make verify PROFILE=...)")

    def in_scope(rel: str) -> bool:
        """``rel``: a path under ``base``; question-level items are passed as ``q/``."""
        return question is None or "/" not in rel or rel.split("/")[0] == question

    rows = check_files(base, in_scope)
    rows += check_summary(base, in_scope)
    rows += check_histories(base, in_scope)
    rows += check_expected_runs(base, profile, in_scope)
    rows += check_derived(base, in_scope)
    return rows


# --------------------------------------------------------------------------- re-run


def metric_text(path: Path) -> str:
    """``history.csv`` without its wall-clock columns: what must repeat byte for byte."""
    rows = results.read_csv(path)
    keep = [c for c in HISTORY_COLUMNS if c not in TIMING]
    return "\n".join(",".join(r.get(c, "") for c in keep) for r in rows)


def same_environment(rec: dict, new: dict) -> bool:
    """Whether the re-run ``new`` happened where ``rec`` did (versions, backend, hardware),
    with determinism on both times: then its history must repeat byte for byte."""
    return (all(rec.get("environment", {}).get(k) == new["environment"].get(k)
                for k in ENV_KEYS)
            and bool(rec.get("determinism", {}).get("op_determinism"))
            and bool(new["determinism"].get("op_determinism")))


def first_difference(a: Path, b: Path) -> str:
    ra, rb = results.read_csv(a), results.read_csv(b)
    for i, (x, y) in enumerate(zip(ra, rb, strict=False)):
        for c in HISTORY_COLUMNS:
            if c not in TIMING and x.get(c) != y.get(c):
                return f"epoch {i + 1} {c}: {y.get(c)}"
    return f"{len(rb)} epochs, submitted {len(ra)}"


def final_and_best(path: Path) -> dict[str, float]:
    val = [float(r["val_accuracy"]) for r in results.read_csv(path)]
    return {"final val_accuracy": val[-1], "best val_accuracy": max(val)}


def rerun_jobs(results_dir: Path, profile: str, question: str | None,
               sample: int | None) -> list[Path]:
    """``run.json`` paths of the complete runs to re-train: all, or a seeded sample."""
    base = Path(results_dir) / profile
    paths = [p for p in sorted(base.glob("*/*/seed-*/run.json"))
             if (question is None or p.parent.parent.parent.name == question)
             and results.read_json(p)["status"] == "complete"]
    if sample is not None and sample < len(paths):
        paths = sorted(random.Random(0).sample(paths, sample))
    return paths


def retrain(rec: dict, folder: Path) -> dict:
    """Re-train the run and seed of ``rec`` (a ``run.json``) into ``folder``; return the new
    record, or ``{"error": ...}`` if the dataset is not the one the run used."""
    from coursework.train import dataset, train_one

    cfg = rec["config"]
    ds = dataset(cfg["dataset"])
    want = rec.get("dataset", {}).get("fingerprint")
    if want != ds.fingerprint():
        return {"error": f"dataset {cfg['dataset']}: fingerprint {_short(want, 16)} "
                         f"recorded, {_short(ds.fingerprint(), 16)} here"}
    run = spec.Run(rec["question"], rec["run"], rec["profile"], cfg,
                   spec_file=rec.get("spec_file", ""), published=rec.get("published_accuracy"))
    return train_one(run, rec["seed"], ds, Path(folder), label="  ")


def rerun(results_dir: Path, profile: str, jobs: list[Path], tolerance: float) -> list[Row]:
    """Re-train every job with the backend its ``run.json`` recorded (in a worker process when
    that is not this process's) and compare with the submitted history."""
    base = Path(results_dir) / profile
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        pools: dict[str, object] = {}
        for i, path in enumerate(jobs, start=1):
            rec = results.read_json(path)
            run_id, seed = f"{rec['question']}/{rec['run']}", str(rec["seed"])
            rel = (path.parent / "history.csv").relative_to(base).as_posix()
            name = rec.get("environment", {}).get("backend", "tensorflow")
            print(f"[{i}/{len(jobs)}] re-training {run_id} seed {seed} "
                  f"({rec['config']['epochs']} epochs, backend {name})", flush=True)
            with tempfile.TemporaryDirectory(prefix="coursework-verify-") as tmp:
                try:
                    if name == backend.chosen():
                        new = retrain(rec, Path(tmp))
                    else:
                        if name not in pools:
                            backend.check_installed(name)
                            pools[name] = stack.enter_context(workers.pool(
                                1, backend=name, settings={"deterministic": True,
                                                           "mixed_precision": False}))
                        new = pools[name].submit(retrain, rec, Path(tmp)).result()
                except backend.BackendError as exc:
                    new = {"error": str(exc).splitlines()[0] + f" (make setup BACKEND={name})"}
                mine = compare(rec, new, path.parent / "history.csv", Path(tmp) / "history.csv",
                               run_id, seed, rel, name, tolerance)
            rows += mine
            print(f"    -> {'ok' if all(r.ok for r in mine) else 'MISMATCH'}", flush=True)
    return rows


def compare(rec: dict, new: dict, hist: Path, new_hist: Path, run_id: str, seed: str,
            rel: str, name: str, tolerance: float) -> list[Row]:
    """Rows comparing a re-run (record ``new``, history ``new_hist``) with the submitted one."""
    if "error" in new:
        return [Row(run_id, seed, f"re-run ({name})", rel, "a re-run", _short(new["error"], 60),
                    "NOT RUN")]
    exact = same_environment(rec, new)
    if exact or metric_text(hist) == metric_text(new_hist):
        identical = metric_text(hist) == metric_text(new_hist)
        check = f"re-run history: byte-identical ({name}" + (
            ", same hardware and versions)" if exact else ")")
        a, b = rec["metrics"].get("test_accuracy"), new["metrics"].get("test_accuracy")
        return [Row(run_id, seed, check, rel, "identical",
                    "identical" if identical else first_difference(hist, new_hist),
                    "ok" if identical else "MISMATCH"),
                Row(run_id, seed, f"re-run test_accuracy ({name})", f"{rel[:-11]}run.json",
                    results.fmt(a), results.fmt(b), "ok" if a == b else "MISMATCH")]
    check = f"re-run within {tolerance} ({name}, other hardware or versions)"
    want, got = final_and_best(hist), final_and_best(new_hist)
    want["test_accuracy"] = rec["metrics"].get("test_accuracy")
    got["test_accuracy"] = new["metrics"].get("test_accuracy")
    rows = []
    for key in want:
        a, b = want[key], got[key]
        good = a is not None and b is not None and abs(a - b) <= tolerance
        rows.append(Row(run_id, seed, f"{check}: {key}", rel, f"{a:.4f}",
                        f"{b:.4f}" if b is not None else "none", "ok" if good else "MISMATCH"))
    return rows


# --------------------------------------------------------------------------- report


def check_kind(check: str) -> str:
    """The group a check is counted in: ``re-run`` or the check's name before any ':'."""
    return "re-run" if check.startswith("re-run") else check.split(":")[0]


def table(rows: list[Row]) -> str:
    """The rows worth reading: every failure and every re-run, plus a count of the rest."""
    shown = [r for r in rows if not r.ok or r.check.startswith("re-run")]
    head = ["run", "seed", "check", "expected", "got", "verdict"]
    cells = [[_short(r.run, 32), r.seed, _short(r.check, 64), _short(r.expected, 20),
              _short(r.got, 20), r.verdict] for r in shown]
    widths = [max(len(x) for x in col) for col in zip(head, *cells, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    if not cells:
        lines = ["no failures (and no re-runs asked for)"]
    counts: dict[str, list[int]] = {}
    for r in rows:
        c = counts.setdefault(check_kind(r.check), [0, 0])
        c[0] += 1
        c[1] += r.ok
    lines.append("")
    lines += [f"  {kind:36s} {ok}/{n} ok" for kind, (n, ok) in counts.items()]
    return "\n".join(lines)


def verify(results_dir: Path, profile: str, question: str | None = None,
           sample: int | None = None, tolerance: float = 0.005, do_rerun: bool = True
           ) -> list[Row]:
    """All checks; writes ``verification.csv`` and returns its rows."""
    rows = integrity(results_dir, profile, question)
    if do_rerun:
        rows += rerun(results_dir, profile, rerun_jobs(results_dir, profile, question, sample),
                      tolerance)
    results.write_csv(Path(results_dir) / profile / "verification.csv", COLUMNS,
                      [asdict(r) for r in rows])
    return rows
