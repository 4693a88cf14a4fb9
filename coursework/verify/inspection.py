"""What the sandbox reads of a submission (:mod:`.inside`'s ``inspect``): every check of its
unpacked files, in the marker's code, with none of it in the marker's process. The marker
gets back the rows and facts of the sheet and what it needs next: the Overleaf zip to
compile, the paper's questions, the results page, and the runs a re-run may choose from, each
with the settings it is handed (never the handed-in results)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coursework.analysis.checks import short
from coursework.records import storage
from coursework.records.layout import ResultsSet
from coursework.records.record import RunRecord
from coursework.report.handed_in import WEIGHTS
from coursework.report.render import OVERLEAF
from coursework.report.submission import LISTING
from coursework.verify import marks_page, reproduce, sheets
from coursework.verify.archive import MAX_FILES
from coursework.verify.contents import (
    bad_results_set,
    check_listing,
    check_runs_code,
    read_description,
    report_settings,
    submission_root,
    too_large,
)
from coursework.verify.integrity import check_lock, integrity
from coursework.verify.overleaf import check_report_sources, weight
from coursework.verify.sheets import Sheet
from coursework.verify.verdicts import Verdict, absent, whole

RECORD_KEYS = (  # a handed-in run.json's keys that a re-run and its comparison need
    "question",
    "run",
    "profile",
    "seed",
    "status",
    "config",
    "spec_file",
    "published_accuracy",
    "packed",
    "trial",
)
NESTED_KEYS = {
    "metrics": ("test_accuracy", "epochs_run"),
    "dataset": ("fingerprint",),
    "environment": reproduce.ENV_KEYS,  # what tells whether a re-run must repeat byte for byte
    "determinism": ("op_determinism",),
}


def settings_of(record: RunRecord) -> dict[str, Any]:
    """What a re-run of ``rec`` (a handed-in ``run.json``) is handed, and its comparison
    reads: the settings, seed and environment; of its results only the test accuracy and
    epochs run (compared outside, never shown to the re-run: :func:`for_retrain`); the rest
    of the record is not read."""
    rec = record.to_json()
    out = {k: rec[k] for k in RECORD_KEYS if k in rec}
    for key, names in NESTED_KEYS.items():
        part = rec.get(key)
        if isinstance(part, dict):
            out[key] = {n: part[n] for n in names if n in part}
    return out


def for_retrain(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as the sandboxed re-run gets them: no result of the run but, for a
    tuning trial, the epochs it ran (a pruned trial stopped early)."""
    rec = RunRecord.from_parts(settings, "the re-run's settings")
    out = {k: v for k, v in settings.items() if k != "metrics"}
    epochs = rec.metrics.get("epochs_run")
    out["metrics"] = {"epochs_run": epochs} if rec.trial is not None and epochs else {}
    return out


def read_submission(sheet: Sheet, files: Path, work: Path, sandboxed: bool) -> dict[str, Any]:
    """Every check that reads an unpacked submission's files (``files``), into ``sheet``; run
    inside the sandbox (:mod:`.inside`), ``work`` its writable folder; the handed-in report
    templates render only where it is a real one (``sandboxed``). Returns what the
    marker needs next: the submission's folder, its description, the Overleaf zip, the
    paper's questions, the results page and the runs a re-run may choose from."""
    root = submission_root(files)
    if root is None:
        expected = "a folder with LISTING.txt"
        sheet.rows.append(whole("layout", LISTING, expected, "not found", Verdict.MISSING))
        return {}
    found: dict[str, Any] = {"root": root.relative_to(files).as_posix()}
    big = too_large(root)
    if big:
        sheet.rows += big
        return {}
    sheet.rows += check_listing(root, int(sheet.options.get("max_files", MAX_FILES)))
    desc, rows = read_description(root)
    sheet.rows += rows
    results_set = desc.get("results_set")
    bad = bad_results_set(results_set)
    if bad:
        sheet.rows += bad
        return {}
    git = desc["git"] if isinstance(desc.get("git"), dict) else {}
    history = [c for c in git.get("history", []) if isinstance(c, str)][:10_000]
    code_sha = desc.get("code_sha256")
    found["desc"] = {
        "results_set": results_set,
        "git": {"history": history},
        **({"code_sha256": code_sha} if isinstance(code_sha, str) else {}),
    }
    rs = ResultsSet(root / "results", results_set or "-")
    sheet.facts.update(report_settings(root, rs))
    if not results_set or not rs.dir().is_dir():
        sheet.rows.append(absent("results", f"results/{results_set or '?'}"))
        return found
    tpl = root / "code" / "report_templates"
    templates = tpl if (tpl / "question.tex.j2").is_file() else None
    if templates is not None and not sandboxed:
        why = "not rendered without a sandbox: this checkout's templates"
        sheet.rows.append(whole("report templates", "code/report_templates", "", why, Verdict.NOTE))
        templates = None
    sheet.rows += integrity(rs, left_out=WEIGHTS, templates=templates)
    sheet.rows += check_lock(rs)
    found["page"] = results_page(rs, work, sheet)
    sources = work / "report-sources"
    sheet.rows += check_report_sources(rs, sources, sheet, templates)
    overleaf_zip = rs.report_dir() / OVERLEAF
    if overleaf_zip.is_file():
        found["overleaf"] = overleaf_zip.relative_to(files).as_posix()
    found["questions"] = sheet.facts.get("questions", "").split()
    found["candidates"] = candidates(rs, sources, files)
    sheet.rows += check_runs_code(root, desc, sheet)
    return found


def candidates(rs: ResultsSet, sources: Path, files: Path) -> list[dict[str, Any]]:
    """The runs a marker's re-run may choose: each with its ``run.json`` (relative to
    ``files``), the settings it is handed (:func:`settings_of`), its weight in the
    sample (quoted in the prose: 4), and its training images (for the time limit)."""
    weigh = weight(rs, sources)
    out = []
    for path in reproduce.rerun_jobs(rs, None, None):
        settings = settings_of(storage.read_record(path))
        out.append(
            {
                "record": path.relative_to(files).as_posix(),
                "settings": settings,
                "weight": weigh(path),
                "images": training_images(settings),
            }
        )
    return out


def training_images(settings: dict[str, Any]) -> int:
    """Images a re-run of ``settings`` trains on, over its epochs, as ``make plan`` counts
    them (:func:`coursework.engine.network.epoch_images`); 60,000 an epoch where the dataset
    or the config cannot be read here."""
    from coursework.data import datasets as data

    try:
        rec = RunRecord.from_parts(settings, "the re-run's settings")
        cfg = rec.config
        epochs = rec.metrics.get("epochs_run") or cfg.epochs or 1
        info = data.info(str(cfg.dataset), cfg.image_size, cfg.color)
        per_epoch = info.sizes["train"] * (5 if cfg.augment == "expand" else 1)
        return int(epochs) * per_epoch
    except Exception:  # noqa: BLE001 - an estimate: what cannot be read counts a full MNIST
        return 60_000 * 100


def results_page(rs: ResultsSet, work: Path, sheet: Sheet) -> str | None:
    """The submission's results page drawn by this checkout's code (the marker writes it
    as ``results.html`` beside the sheet); where it cannot be drawn, a note saying why (the
    checks say what is wrong with the results)."""
    try:
        return marks_page.results_page(rs, work).read_text()
    except Exception as exc:  # noqa: BLE001 - the page is for reading, not a check
        row = whole("results page", sheets.RESULTS_PAGE, "drawn", cause(exc), Verdict.NOTE)
        sheet.rows.append(row)
        return None


def cause(exc: BaseException) -> str:
    """An exception as the cause on a sheet: what, in a line."""
    if isinstance(exc, RecursionError):
        return "a file nested too deeply to read (RecursionError)"
    if isinstance(exc, MemoryError):
        return "a file too large to read (MemoryError)"
    text = str(exc).strip().splitlines()
    return short(f"{type(exc).__name__}: {text[0] if text else ''}", 160)
