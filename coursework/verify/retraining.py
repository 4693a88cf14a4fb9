"""A marker's re-runs: a secret sample of a submission's runs, each re-trained by the
handed-in code (``python -m coursework retrain``) from its handed-in ``run.json``, with the
backend it recorded, in the sandbox; compared here as ``make verify`` compares
(:func:`coursework.verify.rerun.compare`)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from coursework.analysis.checks import Row, short
from coursework.records import layout, storage
from coursework.records.errors import CourseworkError
from coursework.records.layout import ResultsSet
from coursework.verify import rerun
from coursework.verify.options import RERUN_TIMEOUT, Options
from coursework.verify.overleaf import weight
from coursework.verify.sandbox import Sandbox
from coursework.verify.sheets import Sheet
from coursework.verify.verdicts import NONE, Verdict, whole


def rerun_rows(
    root: Path,
    rs: ResultsSet,
    work: Path,
    options: Options,
    sheet: Sheet,
    box: Sandbox | str,
) -> list[Row]:
    """Re-train a secret sample of runs with the handed-in code, each from its handed-in
    ``run.json`` and with the backend it recorded, in the sandbox ``box``; compare here."""
    if isinstance(box, str):
        sheet.facts.update(reruns_agreeing="refused: no sandbox", sandbox="none", rerun_sample=NONE)
        return [whole("re-run: refused", NONE, "a sandbox", short(box, 120), Verdict.NOTE)]
    candidates = rerun.rerun_jobs(rs, None, None)
    seed = secrets.randbits(64)
    done = {rs.root / rel for rel in sheet.reran}
    jobs = rerun.secret_sample(
        candidates, options.sample, seed, weight(rs, work / "report-sources"), done
    )
    sheet.facts.update(sandbox=box.kind, rerun_seed=str(seed))
    env, readable = sandbox_env(root, work / "tmp")
    rows: list[Row] = []
    sampled = []
    for i, path in enumerate(jobs, start=1):
        rec = storage.read_json(path)
        run_id, seed_label = label(rec)
        sampled.append(f"{run_id} seed {seed_label}")
        sheet.reran.append(path.relative_to(rs.root).as_posix())
        print(
            f"    [{i}/{len(jobs)}] re-training {run_id} seed {seed_label} "
            f"({rec['config']['epochs']} epochs, backend {rerun.recorded_backend(rec)}) with "
            f"the handed-in code, sandbox: {box.kind}",
            flush=True,
        )
        out = work / "rerun" / f"{i:03d}"  # work/ is made anew for each marking
        rows += rerun_one(root, rs, path, out, (box, env, readable), options.tolerance)
    sheet.facts["rerun_sample"] = "; ".join(sampled) or "none"
    runs = {(r.run, r.seed) for r in rows}
    agree = len(runs) - len({(r.run, r.seed) for r in rows if not r.ok})
    sheet.facts["reruns_agreeing"] = f"{agree}/{len(runs)}"
    return rows


def label(rec: dict[str, Any]) -> tuple[str, str]:
    """A record's run (``question/run``) and seed, as rows name them (a trial by number)."""
    run_id, seed_label = f"{rec['question']}/{rec['run']}", str(rec["seed"])
    if "trial" in rec:
        seed_label = f"trial {rec['trial']['number']}"
    return run_id, seed_label


def sandbox_env(root: Path, tmp: Path) -> tuple[dict[str, str], list[Path]]:
    """The environment of a re-run (nothing of the marker's but the data folder) and what it
    may read: the submission, and the data folder where one is set."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(tmp / "home"),
        "PYTHONPATH": str(root / "code"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMPDIR": str(tmp),
        "KERAS_HOME": str(tmp / "keras"),
        "MPLCONFIGDIR": str(tmp / "matplotlib"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "COURSEWORK_CACHE": str(tmp / "coursework"),
    }
    readable = [root]
    if os.environ.get("COURSEWORK_DATA_DIR"):
        env["COURSEWORK_DATA_DIR"] = os.environ["COURSEWORK_DATA_DIR"]
        readable.append(Path(os.environ["COURSEWORK_DATA_DIR"]).expanduser().resolve())
    return env, readable


def rerun_one(
    root: Path,
    rs: ResultsSet,
    path: Path,
    out: Path,
    sandbox: tuple[Sandbox, dict[str, str], list[Path]],
    tolerance: float,
) -> list[Row]:
    """Re-train the run of ``path`` (its ``run.json``) into ``out`` (``<work>/rerun/NNN``,
    the marking's work folder the only one it writes in) and compare it; ``sandbox``: the
    box, the environment and what it may read (:func:`sandbox_env`)."""
    work = out.parent.parent
    rec = storage.read_json(path)
    run_id, seed_label = label(rec)
    name = rerun.recorded_backend(rec)
    (work / "tmp" / "home").mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    box, env, readable = sandbox
    cmd, run_env = box.command(
        [sys.executable, "-m", "coursework", "retrain", str(path), "--out", str(out)],
        cwd=root / "code",
        writable=work,
        readable=readable,
        env={**env, "KERAS_BACKEND": name},
    )
    seconds = float(rec.get("metrics", {}).get("train_seconds") or 0)
    code_rc = run_logged(cmd, root / "code", run_env, work / "rerun.log", name, seconds)
    rel = rs.relative(path.parent / layout.HISTORY)
    new_rec, new_hist = out / layout.RECORD, out / layout.HISTORY
    if code_rc != 0 or not new_rec.exists() or not new_hist.exists():
        tail = (work / "rerun.log").read_text(errors="replace").strip().splitlines()
        why = code_rc if isinstance(code_rc, str) else tail[-1] if tail else f"exit {code_rc}"
        if "invalid choice: 'retrain'" in why:
            why = "the handed-in code has no retrain command (an older template)"
        return [rerun.not_run(run_id, seed_label, name, rel, why, 70)]
    try:
        new = storage.read_json(new_rec)
    except CourseworkError as exc:
        new = {"error": str(exc)}
    hist = path.parent / layout.HISTORY
    mine = rerun.compare(rec, new, hist, new_hist, run_id, seed_label, rel, name, tolerance)
    print(f"        -> {rerun.outcome(mine)}", flush=True)
    return mine


def run_logged(
    cmd: list[str],
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    name: str,
    seconds: float,
) -> int | str:
    """Run ``cmd``, its output appended to ``log_path``: its exit status, or why it was
    stopped (the time limit: :data:`RERUN_TIMEOUT`, from the recorded ``seconds``)."""
    limit = max(RERUN_TIMEOUT[0], RERUN_TIMEOUT[1] * seconds)
    with open(log_path, "a") as log:
        log.write(f"$ KERAS_BACKEND={name} {' '.join(cmd)}\n")
        log.flush()
        try:
            return subprocess.run(
                cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=limit
            ).returncode
        except subprocess.TimeoutExpired:
            return f"timed out after {limit:.0f} s"
