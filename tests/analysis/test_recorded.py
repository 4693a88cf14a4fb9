"""The analysis on a results set the engine trained (tests/recorded_results, checked in): what
it recomputes from the run folders is what was written, and each number is the one worked
out here by hand or by scipy. No training: milliseconds."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from coursework.analysis import aggregates, ensemble, manifest, stats, tables
from coursework.records import layout, storage
from coursework.records.errors import ResultsError
from coursework.records.layout import ResultsSet
from tests.recorded import RECORDED

AGGREGATES = (layout.SUMMARY, layout.STATS, layout.ENSEMBLES)


def accuracies(rs: ResultsSet, q: str, run: str) -> list[float]:
    """A run's test accuracies over its seeds, from its run.json files (seed order)."""
    seeds = sorted((rs.dir() / q / run).glob("seed-*"))
    return [storage.read_json(s / layout.RECORD)["metrics"]["test_accuracy"] for s in seeds]


def test_the_shared_files_recomputed_from_the_runs_are_the_recorded_bytes(recorded):
    rs = ResultsSet(recorded, "quick")
    for name in AGGREGATES:
        rs.aggregate(name).unlink()
    aggregates.write_aggregates(rs)
    for name in AGGREGATES:
        assert rs.aggregate(name).read_bytes() == (RECORDED / "quick" / name).read_bytes(), name


def test_the_reports_numbers_recomputed_are_the_recorded_ones(recorded):
    """Every fact, table cell and macro of the paper, from the files alone, is what the
    report wrote when the set was trained (report/numbers.json)."""
    rs = ResultsSet(recorded, "quick")
    written = storage.read_json(rs.report_dir() / "numbers.json")["questions"]
    shown = json.loads(json.dumps([q.to_json() for q in tables.numbers(rs)]))
    assert [q["id"] for q in shown] == [q["id"] for q in written] == ["pair", "toy"]
    assert shown == written
    assert [q.id for q in tables.numbers(rs, ["toy", "pair"])] == ["toy", "pair"]


def test_stats_csv_holds_welchs_test_and_intervals_within_zero_and_one(recorded):
    rs = ResultsSet(recorded, "quick")
    rows = {(r["question"], r["run"]): r for r in stats.stats_rows(rs)}
    fc, conv = accuracies(rs, "toy", "fc"), accuracies(rs, "toy", "conv")
    row = rows["toy", "conv"]
    assert row["baseline"] == "fc" and row["n"] == 3
    assert row["mean"] == pytest.approx(np.mean(conv)) and row["sd"] == pytest.approx(
        np.std(conv, ddof=1)
    )
    assert row["diff"] == pytest.approx(np.mean(conv) - np.mean(fc))
    p = sps.ttest_ind(conv, fc, equal_var=False).pvalue
    assert row["p_value"] == pytest.approx(p)
    assert row["within_noise"] == ("yes" if p >= stats.ALPHA else "no")
    # conv's t interval runs past 100 %: it is cut at 1, its other end is Student's
    half = sps.t.ppf(0.975, 2) * np.std(conv, ddof=1) / np.sqrt(3)
    assert np.mean(conv) + half > 1 and row["ci95_high"] == 1.0
    assert row["ci95_low"] == pytest.approx(np.mean(conv) - half)
    # two seeds: no interval, no test, and the note says why
    pair = rows["pair", "conv"]
    assert pair["n"] == 2 and pair["ci95_low"] is None and pair["p_value"] is None
    assert pair["note"] == "2 seed(s): an interval and a test need 3"
    assert rows["toy", "fc"]["diff"] is None and rows["toy", "fc"]["p_value"] is None


def test_no_spread_in_one_run_or_both_is_said_in_the_note():
    rows = stats.question_rows("q", {"a": [0.5, 0.5, 0.5], "b": [0.6, 0.7, 0.8], "c": [0.5] * 3})
    b, c = rows[1], rows[2]
    assert "no spread in a" in b["note"] and b["p_value"] == stats.welch_p(
        [0.6, 0.7, 0.8], [0.5] * 3
    )
    assert c["p_value"] is None and "no spread to compare" in c["note"]
    assert c["within_noise"] == ""


def majority(probs: np.ndarray) -> np.ndarray:
    """The majority vote worked out one image at a time: the most votes; of a tie, the
    class with the larger summed probability."""
    out = []
    for i in range(probs.shape[1]):
        votes = np.bincount(probs[:, i].argmax(-1), minlength=probs.shape[2])
        tied = np.flatnonzero(votes == votes.max())
        out.append(tied[np.argmax(probs[:, i].sum(0)[tied])])
    return np.array(out)


def test_ensembles_are_the_vote_and_the_mean_probability_of_the_seeds(recorded):
    rs = ResultsSet(recorded, "quick")
    rows = {(r["question"], r["run"]): r for r in ensemble.ensemble_rows(rs)}
    assert sorted(rows) == [("pair", "conv"), ("pair", "fc"), ("toy", "conv"), ("toy", "fc")]
    for (q, run), row in rows.items():
        loaded = [np.load(p) for p in sorted((rs.dir() / q / run).glob("seed-*/predictions.npz"))]
        probs = np.stack([f["probs"] for f in loaded]).astype(np.float32)
        y = loaded[0]["y_true"]
        assert row["members"] == len(loaded) and row["seeds"] == " ".join(
            str(i) for i in range(len(loaded))
        )
        assert row["vote_accuracy"] == pytest.approx((majority(probs) == y).mean())
        assert row["mean_prob_accuracy"] == pytest.approx((probs.mean(0).argmax(-1) == y).mean())
        each = [(p.argmax(-1) == y).mean() for p in probs]
        assert row["mean_member_accuracy"] == pytest.approx(np.mean(each))
        assert row["best_member_accuracy"] == pytest.approx(max(each))
        assert row["best_member_accuracy"] == pytest.approx(max(accuracies(rs, q, run)), abs=1e-6)


def test_an_ensemble_needs_two_complete_seeds_with_the_same_labels(recorded):
    rs = ResultsSet(recorded, "quick")
    toy = rs.dir() / "toy"
    shutil.rmtree(toy / "fc/seed-1")
    shutil.rmtree(toy / "fc/seed-2")  # one seed left: no ensemble
    rec = storage.read_json(toy / "conv/seed-2/run.json")
    storage.write_json(toy / "conv/seed-2/run.json", {**rec, "status": "failed"})
    rows = {(r["question"], r["run"]): r for r in ensemble.ensemble_rows(rs)}
    assert ("toy", "fc") not in rows and rows["toy", "conv"]["seeds"] == "0 1"
    path = toy / "conv/seed-1/predictions.npz"
    with np.load(path) as f:
        arrays = dict(f)
    arrays["y_true"] = (arrays["y_true"] + 1) % 10
    np.savez(path, **arrays)
    with pytest.raises(ResultsError, match="test labels differ between seeds"):
        ensemble.ensemble_rows(rs)


def later(rs: ResultsSet, path: Path) -> None:
    """``path`` written after every other file of ``rs`` (all of them in the past)."""
    past = time.time_ns() - 10 * 10**9
    for p in rs.dir().rglob("*"):
        os.utime(p, ns=(past, past))
    os.utime(path, ns=(past + 10**9, past + 10**9))


def test_the_shared_files_are_current_until_a_record_changes_or_a_run_goes(recorded):
    rs = ResultsSet(recorded, "quick")
    aggregates.write_aggregates(rs)
    assert aggregates.current(rs)
    later(rs, rs.dir() / "toy/fc/seed-0/run.json")  # a run trained again
    assert not aggregates.current(rs)
    aggregates.write_aggregates(rs)
    assert aggregates.current(rs)
    later(rs, rs.spec_copy("pair"))  # a question's spec recorded again
    assert not aggregates.current(rs)
    aggregates.write_aggregates(rs)
    shutil.rmtree(rs.dir() / "pair/fc/seed-1")  # a run folder deleted: no file newer
    assert not aggregates.current(rs)
    aggregates.write_aggregates(rs)
    rs.aggregate(layout.ENSEMBLES).unlink()
    assert not aggregates.current(rs)


def test_the_manifest_lists_every_file_but_itself_the_verdicts_and_the_page(recorded):
    rs = ResultsSet(recorded, "quick")
    storage.write_csv(rs.aggregate(layout.VERIFICATION), ["run"], [])
    (rs.dir() / layout.PAGE).write_text("<!DOCTYPE html>")
    (rs.dir() / "toy/.hidden").write_text("x")
    man = manifest.contents(rs, ["make", "report"])
    on_disk = {
        p.relative_to(rs.dir()).as_posix(): p
        for p in rs.dir().rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(rs.dir()).parts)
    }
    for name in (layout.MANIFEST, layout.VERIFICATION, layout.PAGE):
        assert name in on_disk and name not in man["files"]
        del on_disk[name]
    assert man["files"] == {
        rel: {"sha256": manifest.sha256(p), "size": p.stat().st_size} for rel, p in on_disk.items()
    }
    assert man["command"] == ["make", "report"] and man["profile"] == "quick"
    (data,) = man["datasets"].values()
    assert data["sizes"] == {"train": 600, "val": 100, "test": 50} and data["fingerprint"]
    assert [(b["name"], b["runs"]) for b in man["backends"]] == [("tensorflow", 10)]


def test_a_part_of_the_results_keeps_what_the_whole_recorded(recorded):
    """make submission's manifest of a part: an honest file as it is, an edited one as the
    whole recorded it (it shows as edited), a file the whole never listed left out, a listed
    file of the part that is gone still listed (it shows as missing)."""
    rs = ResultsSet(recorded, "quick")
    whole = manifest.read(rs)
    shutil.rmtree(rs.dir() / "pair")
    (rs.dir() / "toy/fc/seed-0/history.csv").write_text("edited\n")
    (rs.dir() / "toy/new.txt").write_text("never listed\n")
    gone = "toy/conv/seed-2/history.csv"
    (rs.dir() / gone).unlink()
    part = manifest.of_part(whole, rs, {}, lambda rel: rel.startswith("toy/"), {"what": "toy"})
    files = part["files"]
    assert files["toy/fc/seed-1/history.csv"] == whole["files"]["toy/fc/seed-1/history.csv"]
    assert files["toy/fc/seed-0/history.csv"] == whole["files"]["toy/fc/seed-0/history.csv"]
    assert (
        manifest.sha256(rs.dir() / "toy/fc/seed-0/history.csv")
        != (files["toy/fc/seed-0/history.csv"]["sha256"])
    )
    assert "toy/new.txt" not in files and files[gone] == whole["files"][gone]
    assert not any(rel.startswith("pair/") for rel in files)
    assert part["handed_in"] == {"what": "toy"}
    assert [b["runs"] for b in part["backends"]] == [6]
    shutil.rmtree(rs.dir())
    with pytest.raises(ResultsError, match="MANIFEST.json does not exist"):
        manifest.read(rs)


def test_the_environment_table_is_the_first_records(recorded):
    rs = ResultsSet(recorded, "quick")
    env = storage.read_json(rs.record_paths()[0])["environment"]
    rows = dict(tables.environment(rs))
    assert list(rows) == ["Python", "Backend", "Keras", "NumPy", "Platform", "CPU", "GPU"]
    assert rows["Backend"] == f"{env['backend']} {env['backend_version']}"
    assert rows["GPU"] == "none" and rows["Keras"] == env["keras"]
    assert tables.environment(ResultsSet(recorded, "nothing")) == []
