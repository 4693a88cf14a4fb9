"""Manifest, `verify`, statistics over seeds, and robustness of the results folder."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from coursework.analysis import aggregates, checks, manifest
from coursework.commands import cli
from coursework.records import layout, locks, results, storage
from coursework.records.layout import ResultsSet
from coursework.records.record import SCHEMA_VERSION
from coursework.report import render as report
from coursework.runtime import backend
from coursework.verify import integrity as verify
from coursework.verify import reproduce
from tests.helpers import FC_AND_CONV, copied, in_progress, toy_spec


def as_handed_in(src: Path, tmp: Path) -> Path:
    """Question toy of the results folder ``src``, copied into ``tmp``, with its report's
    sources and the manifest written: a results folder as a student submits it."""
    res = copied(src, tmp / "results", questions=("toy",))
    report.render(ResultsSet(res, "quick"), prose_root=tmp / "prose")
    with locks.locked(ResultsSet(res, "quick")):
        manifest.write(ResultsSet(res, "quick"))
    return res


@pytest.fixture(scope="module")
def submitted(tmp_path_factory, trained_results) -> Path:
    """A results folder as a student submits it: 2 runs x 3 seeds (question toy of the
    session's trained set), summary, stats, ensembles, report .tex files and the manifest."""
    return as_handed_in(trained_results, tmp_path_factory.mktemp("verify"))


@pytest.fixture(scope="module")
def handed(tmp_path_factory) -> Path:
    """The same, of the checked-in results set (tests.recorded: trained by the engine, no
    weights), its report and manifest written here: what the checks that re-train nothing
    read, with no training."""
    from tests.recorded import RECORDED

    return as_handed_in(RECORDED, tmp_path_factory.mktemp("handed"))


@pytest.fixture
def copy(handed, tmp_path) -> Path:
    """A fresh copy of the handed-in results to tamper with."""
    return copied(handed, tmp_path / "results")


@pytest.fixture
def trained_copy(submitted, tmp_path) -> Path:
    """A fresh copy of the results trained in this session: for the checks that re-train."""
    return copied(submitted, tmp_path / "results")


def failures(res: Path, **kw) -> list[checks.Row]:
    rows = verify.verify(ResultsSet(res, "quick"), do_rerun=kw.pop("rerun", False), **kw)
    return [r for r in rows if not r.ok]


def bump_digit(path: Path, after: str) -> None:
    """Change the first digit that follows ``after`` in ``path``."""
    text = path.read_text()
    i = text.index(after) + len(after)
    while not text[i].isdigit():
        i += 1
    text = text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1 :]
    path.write_text(text)


# --------------------------------------------------------------------------- manifest


@pytest.mark.slow
def test_manifest_lists_every_file_with_hash_and_provenance(submitted):
    man = json.loads((submitted / "quick" / "MANIFEST.json").read_text())
    assert man["schema_version"] == SCHEMA_VERSION
    files = man["files"]
    for rel in (
        "summary.csv",
        "stats.csv",
        "ensembles.csv",
        "report/numbers.tex",
        "toy/fc/seed-0/history.csv",
        "toy/conv/seed-2/run.json",
    ):
        assert rel in files
    path = submitted / "quick" / "toy/fc/seed-0/history.csv"
    assert files["toy/fc/seed-0/history.csv"] == {
        "sha256": manifest.sha256(path),
        "size": path.stat().st_size,
    }
    assert "MANIFEST.json" not in files and not any(k.startswith(".") for k in files)
    assert set(man["git"]) == {"commit", "dirty"}
    assert man["packages"][backend.current()] and man["hardware"]["cpu_count"] >= 1
    assert "gpus" in man["hardware"]
    assert len(man["datasets"]) == 1
    assert next(iter(man["datasets"].values()))["fingerprint"]
    assert [b["name"] for b in man["backends"]] == [backend.current()]
    assert man["backends"][0]["version"] == backend.version()
    assert man["command"]


@pytest.mark.slow
def test_run_json_records_the_training_settings(submitted):
    rec = storage.read_json(submitted / "quick/toy/fc/seed-0/run.json")
    assert rec["determinism"]["op_determinism"] is True  # the default without a GPU
    assert rec["determinism"]["mixed_precision"] is False
    # XLA: always on JAX; on TensorFlow only on a GPU (it was slower on CPU)
    assert rec["determinism"]["jit_compile"] is (backend.current() == "jax")


# --------------------------------------------------------------------------- verify


@pytest.mark.slow
def test_untouched_results_pass_and_rerun_is_byte_identical(trained_copy):
    rows = verify.verify(ResultsSet(trained_copy, "quick"), sample=2)
    assert all(r.ok for r in rows), [r for r in rows if not r.ok]
    reruns = [r for r in rows if r.check.startswith("re-run history")]
    assert len(reruns) == 2 and all("byte-identical" in r.check for r in reruns)
    flows = [r for r in rows if r.check.startswith("re-run gradients.csv: byte-identical")]
    assert [r.file.rsplit("/", 1)[-1] for r in flows] == ["gradients.csv"] * 2
    written = storage.read_csv(trained_copy / "quick" / "verification.csv")
    assert len(written) == len(rows) and written[0].keys() >= {
        "run",
        "seed",
        "check",
        "expected",
        "got",
        "verdict",
    }


@pytest.mark.slow
def test_report_gets_a_reproducibility_appendix(trained_copy, tmp_path):
    rows = verify.verify(ResultsSet(trained_copy, "quick"), sample=1)
    report.render(ResultsSet(trained_copy, "quick"), prose_root=tmp_path / "prose")
    tex = (trained_copy / "quick/report/report.tex").read_text()
    files = sum(r.check == "file sha256" for r in rows)
    assert f"file sha256 & {files} & {files} \\\\" in tex
    assert (
        f"checked {len(rows)} item(s) of these results and re-trained 1 run(s) and seed(s): "
        "all matched"
    ) in tex
    assert "re-run history: byte-identical" in tex


def test_the_appendix_leaves_out_a_verification_older_than_the_results(copy, tmp_path, capsys):
    """A run trained again after `make verify` (its files, and the manifest, rewritten): the
    paper no longer says "all matched" of results verify never saw, and says why."""
    rs = ResultsSet(copy, "quick")
    verify.verify(rs, do_rerun=False)
    history = copy / "quick/toy/fc/seed-1/history.csv"
    history.write_text(history.read_text() + "\n")
    with locks.locked(rs):
        manifest.write(rs)
    report.render(rs, prose_root=tmp_path / "prose")
    tex = (copy / "quick/report/report.tex").read_text()
    assert "of these results" not in tex
    assert "toy/fc/seed-1/history.csv: changed since make verify checked" in (
        capsys.readouterr().out
    )


@pytest.mark.slow
def test_verify_re_trains_the_papers_questions_and_says_which(trained_copy, capsys):
    """Runs of a question outside the paper (report/numbers.json: toy) are checked, not
    re-trained; the appendix's count is of the paper's runs."""
    shutil.copytree(trained_copy / "quick/toy", trained_copy / "quick/other")
    for path in (trained_copy / "quick/other").glob("*/seed-*/run.json"):
        path.write_text(json.dumps({**json.loads(path.read_text()), "question": "other"}))
    rs = ResultsSet(trained_copy, "quick")
    assert {p.parts[-4] for p in reproduce.rerun_jobs(rs, None, None)} == {"toy", "other"}
    rows = verify.verify(rs, sample=3)
    retrained = {r.run.split("/")[0] for r in rows if r.check.startswith("re-run")}
    assert retrained == {"toy"}
    assert "re-training 3 run(s) and seed(s) of the paper's questions, toy" in (
        capsys.readouterr().out
    )


def test_edited_history_digit_fails_naming_the_file(copy):
    bump_digit(copy / "quick/toy/fc/seed-1/history.csv", "\n2,")
    bad = failures(copy)
    assert bad and {r.file for r in bad} == {"toy/fc/seed-1/history.csv"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, after, named",
    [
        # epoch 1's loss: no summary field depends on it
        ("history.csv", "\n1,", "epoch 1 loss"),
        # epoch 1's mean |gradient| of the first kernel
        ("gradients.csv", "\n1,convpool1_conv,kernel,100,", "epoch 1 convpool1_conv/kernel"),
    ],
)
def test_an_edited_value_with_a_forged_manifest_is_named_by_the_rerun(
    trained_copy, name, after, named
):
    path = trained_copy / "quick/toy/conv/seed-0" / name
    bump_digit(path, after)
    with locks.locked(ResultsSet(trained_copy, "quick")):
        manifest.write(ResultsSet(trained_copy, "quick"))
    assert failures(trained_copy) == []  # the files agree with each other...
    bad = failures(trained_copy, question="toy", rerun=True)
    assert [(r.run, r.seed, r.file) for r in bad] == [("toy/conv", "0", f"toy/conv/seed-0/{name}")]
    assert "byte-identical" in bad[0].check and bad[0].got.startswith(named), bad[0]


def test_edited_summary_cell_fails_naming_the_file(copy):
    path = copy / "quick/summary.csv"
    rows = storage.read_csv(path)
    cell = rows[3]["test_accuracy"]
    i = next(i for i in range(2, len(cell)) if cell[i].isdigit())  # after "0."
    rows[3]["test_accuracy"] = cell[:i] + str((int(cell[i]) + 1) % 10) + cell[i + 1 :]
    storage.write_csv(path, results.SUMMARY_COLUMNS, rows)
    bad = failures(copy)
    assert {r.file for r in bad} == {"summary.csv"}
    assert any(r.check == "summary.csv test_accuracy" for r in bad)


def test_edited_number_in_numbers_tex_fails_naming_the_file(copy):
    bump_digit(copy / "quick/report/numbers.tex", "\\cwset{toy/conv}{test}{")
    bad = failures(copy)
    assert {r.file for r in bad} == {"report/numbers.tex"}
    assert any(r.check == "numbers.tex test" and r.run == "toy/conv" for r in bad)


def test_edited_report_table_names_file_run_and_column(copy):
    path = copy / "quick/report/toy-appendix.tex"  # the statistics table is in the appendix
    text = path.read_text()
    line = next(x for x in text.splitlines() if x.startswith(r"\texttt{fc} & 3 &"))
    path.write_text(text.replace(line, line.replace(" & 3 & ", " & 5 & ", 1)))
    bad = [r for r in failures(copy) if r.check != "file sha256"]
    assert [(r.file, r.run, r.check) for r in bad] == [
        ("report/toy-appendix.tex", "toy/fc", "report table: Seeds")
    ]


def test_deleted_run_folder_names_the_missing_run(copy):
    shutil.rmtree(copy / "quick/toy/conv/seed-1")
    bad = failures(copy)
    missing = [r for r in bad if r.check == "missing run"]
    assert missing and all((r.run, r.seed) == ("toy/conv", "1") for r in missing)


def test_cli_exit_status_and_message(copy, capsys):
    assert cli.main(["--results", str(copy), "verify", "--profile", "quick", "--no-rerun"]) == 0
    bump_digit(copy / "quick/stats.csv", "toy,conv,3,")
    assert cli.main(["--results", str(copy), "verify", "--profile", "quick", "--no-rerun"]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "stats.csv" in err


def test_missing_manifest_is_reported(copy):
    (copy / "quick/MANIFEST.json").unlink()
    bad = failures(copy)
    assert [r.verdict for r in bad] == ["MISSING"] and "MANIFEST.json" in bad[0].got


def test_manifest_from_another_schema_version_is_refused_naming_it(copy):
    path = copy / "quick/MANIFEST.json"
    man = json.loads(path.read_text())
    man.update(schema_version=99, coursework_version="9.0.0")
    path.write_text(json.dumps(man))
    bad = failures(copy)
    assert "schema version 99" in bad[0].got and "9.0.0" in bad[0].got


def test_run_json_from_another_version_is_refused_naming_file_and_version(copy, capsys):
    path = copy / "quick/toy/fc/seed-0/run.json"
    rec = json.loads(path.read_text())
    rec.update(schema_version=0, coursework_version="0.0.1")
    path.write_text(json.dumps(rec))
    assert cli.main(["--results", str(copy), "verify", "--profile", "quick", "--no-rerun"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "schema version 0" in err and "0.0.1" in err


# --------------------------------------------------------------------------- statistics


def test_stats_csv_and_report_say_what_is_within_noise(handed):
    rows = storage.read_csv(handed / "quick/stats.csv")
    assert [(r["run"], r["baseline"]) for r in rows] == [("fc", "fc"), ("conv", "fc")]
    summary = [r for r in storage.read_csv(handed / "quick/summary.csv") if r["run"] == "conv"]
    acc = [float(r["test_accuracy"]) for r in summary]
    fc = [
        float(r["test_accuracy"])
        for r in storage.read_csv(handed / "quick/summary.csv")
        if r["run"] == "fc"
    ]
    conv = rows[1]
    assert float(conv["mean"]) == pytest.approx(np.mean(acc))
    assert float(conv["p_value"]) == pytest.approx(sps.ttest_ind(acc, fc, equal_var=False).pvalue)
    assert conv["within_noise"] == ("yes" if float(conv["p_value"]) >= 0.05 else "no")
    tex = (handed / "quick/report/toy.tex").read_text()
    assert "95\\% CI" in tex and ("Within noise" in tex or "Beyond noise" in tex)


# --------------------------------------------------------------------------- robustness


@pytest.mark.slow  # builds the network
def test_disk_full_during_training_stops_with_one_error(tmp_path, tiny_npz, monkeypatch, capsys):
    from coursework.engine import claimed

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(claimed, "train_one", full)
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", epochs=1, seeds="[0, 1]")
    assert cli.main(["--results", str(tmp_path / "results"), "run", str(spec)]) == 2
    captured = capsys.readouterr()
    assert "No space left on device" in captured.err and "seed-0" in captured.err
    assert "[2/2]" not in captured.out  # stopped at the first run
    assert not list((tmp_path / "results").rglob("run.json"))


@pytest.mark.slow
def test_two_questions_at_once_do_not_corrupt_each_other(tmp_path, tiny_npz):
    """What `make -j2 a b` does: two processes, one results folder."""
    specs = [
        toy_spec(tmp_path, f"npz:{tiny_npz}", name=q, epochs=1, seeds="[0, 1]")
        for q in ("qa", "qb")
    ]
    res = tmp_path / "results"
    cmd = [sys.executable, "-m", "coursework", "--results", str(res), "run"]
    procs = [
        subprocess.Popen(
            [*cmd, str(s)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        for s in specs
    ]
    for p in procs:
        assert p.wait(timeout=600) == 0, p.stderr.read()
    summary = storage.read_csv(res / "quick/summary.csv")
    assert sorted((r["question"], r["seed"]) for r in summary) == [
        ("qa", "0"),
        ("qa", "1"),
        ("qb", "0"),
        ("qb", "1"),
    ]
    assert [r for r in verify.integrity(ResultsSet(res, "quick")) if not r.ok] == []


def test_manifest_records_the_lock_and_verify_notes_other_versions(copy, monkeypatch, capsys):
    from coursework.runtime import env

    made = manifest.read(ResultsSet(copy, "quick"))["lock"]
    assert made["file"] in {f"locks/{s}.txt" for s in env.LOCK_FILES[backend.current()]}
    assert isinstance(made["matches"], bool)
    other = {
        "file": "locks/x.txt",
        "matches": False,
        "differences": {"keras": {"locked": "9.9", "installed": "3.0"}},
    }
    monkeypatch.setattr(env, "lock_state", lambda: other)
    rows = verify.verify(ResultsSet(copy, "quick"), do_rerun=False)
    notes = [r for r in rows if r.check == "lock: installed here"]
    assert [r.verdict for r in notes] == ["note"] and notes[0].ok
    assert "keras 3.0 (lock 9.9)" in notes[0].got
    assert cli.main(["--results", str(copy), "verify", "--profile", "quick", "--no-rerun"]) == 0
    assert "keras 3.0 (lock 9.9)" in capsys.readouterr().out


@pytest.mark.slow
def test_runs_never_trained_are_a_note_not_a_failure(tmp_path, tiny_npz, capsys):
    """Results may hold some of a question's runs (`run --only`): verify passes and says which
    runs of the spec are not there; a run deleted after the manifest listed it still fails."""
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", runs=FC_AND_CONV, epochs=1, seeds="[0, 1]")
    res = tmp_path / "r"
    assert cli.main(["--results", str(res), "run", str(spec), "--only", "fc"]) == 0
    capsys.readouterr()
    assert cli.main(["--results", str(res), "verify", "--no-rerun"]) == 0
    out = capsys.readouterr().out
    assert "note: not trained: toy/conv: no run.json for seed 0, 1" in out
    shutil.rmtree(res / "quick/toy/fc/seed-1")
    bad = [r for r in verify.verify(ResultsSet(res, "quick"), do_rerun=False) if not r.ok]
    assert {(r.check, r.run, r.seed) for r in bad} >= {("missing run", "toy/fc", "1")}


def test_a_run_missing_from_the_results_is_a_note_and_a_deleted_listed_run_fails(recorded, capsys):
    """The same on the recorded set, no training: its conv never trained (the shared files
    written without it, as `run --only fc` leaves them) is a note; a listed seed deleted
    fails."""
    rs = ResultsSet(recorded, "quick")
    shutil.rmtree(recorded / "quick/toy/conv")
    shutil.rmtree(rs.report_dir())  # no paper built
    aggregates.write_aggregates(rs)
    assert cli.main(["--results", str(recorded), "verify", "--no-rerun"]) == 0
    out = capsys.readouterr().out
    assert "note: not trained: toy/conv: no run.json for seed 0, 1, 2" in out
    shutil.rmtree(recorded / "quick/toy/fc/seed-1")
    bad = [r for r in verify.verify(rs, do_rerun=False) if not r.ok]
    assert {(r.check, r.run, r.seed) for r in bad} >= {("missing run", "toy/fc", "1")}


# --------------------------------------------------------------------------- runs in progress


@pytest.mark.parametrize("record", ["absent", "running"])
def test_a_run_in_progress_is_a_note_and_the_complete_runs_are_still_checked(
    copy, monkeypatch, capsys, record
):
    """`make verify` while runs train: a new seed part-way (files the manifest does not list,
    written after it), a complete run trained again beside itself (``.seed-0.next``) and a
    tuning trial part-way are each one note naming run and seed, none of their files fails,
    and none is re-trained; an edited complete run still fails."""
    base = copy / "quick" / "toy"
    # the manifest is rewritten (make report) while seed 3 trains: it lists its first epoch
    in_progress(base / "conv/seed-0", base / "conv/seed-3", record)
    with locks.locked(ResultsSet(copy, "quick")):
        manifest.write(ResultsSet(copy, "quick"))
    lines = (base / "conv/seed-0" / layout.HISTORY).read_text().splitlines()
    (base / "conv/seed-3" / layout.HISTORY).write_text("\n".join(lines[:3]) + "\n")  # epoch 2
    in_progress(base / "fc/seed-0", layout.staging_dir(base / "fc/seed-0"), record)
    in_progress(base / "fc/seed-1", base / "fc" / layout.TUNE / "trial-002")
    bump_digit(base / "fc/seed-1/history.csv", "\n2,")
    picked: list[Path] = []
    monkeypatch.setattr(reproduce, "rerun", lambda rs, jobs, tol: picked.extend(jobs) or [])
    rows = verify.verify(ResultsSet(copy, "quick"), do_rerun=True)
    bad = [r for r in rows if not r.ok]
    assert bad and {(r.run, r.seed, r.file) for r in bad} == {
        ("toy/fc", "1", "toy/fc/seed-1/history.csv")
    }, bad
    notes = [r for r in rows if r.check == "run in progress"]
    assert sorted((r.run, r.seed, r.file, r.verdict) for r in notes) == [
        ("toy/conv", "3", "toy/conv/seed-3", "note"),
        ("toy/fc", "0", "toy/fc/.seed-0.next", "note"),
        ("toy/fc", "trial 2", "toy/fc/tune/trial-002", "note"),
    ]
    assert "2 of 2 epochs" in notes[0].got
    assert not any("seed-3" in r.file for r in rows if r not in notes)
    assert sorted(p.parent.name for p in picked) == [
        "seed-0",
        "seed-0",
        "seed-1",
        "seed-1",
        "seed-2",
        "seed-2",
    ]
    capsys.readouterr()
    assert cli.main(["--results", str(copy), "verify", "--profile", "quick", "--no-rerun"]) == 1
    out = capsys.readouterr().out
    assert "note: run in progress: toy/conv/seed-3: 2 of 2 epochs" in out, out


def test_the_report_folder_holds_only_the_sources_of_the_paper_built(copy, tmp_path):
    """A paper of other questions before (skip.tex, a course class since dropped): its
    sources stayed in report/ and were handed in beside the paper that replaced it."""
    rs = ResultsSet(copy, "quick")
    for name in ("skip.tex", "skip-appendix.tex", "course.cls"):
        (rs.report_dir() / name).write_text("% an earlier paper's\n")
    report.render(rs, prose_root=tmp_path / "prose")
    left = sorted(p.name for p in rs.report_dir().iterdir() if p.suffix in (".tex", ".cls"))
    assert left == ["numbers.tex", "report.tex", "toy-appendix.tex", "toy.tex"]
