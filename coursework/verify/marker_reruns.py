"""A marker's re-runs: a secret sample of a submission's runs, the runs its prose quotes
first, each re-trained in the sandbox by the marker's engine with the handed-in ``models/``
and ``experiments/`` (:mod:`.inside`'s ``retrain``), from the settings the marker hands it and
under the marker's limits, with none of the handed-in results in its reach; compared here,
after it ended, as ``make verify`` compares (:func:`coursework.verify.reproduce.compare`)."""

from __future__ import annotations

import secrets
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from coursework.analysis.checks import Row, short
from coursework.records import layout, storage
from coursework.records.errors import ResultsError
from coursework.records.layout import ResultsSet
from coursework.records.record import RunRecord
from coursework.verify import reproduce
from coursework.verify.bounded import Limits
from coursework.verify.inspection import for_retrain
from coursework.verify.options import MAX_CSV_BYTES, Options
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
    """Re-train a secret sample of ``candidates`` (the inspection's,
    :func:`.inspection.candidates`) in the sandbox ``box``, each with the backend it
    recorded, and compare here; with ``options.slurm``, write each as a task for a cluster
    (:mod:`.cohort`) and give it a pending row instead."""
    if isinstance(box, str) and not options.slurm:
        sheet.facts.update(reruns_agreeing="refused: no sandbox", sandbox="none", rerun_sample=NONE)
        return [whole("re-run: refused", NONE, "a sandbox", short(box, 120), Verdict.NOTE)]
    kind = box.kind if isinstance(box, Sandbox) else "none"
    by_path = {c["record"]: c for c in candidates}
    quoted = [c["record"] for c in candidates if c["weight"] >= QUOTED]
    count = options.reruns(len(quoted))
    seed = secrets.randbits(64)
    done = set(sheet.reran)
    picked = reproduce.secret_sample(
        list(by_path), count, seed, lambda p: by_path[p]["weight"], done, first=set(quoted)
    )
    engine = (
        "the submission's own (HANDED_IN_ENGINE=1)"
        if options.handed_in_engine
        else ("the marker's, with the handed-in models/ and experiments/")
    )
    sheet.facts.update(
        sandbox="bwrap, on the cluster's nodes" if options.slurm else kind,
        rerun_seed=str(seed),
        catch_chance=chance(picked, quoted, count),
        rerun_engine=engine,
        limits=f"{options.limits().words()} (a re-run: its own time limit)",
        rerun_sample="; ".join(
            " seed ".join(label(settings_record(by_path[r]["settings"], r))) for r in picked
        )
        or "none",
    )
    code = rerun_code(root, folder, options)
    rows: list[Row] = []
    for i, rel in enumerate(picked, start=1):
        sheet.reran.append(rel)
        task = task_of(folder, rs, rel, by_path[rel], i, code, options)
        if options.slurm or not isinstance(box, Sandbox):
            storage.write_json(task_file(folder, i), task)
            rows.append(pending_row(task, "not sent yet"))
            continue
        rows += retrain_here(task, f"[{i}/{len(picked)}]", box)
    agreeing(sheet, rows)
    return rows


def retrain_here(task: dict[str, Any], count: str, box: Sandbox) -> list[Row]:
    """Run a re-run's task on this machine, saying so, and compare it."""
    settings = settings_record(task["settings"], task["rel"])
    run_id, seed_label = label(settings)
    print(
        f"    {count} re-training {run_id} seed {seed_label} "
        f"({settings.config.epochs} epochs, backend "
        f"{task['env']['KERAS_BACKEND']}) with the marker's engine and the handed-in "
        f"models, sandbox: {box.kind}; limits {Limits(**task['limits']).words()}",
        flush=True,
    )
    rows = task_rows(task, run_task(task, box))
    print(f"        -> {reproduce.outcome(rows)}", flush=True)
    return rows


def agreeing(sheet: Sheet, rows: list[Row]) -> None:
    """The sheet's ``reruns_agreeing``: runs whose re-run agreed, of those back (and how many
    are pending on a cluster)."""
    reruns = [r for r in rows if r.kind == "re-run"]
    back = {(r.run, r.seed) for r in reruns if r.verdict != Verdict.PENDING}
    bad = {(r.run, r.seed) for r in reruns if not r.ok and r.verdict != Verdict.PENDING}
    waiting = len({(r.run, r.seed) for r in reruns} - back)
    sheet.facts["reruns_agreeing"] = f"{len(back - bad)}/{len(back)}" + (
        f" ({waiting} pending)" if waiting else ""
    )


def task_of(
    folder: Path,
    rs: ResultsSet,
    rel: str,
    candidate: dict[str, Any],
    i: int,
    code: Path,
    options: Options,
) -> dict[str, Any]:
    """Everything one re-run needs, here or on a cluster's node: the settings it is handed,
    the staged code, the marker's limits (its time from the marker's estimate), where its
    answer goes (``<folder>/reruns/NNN``) and the handed-in history it is compared with."""
    settings = candidate["settings"]
    history = inside_files(folder / "files", rel).parent / layout.HISTORY
    limits = replace(options.limits(), seconds=options.rerun_seconds(int(candidate["images"])))
    out = folder / RERUNS / f"{i:03d}"
    return {
        "record": rel,
        "settings": settings,
        "images": int(candidate["images"]),
        "history": str(history),
        "rel": rs.relative(history),
        "code": str(code),
        "work": str(out.with_suffix(".work")),
        "out": str(out),
        "readable": [str(p) for p in data_folders()],
        "env": {
            "KERAS_BACKEND": reproduce.recorded_backend(settings_record(settings, rel)),
            **data_env(),
        },
        "limits": asdict(limits),
        "tolerance": options.tolerance,
        "unsafe": options.unsafe,
    }


def task_file(folder: Path, i: int) -> Path:
    """Where the ``i``-th re-run's task is written for a cluster."""
    return folder / RERUNS / f"{i:03d}.task.json"


def run_task(task: dict[str, Any], box: Sandbox) -> dict[str, Any]:
    """Run a re-run's task in ``box``: its answer, why it was stopped, and its log."""
    answer, outcome = call(
        box,
        "retrain",
        {"settings": for_retrain(task["settings"])},
        code=Path(task["code"]),
        work=Path(task["work"]),
        readable=[Path(p) for p in task["readable"]],
        limits=Limits(**task["limits"]),
        env=task["env"],
    )
    return {"answer": answer, "stopped": outcome.stopped, "log": outcome.log}


def pending_row(task: dict[str, Any], job: str) -> Row:
    """The row of a re-run sent to a cluster (``job``: its Slurm job, or not sent yet)."""
    run_id, seed_label = label(settings_record(task["settings"], task["rel"]))
    name = Path(task["out"]).name
    return Row(
        run_id, seed_label, "re-run: pending", task["rel"], f"task {name}", job, Verdict.PENDING
    )


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


def settings_record(settings: dict[str, Any], source: str) -> RunRecord:
    """The record of a re-run's settings (the parts of the handed-in record ``source`` that
    its re-run is given: :func:`.inspection.settings_of`)."""
    return RunRecord.from_parts(settings, source)


def label(rec: RunRecord) -> tuple[str, str]:
    """A record's run (``question/run``) and seed, as rows name them (a trial by number)."""
    run_id, seed_label = f"{rec.question}/{rec.run}", str(rec.seed)
    if rec.trial is not None:
        seed_label = f"trial {rec.trial.number}"
    return run_id, seed_label


def task_rows(task: dict[str, Any], result: dict[str, Any]) -> list[Row]:
    """A re-run's result (:func:`run_task`'s, here or on a node) compared with the handed-in
    history; what it gave back written to its ``out`` (the marker's folder, never a
    sandbox's), its log beside."""
    settings, out = settings_record(task["settings"], task["rel"]), Path(task["out"])
    run_id, seed_label = label(settings)
    name, rel = task["env"]["KERAS_BACKEND"], task["rel"]
    storage.write_text(out.with_suffix(".log"), str(result.get("log", "")))
    answer = result.get("answer")
    if not isinstance(answer, dict) or "crashed" in answer:
        why = (
            f"stopped: {result['stopped']}"
            if result.get("stopped")
            else (answer or {}).get("crashed") or last_line(str(result.get("log", "")))
        )
        return [reproduce.not_run(run_id, seed_label, name, rel, why, 90)]
    new, history = answer.get("record"), answer.get("history")
    if "error" in answer or not isinstance(history, str) or not isinstance(new, dict):
        why = answer.get("error", "no history")
        return [reproduce.not_run(run_id, seed_label, name, rel, why, 70)]
    try:
        record = RunRecord.from_json(new, out / layout.RECORD)
    except ResultsError as exc:
        return [reproduce.not_run(run_id, seed_label, name, rel, exc, 70)]
    storage.write_text(out / layout.HISTORY, history)
    if isinstance(flow := answer.get("gradients"), str):
        storage.write_text(out / layout.GRADIENTS, flow)
    storage.write_record(out / layout.RECORD, record)
    hist = Path(task["history"])
    if hist.stat().st_size > MAX_CSV_BYTES:
        return [reproduce.not_run(run_id, seed_label, name, rel, "its files are too large", 60)]
    return reproduce.compare(
        settings,
        record,
        hist,
        out / layout.HISTORY,
        run_id,
        seed_label,
        rel,
        name,
        task["tolerance"],
    )


def last_line(log: str) -> str:
    """The last line of a log (why a command failed, mostly)."""
    lines = log.strip().splitlines()
    return lines[-1] if lines else "no output"
