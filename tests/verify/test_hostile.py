"""`make mark` against hostile submissions, built from a real one: nothing of them runs, they
reach nothing outside their own folder, each is its own row with the right verdict, and the
batch ends with its summary line. The re-runs are sandboxed (bwrap) and drawn from a secret
seed."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import socket
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from coursework.records.layout import ResultsSet
from coursework.verify import mark, options, overleaf, reproduce
from coursework.verify.sandbox import ENGINE
from tests.helpers import (
    FC_AND_CONV,
    MARKING_TESTS,
    handed_in_zip,
    run_cli,
    toy_spec,
)

pytestmark = MARKING_TESTS

SET = "submission/results/quick/"
OVERLEAF = SET + "report/report-overleaf.zip"
HISTORY = SET + "toy/fc/seed-0/history.csv"
RECORD = SET + "toy/fc/seed-0/run.json"
MODELS = "submission/code/models/__init__.py"
SECRET = "Xyzzy-the-markers-secret"


@pytest.fixture(scope="module")
def handed_in(tmp_path_factory, tiny_npz) -> Path:
    """A student's submission.zip: three toy runs (fc seeds 0 and 1, conv seed 0), the
    report built, `make submission`; its data under COURSEWORK_DATA_DIR, as a marker has
    it."""
    tmp = tmp_path_factory.mktemp("student")
    runs = FC_AND_CONV.replace('name = "fc"', 'name = "fc"\n    seeds = [0, 1]')
    spec = toy_spec(tmp, f"npz:{tiny_npz}", runs)
    return handed_in_zip(tmp, spec)


@pytest.fixture
def data_dir(tiny_npz, monkeypatch):
    """The marker's datasets: the folder of the runs' npz (a re-run reads it in the
    sandbox)."""
    monkeypatch.setenv("COURSEWORK_DATA_DIR", str(tiny_npz.parent))


def rebuilt(src: Path, dest: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    """A copy of the zip ``src`` changed by ``change`` (entry name -> bytes, edited in place),
    with LISTING.txt and MANIFEST.json made to agree: the student covered the tracks."""
    with zipfile.ZipFile(src) as z:
        entries = {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
    change(entries)
    man_name = SET + "MANIFEST.json"
    man = json.loads(entries[man_name])
    for name, data in entries.items():
        rel = name.removeprefix(SET)
        if (
            name.startswith(SET)
            and name != man_name
            and (rel in man["files"] or rel.startswith("report/"))
        ):
            man["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    man["files"] = {k: v for k, v in man["files"].items() if SET + k in entries}
    entries[man_name] = json.dumps(man, indent=2).encode()
    lines = [f"{'size':>10}  sha256{' ' * 60}path"]
    lines += [
        f"{len(d):>10}  {hashlib.sha256(d).hexdigest()}  {n.removeprefix('submission/')}"
        for n, d in sorted(entries.items())
        if n != "submission/LISTING.txt"
    ]
    entries["submission/LISTING.txt"] = ("\n".join(lines) + "\n").encode()
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return dest


def in_overleaf(change: Callable[[dict[str, bytes]], None]):
    """An edit of the Overleaf zip inside the submission."""

    def edit(entries: dict[str, bytes]) -> None:
        with zipfile.ZipFile(io.BytesIO(entries[OVERLEAF])) as z:
            inner = {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
        change(inner)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in inner.items():
                z.writestr(name, data)
        entries[OVERLEAF] = buf.getvalue()

    return edit


def snapshot(root: Path, skip: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` but ``skip``, with size and mtime."""
    out = {}
    for path in root.rglob("*"):
        if path == skip or skip in path.parents:
            continue
        st = path.lstat()
        out[str(path)] = (st.st_size, st.st_mtime_ns)
    return out


def test_a_batch_of_hostile_zips_runs_nothing_touches_nothing_outside_and_gets_a_row_each(
    handed_in, tmp_path, capsys
):
    pwned = tmp_path / "pwned"  # what the rc files would write: outside the marking folder
    secret = tmp_path / "secret.tex"
    secret.write_text(SECRET + "\n")
    perl = f'open(my $f, ">", "{pwned}"); print $f "ran"; close($f);\n'.encode()
    inbox, marking = tmp_path / "inbox", tmp_path / "marking"
    inbox.mkdir()
    for beside in ("files", "work"):  # the marker's own folders beside the marking folder
        (tmp_path / beside).mkdir()
        (tmp_path / beside / "keep.txt").write_text("the marker's")

    def rc(entries):
        in_overleaf(lambda inner: inner.update({"latexmkrc": perl, ".latexmkrc": perl}))(entries)
        entries[SET + "report/latexmkrc"] = perl

    def reads_outside(entries):
        def edit(inner):
            inner["prose/abstract.tex"] = f"\\input{{{secret}}}\n".encode()

        in_overleaf(edit)(entries)

    def bump(entries):
        entries[HISTORY] = entries[HISTORY].replace(b"0.", b"0.9", 1)

    rebuilt(handed_in, inbox / "rc.zip", rc)
    rebuilt(handed_in, inbox / "input.zip", reads_outside)
    shutil.copy(handed_in, inbox / "...zip")
    shutil.copy(handed_in, inbox / "s_1.zip")
    rebuilt(handed_in, inbox / "s 1.zip", bump)
    shutil.copy(handed_in, inbox / "s?1.zip")
    with zipfile.ZipFile(inbox / "clash.zip", "w") as z:
        z.writestr("submission/LISTING.txt", "")
        z.writestr("submission/a", "a file")
        z.writestr("submission/a/b", "and a folder")
    rebuilt(
        handed_in, inbox / "deep.zip", lambda e: e.update({RECORD: b"[" * 200_000 + b"]" * 200_000})
    )
    rebuilt(
        handed_in,
        inbox / "escape.zip",
        lambda e: e.update(
            {  # a results set out of it
                "submission/SUBMISSION.json": json.dumps({"results_set": "../../../.."}).encode()
            }
        ),
    )
    before = snapshot(tmp_path, marking)

    assert run_cli("mark", inbox, "--marking", marking, "--sample", "0") == 0

    assert not pwned.exists(), "an rc file of the submission ran"
    after = snapshot(tmp_path, marking)
    assert after == before, {k for k in set(after) ^ set(before)}
    out = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"marked 9: 4 pass, 2 FAIL, 3 BROKEN \(.*marks\.md\)", out[-1]), out[-3:]
    rows = {r["submission"]: r for r in csv_rows(marking / "marks.csv")}
    assert sorted(rows) == sorted(p.name for p in inbox.iterdir())
    want = {
        "rc.zip": "pass",
        "input.zip": "FAIL",
        "...zip": "pass",
        "s_1.zip": "pass",
        "s 1.zip": "FAIL",
        "s?1.zip": "pass",
        "clash.zip": "BROKEN",
        "deep.zip": "BROKEN",
        "escape.zip": "BROKEN",
    }
    assert {k: r["verdict"] for k, r in rows.items()} == want, {
        k: r["first_failure"] for k, r in rows.items()
    }
    assert "report compiles" in rows["input.zip"]["first_failure"], rows["input.zip"]
    assert "toy-curves" in rows["s 1.zip"]["first_failure"], rows["s 1.zip"]  # drawn before
    assert "is a file and a folder" in rows["clash.zip"]["first_failure"]
    assert "nested too deeply" in rows["deep.zip"]["first_failure"]
    assert "a results set's name" in rows["escape.zip"]["first_failure"]
    assert "the same bytes as ...zip, s?1.zip" in (marking / "s_1" / "sheet.md").read_text()
    folders = sorted(p.name for p in marking.iterdir() if p.is_dir() and p.name != ENGINE)
    assert len(folders) == 9 and all(not n.startswith(".") for n in folders), folders
    for path in marking.rglob("*"):  # the marker's file is in no output
        if path.is_file() and path.suffix in (".pdf", ".log", ".md", ".csv", ".json"):
            assert SECRET.encode() not in path.read_bytes(), path


def csv_rows(path: Path) -> list[dict]:
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_marking_one_zip_again_keeps_every_row_and_its_last_rerun(handed_in, tmp_path, data_dir):
    inbox, marking = tmp_path / "inbox", tmp_path / "marking"
    inbox.mkdir()
    shutil.copy(handed_in, inbox / "a.zip")
    rebuilt(
        handed_in,
        inbox / "b.zip",
        lambda e: e.update({HISTORY: e[HISTORY].replace(b"0.", b"0.9", 1)}),
    )
    assert run_cli("mark", inbox / "a.zip", "--marking", marking, "--sample", "1") == 0
    assert run_cli("mark", inbox, "--marking", marking, "--sample", "0") == 0
    rows = {r["submission"]: r for r in csv_rows(marking / "marks.csv")}
    assert rows["a.zip"]["reruns_agreeing"] == "1/1", rows["a.zip"]
    assert rows["b.zip"]["verdict"] == "FAIL"
    assert run_cli("mark", inbox / "a.zip", "--marking", marking, "--sample", "0", "--again") == 0
    rows = {r["submission"]: r for r in csv_rows(marking / "marks.csv")}
    assert sorted(rows) == ["a.zip", "b.zip"] and rows["b.zip"]["verdict"] == "FAIL"
    assert rows["a.zip"]["reruns_agreeing"] == "1/1", rows["a.zip"]


HOSTILE_MAIN = """
import os, socket, sys
def _attack():
    for host, port in [("127.0.0.1", int(os.environ.get("CW_TEST_PORT", "0") or {port})),
                       ("1.1.1.1", 80)]:
        try:
            socket.create_connection((host, port), timeout=3).close()
            print("ATTACK connect", host, "reached", flush=True)
        except OSError as exc:
            print("ATTACK connect", host, "blocked:", exc, flush=True)
    for path in {targets!r}:
        try:
            with open(path, "w") as f:
                f.write("escaped")
            print("ATTACK write", path, "written", flush=True)
        except OSError as exc:
            print("ATTACK write", path, "blocked:", exc, flush=True)
_attack()
"""


def test_a_rerun_in_the_sandbox_reaches_no_network_writes_nothing_outside_and_reproduces(
    handed_in, tmp_path, data_dir
):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    reached = []
    server.settimeout(0.5)

    def accept():
        while not stop.is_set():
            try:
                reached.append(server.accept())
            except OSError:
                pass

    stop = threading.Event()
    threading.Thread(target=accept, daemon=True).start()
    marking = tmp_path / "marking"
    targets = [
        str(tmp_path / "escaped.txt"),
        str(marking / "escaped.txt"),
        str(Path.home() / "cw-escaped.txt"),
        str(marking / "other" / "sheet.md"),
        "/cw-escaped.txt",
    ]
    (marking / "other").mkdir(parents=True)
    (marking / "other" / "sheet.md").write_text("another student's sheet")

    def attack(entries):  # the handed-in models run in every re-run
        models = entries[MODELS].decode()
        entries[MODELS] = (HOSTILE_MAIN.format(port=port, targets=targets) + models).encode()

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rebuilt(handed_in, inbox / "hostile.zip", attack)
    try:
        sheets = mark.mark(inbox, marking, options.Options(sample=1))
    finally:
        stop.set()
        server.close()
    sheet = sheets[0]
    log = (marking / "hostile" / "reruns" / "001.log").read_text()
    assert log.count("ATTACK connect") == 2 and "reached" not in log, log[-2000:]
    assert log.count("ATTACK write") == len(targets) and " written" not in log, log[-2000:]
    assert not reached
    for t in targets[:3]:
        assert not Path(t).exists()
    assert (marking / "other" / "sheet.md").read_text() == "another student's sheet"
    assert sheet.facts["sandbox"] == "bwrap" and sheet.facts["reruns_agreeing"] == "1/1", (
        sheet.facts,
        [r for r in sheet.rows if r.kind == "re-run"],
    )


def test_three_markings_of_one_zip_rerun_three_runs_and_verify_picks_the_same(
    handed_in, tmp_path, data_dir
):
    marking = tmp_path / "marking"
    picked = []
    for _ in range(3):
        sheet = mark.mark(handed_in, marking, options.Options(sample=1), again=True)[0]
        assert sheet.facts["reruns_agreeing"] == "1/1", sheet.facts
        picked.append(sheet.facts["rerun_sample"])
        assert re.fullmatch(r"\d+", sheet.facts["rerun_seed"])
        sheet_md = (marking / "submission" / "sheet.md").read_text()
        assert f"secret seed {sheet.facts['rerun_seed']}" in sheet_md
    assert len(set(picked)) == 3, picked
    root = marking / "submission" / "files" / "submission" / "results"
    verify_picks = [reproduce.rerun_jobs(ResultsSet(root, "quick"), None, 1) for _ in range(3)]
    assert verify_picks[0] == verify_picks[1] == verify_picks[2]


def test_the_markers_sample_favours_the_runs_of_the_body(tmp_path):
    paths = [tmp_path / f"{i}" for i in range(10)]
    heavy = paths[0]
    drawn = [
        reproduce.secret_sample(paths, 1, seed, lambda p: 9.0 if p == heavy else 1.0, set())
        for seed in range(2000)
    ]
    share = sum(d == [heavy] for d in drawn) / len(drawn)
    assert 0.4 < share < 0.6, share  # 9 / 18 = 0.5; uniform would be 0.1
    assert len({tuple(d) for d in drawn}) == 10  # every run can be drawn


def test_the_runs_the_prose_quotes_weigh_most_in_the_markers_sample(handed_in, tmp_path):
    from coursework.verify import archive

    archive.unpack(handed_in, tmp_path / "files")
    root = tmp_path / "files" / "submission"
    sources = tmp_path / "sources"
    archive.unpack(root / "results" / "quick" / "report" / "report-overleaf.zip", sources)
    (sources / "prose" / "toy").mkdir(parents=True, exist_ok=True)
    (sources / "prose" / "toy" / "discussion.tex").write_text(
        "The conv net reaches \\result{toy/conv}{test}% % not \\result{toy/fc}{test}\n"
    )
    weigh = overleaf.weight(ResultsSet(root / "results", "quick"), sources)
    got = {
        (p.parent.parent.name, p.parent.name): weigh(p)
        for p in ResultsSet(root / "results", "quick").record_paths()
    }
    assert got == {("conv", "seed-0"): 4.0, ("fc", "seed-0"): 2.0, ("fc", "seed-1"): 2.0}


def test_without_bwrap_nothing_of_a_submission_runs_unless_unsafe_and_the_sheet_says_which(
    handed_in, tmp_path, data_dir, monkeypatch
):
    from coursework.verify import sandbox

    monkeypatch.setattr(sandbox, "bwrap_problem", lambda scratch: "bwrap is not installed")
    [sheet] = mark.mark(handed_in, tmp_path / "marking", options.Options(sample=1))
    assert sheet.verdict == "pass" and sheet.facts["sandbox"] == "none"
    assert sheet.facts["reruns_agreeing"] == "refused: no sandbox" and sheet.facts["pages"] == "?"
    notes = {r.check: r.got for r in sheet.rows if r.verdict == "note"}
    assert "UNSAFE=1" in notes["re-run: refused"] and "not compiled" in notes["report compiles"]
    assert len(sheet.rows) > 200  # the integrity pass ran whole
    [sheet] = mark.mark(handed_in, tmp_path / "marking", options.Options(sample=1, unsafe=True))
    assert sheet.facts["sandbox"] == "none (UNSAFE=1)" and sheet.facts["reruns_agreeing"] == "1/1"
    assert sheet.facts["pages"] == "1"
