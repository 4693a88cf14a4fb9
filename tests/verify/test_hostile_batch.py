"""One batch of hostile submissions, each built from a real one, marked with re-runs as a
marker marks them (`python -m coursework mark`, a process of its own): a re-run that would
copy the claims, links planted where the marker once looked, memory, disk and process bombs,
a claimed training time of centuries, a report template that loops, a LaTeX log flood, a huge
listing, a huge array, zip names that collide with the marking folder's files or carry
markup. Every zip gets its own right verdict, the honest one beside the attackers passes with
its re-runs byte-identical, nothing outside the marking folder is created, changed or read
into a sheet, and the marker's own memory stays small."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import (
    FC_AND_CONV,
    MARKING_TESTS,
    handed_in_zip,
    toy_spec,
)
from tests.verify.test_hostile import (
    HISTORY,
    MODELS,
    RECORD,
    SET,
    csv_rows,
    in_overleaf,
    rebuilt,
    snapshot,
)

# five minutes: make test TESTS="-m long" (CI leaves it out; test_hostile.py's batch runs there)
pytestmark = [*MARKING_TESTS, pytest.mark.long]

LIMITS = [
    "--memory-gb",
    "1.5",
    "--tasks",
    "160",
    "--disk-gb",
    "0.25",
    "--inspect-seconds",
    "60",
    "--min-rerun-seconds",
    "40",
    "--rerun-speed",
    "1e9",
]
MARKER_PEAK = 1 << 30  # bytes: the marker's own process, whatever the zips hold
BATCH_SECONDS = 900  # the bound this batch is marked within (60 s per looping zip, 40 per re-run)


@pytest.fixture(scope="module")
def honest(tmp_path_factory, tiny_npz) -> Path:
    """A student's submission.zip: three toy runs (fc seeds 0 and 1, conv seed 0)."""
    tmp = tmp_path_factory.mktemp("student")
    runs = FC_AND_CONV.replace('name = "fc"', 'name = "fc"\n    seeds = [0, 1]')
    return handed_in_zip(tmp, toy_spec(tmp, f"npz:{tiny_npz}", runs))


def in_models(code: str):
    """Code run where the handed-in models are imported: inside every re-run."""

    def edit(entries: dict[str, bytes]) -> None:
        entries[MODELS] = code.encode() + b"\n" + entries.get(MODELS, b"")

    return edit


def fake_one_run(entries: dict[str, bytes]) -> None:
    """toy/fc seed 0 claims a better test accuracy, and a sitecustomize.py (not UTF-8) in the
    handed-in code copies the handed-in record and history of the run being re-trained into
    the re-run's output, as the attack on the old marking did."""
    rec = json.loads(entries[RECORD])
    rec["metrics"]["test_accuracy"] = 0.978
    entries[RECORD] = (json.dumps(rec, indent=2) + "\n").encode()
    hist = entries[HISTORY].decode().splitlines()
    cells = hist[-1].split(",")
    col = hist[0].split(",").index("val_accuracy")
    cells[col] = "0.9800"
    hist[-1] = ",".join(cells)
    entries[HISTORY] = ("\n".join(hist) + "\n").encode()
    entries["submission/code/sitecustomize.py"] = COPYCAT.encode("latin-1")
    quote = b"The fc net reaches \\result{toy/fc}{test}\\%.\n"  # the prose quotes the run
    in_overleaf(lambda inner: inner.update({"prose/toy/discussion.tex": quote}))(entries)


COPYCAT = """# -*- coding: latin-1 -*-
# Caf\xe9: at exit, copy the claims over what the re-run wrote
import atexit, os, shutil, sys

def _copy():
    run = os.path.join(os.path.dirname(__file__), "..", "results", "quick", "toy", "fc", "seed-0")
    out = sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else None
    if out and os.path.isdir(run):
        for name in ("run.json", "history.csv"):
            shutil.copy(os.path.join(run, name), out)

atexit.register(_copy)
"""

LINKS = """
import os
_tmp = os.environ.get("TMPDIR", "/tmp")
for _name, _target in [("rerun.log", {outside!r}), ("../rerun.log", {outside!r}),
                       ("../../rerun.log", "../../honest/files/submission/LISTING.txt"),
                       ("../reruns", {outside_dir!r})]:
    try:
        os.symlink(_target, os.path.join(_tmp, _name))
    except OSError as _exc:
        print("ATTACK link", _name, "blocked:", _exc)
for _path in [{outside!r}, {other!r}]:
    try:
        open(_path, "a").write("ATTACKED")
    except OSError as _exc:
        print("ATTACK write", _path, "blocked:", _exc)
"""
MEMORY = "import numpy as _np\n_hog = _np.ones((8 << 30) // 8)\n"
DISK = (
    "import os\n_f = open(os.path.join(os.environ.get('TMPDIR', '/tmp'), 'fill'), 'wb')\n"
    "for _ in range(7 * 1024):\n    _f.write(b'x' * (1 << 20))\n"
)
PROCESSES = (
    "import subprocess, time\n_kids = [subprocess.Popen(['sleep', '120']) for _ in range(200)]\n"
    "time.sleep(120)\n"
)
FOREVER = "import time\ntime.sleep(10**6)\n"
LOOP = (  # 10^10 steps: range() of a sandboxed template stops at 100,000, not nested loops
    r"\BLOCK{for a in range(99999)}\BLOCK{for b in range(99999)}\BLOCK{if a < 0}x"
    r"\BLOCK{endif}\BLOCK{endfor}\BLOCK{endfor}"
    "\n"
)
FLOOD = r"\def\flood{\message{" + "A" * 2000 + r"}\flood}\flood" + "\n"


def claim_centuries(entries: dict[str, bytes]) -> None:
    """Every record claims 1e9 s of training, and the models then sleep for ever."""
    for name in list(entries):
        if name.endswith("/run.json"):
            rec = json.loads(entries[name])
            rec["metrics"]["train_seconds"] = 1e9
            entries[name] = (json.dumps(rec, indent=2) + "\n").encode()
    in_models(FOREVER)(entries)


def huge_listing(src: Path, dest: Path) -> Path:
    """A copy of ``src`` whose LISTING.txt has a million lines."""
    with zipfile.ZipFile(src) as z:
        entries = {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
    entries["submission/LISTING.txt"] = (b"0  " + b"0" * 64 + b"  x\n") * 1_000_000
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return dest


def huge_array(entries: dict[str, bytes]) -> None:
    """A predictions.npz of a few MB that holds a 3 GiB array."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("probs.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f4", "fortran_order": False, "shape": (3 << 28, 3)}
            )
            zeros = b"\0" * (1 << 24)
            for _ in range((3 << 30) // len(zeros)):
                f.write(zeros)
    entries[SET + "toy/fc/seed-0/predictions.npz"] = buf.getvalue()


def flood(entries: dict[str, bytes]) -> None:
    in_overleaf(lambda inner: inner.update({"prose/abstract.tex": FLOOD.encode()}))(entries)


def loop(entries: dict[str, bytes]) -> None:
    name = "submission/code/report_templates/question.tex.j2"
    entries[name] = LOOP.encode() + entries[name]


def peak_of(proc: subprocess.Popen, seen: list[int]) -> None:
    """The marker's high-water mark of resident memory (its own, not its children's)."""
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            seen.append(int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) << 10)
        except (OSError, TypeError):
            pass
        time.sleep(0.05)


def test_a_hostile_batch_with_reruns_gets_each_its_verdict_and_touches_nothing_outside(
    honest, tmp_path, tiny_npz
):
    outside = tmp_path / "outside.txt"
    outside.write_text("the marker's own file\n")
    outside_dir = tmp_path / "outside-dir"
    outside_dir.mkdir()
    inbox, marking = tmp_path / "inbox", tmp_path / "marking"
    inbox.mkdir()
    other = str(marking / "honest" / "sheet.md")
    shutil.copy(honest, inbox / "honest.zip")
    rebuilt(honest, inbox / "copycat.zip", fake_one_run)
    links = LINKS.format(outside=str(outside), outside_dir=str(outside_dir), other=other)
    rebuilt(honest, inbox / "links.zip", in_models(links))
    rebuilt(honest, inbox / "memory.zip", in_models(MEMORY))
    rebuilt(honest, inbox / "disk.zip", in_models(DISK))
    rebuilt(honest, inbox / "processes.zip", in_models(PROCESSES))
    rebuilt(honest, inbox / "centuries.zip", claim_centuries)
    rebuilt(honest, inbox / "loop.zip", loop)
    rebuilt(honest, inbox / "flood.zip", flood)
    huge_listing(honest, inbox / "listing.zip")
    rebuilt(honest, inbox / "array.zip", huge_array)
    shutil.copy(honest, inbox / "marks.md.zip")
    shutil.copy(honest, inbox / "<img src=x onerror=alert(1)>.zip")
    before = snapshot(tmp_path, marking)
    env = {**os.environ, "COURSEWORK_DATA_DIR": str(tiny_npz.parent)}
    cmd = [sys.executable, "-m", "coursework", "mark", str(inbox), "--marking", str(marking)]
    began = time.monotonic()
    proc = subprocess.Popen(
        [*cmd, "--sample", "quoted", *LIMITS], env=env, stdout=subprocess.PIPE, text=True
    )
    peaks: list[int] = []
    watch = threading.Thread(target=peak_of, args=(proc, peaks))
    watch.start()
    out, _ = proc.communicate(timeout=BATCH_SECONDS)
    watch.join()
    seconds = time.monotonic() - began

    assert proc.returncode == 0, out[-3000:]
    assert seconds < BATCH_SECONDS
    assert max(peaks) < MARKER_PEAK, f"the marker's peak: {max(peaks) >> 20} MiB"
    after = snapshot(tmp_path, marking)
    assert after == before, {k for k in set(after) ^ set(before)}
    assert outside.read_text() == "the marker's own file\n"
    assert not any(outside_dir.iterdir())
    links_found = [p for p in marking.rglob("*") if p.is_symlink()]
    assert not links_found, links_found
    rows = {r["submission"]: r for r in csv_rows(marking / "marks.csv")}
    got = {k: r["verdict"] for k, r in rows.items()}
    want = {
        "honest.zip": "pass",
        "copycat.zip": "FAIL",
        "links.zip": "FAIL",
        "memory.zip": "FAIL",
        "disk.zip": "FAIL",
        "processes.zip": "FAIL",
        "centuries.zip": "FAIL",
        "loop.zip": "BROKEN",
        "flood.zip": "FAIL",
        "listing.zip": "BROKEN",
        "array.zip": "BROKEN",
        "marks.md.zip": "pass",
        "<img src=x onerror=alert(1)>.zip": "pass",
    }
    assert got == want, {k: rows[k]["first_failure"] for k in got if got[k] != want[k]}
    assert rows["honest.zip"]["reruns_agreeing"] == "1/1"
    sheet = (marking / "honest" / "sheet.md").read_text()
    assert "byte-identical" in sheet, sheet
    assert rows["links.zip"]["reruns_agreeing"] == "1/1"  # its attack changed nothing learnt
    assert "code digest" in rows["links.zip"]["first_failure"]  # its models are not the zip's
    assert rows["copycat.zip"]["reruns_agreeing"] == "1/2", rows["copycat.zip"]
    copycat = (marking / "copycat" / "sheet.json").read_text()
    faked = [
        r
        for r in json.loads(copycat)["rows"]
        if r["check"].startswith("re-run") and r["run"] == "toy/fc" and r["seed"] == "0"
    ]
    assert faked and any(r["verdict"] != "ok" for r in faked), faked
    notes = (marking / "copycat" / "sheet.md").read_text()
    assert "code/sitecustomize.py" in notes and "not UTF-8" in notes, notes
    reasons = {k: rows[k]["first_failure"] for k in want}
    assert "memory" in json.dumps(sheet_rows(marking, "memory")), reasons["memory.zip"]
    assert "No space left" in json.dumps(sheet_rows(marking, "disk"))
    assert "processes and threads" in json.dumps(sheet_rows(marking, "processes"))
    assert "ran past 40 s" in json.dumps(sheet_rows(marking, "centuries"))
    assert "ran past 60 s" in reasons["loop.zip"], reasons["loop.zip"]
    assert "report compiles" in reasons["flood.zip"], reasons["flood.zip"]
    assert "LISTING.txt" in reasons["listing.zip"], reasons["listing.zip"]
    assert "predictions.npz" in reasons["array.zip"], reasons["array.zip"]
    folders = {p.name for p in marking.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert "marks.md" not in folders and "index.html" not in folders, folders
    for name in ("marks.md", "index.html"):
        text = (marking / name).read_text()
        assert "<img src=x" not in text, name
    assert re.search(r"marked 13: 3 pass, 7 FAIL, 3 BROKEN", out.strip().splitlines()[-1])


def sheet_rows(marking: Path, folder: str) -> list[dict]:
    """The rows of a submission's sheet.json."""
    return json.loads((marking / folder / "sheet.json").read_text())["rows"]
