"""A marker's re-runs: a secret sample of a submission's runs, the runs its prose quotes
first, each re-trained in the sandbox by the marker's engine with the handed-in ``models/``
and ``experiments/`` (:mod:`.inside`'s ``retrain``), from the settings the marker hands it and
under the marker's limits, with none of the handed-in results in its reach; compared here,
after it ended, as ``make verify`` compares (:func:`coursework.verify.rerun.compare`)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

from coursework.analysis.checks import Row, short
from coursework.records import layout, storage
from coursework.records.layout import ResultsSet
from coursework.verify import rerun
from coursework.verify.inspection import for_retrain
from coursework.verify.options import MAX_CSV_BYTES, MAX_JSON_BYTES, Options
from coursework.verify.sandbox import ENGINE, STAGED, Sandbox, call, data_env, data_folders, stage
from coursework.verify.sheets import Sheet
from coursework.verify.verdicts import NONE, Verdict, whole

QUOTED = 4.0  # a candidate's weight where the prose quotes its run (overleaf.weight)
RERUNS = "reruns"  # <folder>/reruns/NNN/: what a re-run gave back, written by the marker


def rerun_rows(
    root: Path,
    rs: ResultsSet,
    folder: Path,
    options: Options,
    sheet: Sheet,
    box: Sandbox | str,
    candidates: list[dict[str, Any]],
) -> list[Row]:
    """Re-train a secret sample of ``candidates`` (the inspection's, :func:`.mark.candidates`)
    in the sandbox ``box``, each with the backend it recorded; compare here."""
    if isinstance(box, str):
        sheet.facts.update(reruns_agreeing="refused: no sandbox", sandbox="none", rerun_sample=NONE)
        return [whole("re-run: refused", NONE, "a sandbox", short(box, 120), Verdict.NOTE)]
    by_path = {c["record"]: c for c in candidates}
    quoted = [c["record"] for c in candidates if c["weight"] >= QUOTED]
    count = options.reruns(len(quoted))
    seed = secrets.randbits(64)
    done = set(sheet.reran)
    picked = rerun.secret_sample(
        list(by_path), count, seed, lambda p: by_path[p]["weight"], done, first=set(quoted)
    )
    engine = (
        "the submission's own (HANDED_IN_ENGINE=1)"
        if options.handed_in_engine
        else ("the marker's, with the handed-in models/ and experiments/")
    )
    sheet.facts.update(
        sandbox=box.kind,
        rerun_seed=str(seed),
        catch_chance=chance(picked, quoted, count),
        rerun_engine=engine,
        limits=f"{options.limits().words()} (a re-run: its own time limit)",
    )
    code = rerun_code(root, folder, options)
    rows: list[Row] = []
    sampled = []
    for i, rel in enumerate(picked, start=1):
        settings = by_path[rel]["settings"]
        run_id, seed_label = label(settings)
        sampled.append(f"{run_id} seed {seed_label}")
        sheet.reran.append(rel)
        limits = replace(
            options.limits(), seconds=options.rerun_seconds(int(by_path[rel]["images"]))
        )
        print(
            f"    [{i}/{len(picked)}] re-training {run_id} seed {seed_label} "
            f"({settings['config'].get('epochs')} epochs, backend "
            f"{rerun.recorded_backend(settings)}) with the marker's engine and the handed-in "
            f"models, sandbox: {box.kind}; limits {limits.words()}",
            flush=True,
        )
        out = folder / RERUNS / f"{i:03d}"
        path = inside_files(folder / "files", rel)
        rows += rerun_one(rs, path, settings, out, (box, code, limits), options.tolerance)
    sheet.facts["rerun_sample"] = "; ".join(sampled) or "none"
    runs = {(r.run, r.seed) for r in rows}
    agree = len(runs) - len({(r.run, r.seed) for r in rows if not r.ok})
    sheet.facts["reruns_agreeing"] = f"{agree}/{len(runs)}"
    return rows


def chance(picked: list[str], quoted: list[str], count: int) -> str:
    """The chance that one faked run and seed of those the prose quotes is re-trained, as
    the sample was drawn (the quoted first), in words for the sheet."""
    if not quoted:
        return "no run quoted in the prose"
    hit = len(set(picked) & set(quoted))
    return f"{hit / len(quoted):.0%} ({hit} of the {len(quoted)} quoted runs and seeds re-trained)"


def rerun_code(root: Path, folder: Path, options: Options) -> Path:
    """The code a re-run runs, staged in ``folder/rerun-code``: the marker's engine
    (``coursework/``, or the handed-in one where the marker asks) with the handed-in
    ``models/`` and ``experiments/``; nothing else of the submission."""
    engine, code = folder.parent / ENGINE, root / "code"
    parts = {name: engine / name for name in STAGED if (engine / name).exists()}
    for name in ("models", "experiments"):
        if (code / name).is_dir():
            parts[name] = code / name
    if options.handed_in_engine and (code / "coursework").is_dir():
        parts["coursework"] = code / "coursework"
    return stage(folder / "rerun-code", parts)


def inside_files(files: Path, rel: str) -> Path:
    """``files/rel``, a regular file the marker unpacked, never a path out of ``files``."""
    path = (files / rel).resolve()
    if not path.is_relative_to(files.resolve()) or path.is_symlink() or not path.is_file():
        raise ValueError(f"{rel}: not a file of the submission")
    return path


def label(rec: dict[str, Any]) -> tuple[str, str]:
    """A record's run (``question/run``) and seed, as rows name them (a trial by number)."""
    run_id, seed_label = f"{rec['question']}/{rec['run']}", str(rec["seed"])
    if "trial" in rec:
        seed_label = f"trial {rec['trial']['number']}"
    return run_id, seed_label


def rerun_one(
    rs: ResultsSet,
    path: Path,
    settings: dict[str, Any],
    out: Path,
    sandbox: tuple[Sandbox, Path, Any],
    tolerance: float,
) -> list[Row]:
    """Re-train the run of ``settings`` (read from its handed-in ``run.json``, ``path``) and
    compare it with that run's history; what it gives back is written to ``out`` (the
    marker's folder, never the sandbox's), its log beside."""
    box, code, limits = sandbox
    run_id, seed_label = label(settings)
    name = rerun.recorded_backend(settings)
    rel = rs.relative(path.parent / layout.HISTORY)
    answer, outcome = call(
        box,
        "retrain",
        {"settings": for_retrain(settings)},
        code=code,
        work=out.parent.parent / "work",
        readable=data_folders(),
        limits=limits,
        env={"KERAS_BACKEND": name, **data_env()},
    )
    storage.write_text(out.with_suffix(".log"), outcome.log)
    if answer is None or "crashed" in answer:
        why = (
            f"stopped: {outcome.stopped}"
            if outcome.stopped
            else (answer or {}).get("crashed") or last_line(outcome.log)
        )
        return [rerun.not_run(run_id, seed_label, name, rel, why, 90)]
    new = answer.get("record") if isinstance(answer.get("record"), dict) else answer
    history = answer.get("history")
    if "error" in answer or not isinstance(history, str):
        why = answer.get("error", "no history")
        return [rerun.not_run(run_id, seed_label, name, rel, why, 70)]
    storage.write_text(out / layout.HISTORY, history)
    storage.write_json(out / layout.RECORD, new)
    hist = path.parent / layout.HISTORY
    if hist.stat().st_size > MAX_CSV_BYTES or path.stat().st_size > MAX_JSON_BYTES:
        return [rerun.not_run(run_id, seed_label, name, rel, "its files are too large", 60)]
    mine = rerun.compare(
        settings, new, hist, out / layout.HISTORY, run_id, seed_label, rel, name, tolerance
    )
    print(f"        -> {rerun.outcome(mine)}", flush=True)
    return mine


def last_line(log: str) -> str:
    """The last line of a log (why a command failed, mostly)."""
    lines = log.strip().splitlines()
    return lines[-1] if lines else "no output"
