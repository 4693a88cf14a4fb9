"""`bench`: the benchmark's output format (its speed goals live in `make bench`, not here)."""

from __future__ import annotations

import json
import math

import pytest

from coursework.commands import bench, bench_paths
from coursework.engine.history import Checkpoint
from coursework.records import layout, record, storage
from coursework.records.results import HISTORY_COLUMNS
from coursework.runtime import backend


@pytest.mark.slow
@pytest.mark.long  # a minute: each path's files are checked above without timing
def test_bench_writes_both_paths_per_batch_size(tmp_path, mnist5k):
    images = (mnist5k.x_train[:640], mnist5k.y_train[:640], "mnist-5k subset")
    out = bench.bench(
        tmp_path, [64, 128], epochs=3, backends=[backend.current()], with_torch=False, images=images
    )
    written = json.loads((tmp_path / "bench.json").read_text())
    assert written == out and written["schema_version"] == record.SCHEMA_VERSION
    assert written["images"] == 640
    assert [(r["backend"], r["batch_size"]) for r in written["results"]] == [
        (backend.current(), 64),
        (backend.current(), 128),
    ]
    for r in written["results"]:
        assert r["device"] and r["version"]
        assert r["project_ips"] > 0 and r["plain_ips"] > 0
        assert abs(r["ratio"] - r["project_ips"] / r["plain_ips"]) < 0.01
        assert len(r["project_epochs_ips"]) == 2  # the warm-up epoch is left out
        assert r["steps_per_execution"] == bench.FIT_STEPS and r["fit_ips"] > 0
        assert len(r["fit_epochs_ips"]) == 2
        assert 0 < r["probe_share_full"] < r["probe_share"] < 1
    assert "batch" in bench.table(out) and "gradient probe" in bench.table(out)


@pytest.mark.parametrize("path", ["project", "fit"])
def test_each_path_writes_the_files_a_run_writes(tmp_path, mnist5k, path):
    """`fit` at a whole epoch per execution, and the project's program, each leave a run's
    `history.csv` (a row per epoch), its gradient flow and a checkpoint a run resumes from."""
    backend.configure()
    x, y = mnist5k.x_train[:48], mnist5k.y_train[:48]
    if path == "fit":
        ips = bench_paths.fit_ips(x, y, 8, 2, tmp_path, steps_per_execution=0)
    else:
        ips, probe = bench_paths.project_ips(x, y, 8, 2, tmp_path)
        assert len(probe) == 2 and all(0 < p < 1 for p in probe)
    assert len(ips) == 2 and all(v > 0 for v in ips)
    flow = storage.read_csv(tmp_path / layout.GRADIENTS)
    assert [r["epoch"] for r in flow] == ["1"] * 8 + ["2"] * 8  # 4 layers: kernel and bias
    rows = storage.read_csv(tmp_path / layout.HISTORY)
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert list(rows[0]) == HISTORY_COLUMNS and all(math.isfinite(float(r["loss"])) for r in rows)
    fresh = bench_paths.nielsen_net(1)
    fresh.optimizer.build(fresh.trainable_variables)
    assert Checkpoint(layout.checkpoint_file(tmp_path), fresh).restore() == 2


def test_a_whole_epoch_per_execution_and_pytorchs_refusal_in_the_table():
    assert bench_paths.epoch_steps(48, 8, 0) == 6 and bench_paths.epoch_steps(50, 8, 0) == 7
    assert bench_paths.epoch_steps(50, 8, 32) == 32
    got = {
        k: {"ips": [1.0, 100.0, 300.0], "version": "v", "device": "CPU", "probe": [0.5, 0.1, 0.1]}
        for k in ("project", "plain", "fit")
    }
    rows = [
        bench.row("tensorflow", 10, 64, got, 10_000),
        bench.row("torch", 10, 64, {k: got[k] for k in ("project", "plain")}, 10_000),
    ]
    assert rows[0]["fit_ips"] == 200.0 and rows[0]["fit_ratio"] == 1.0
    assert rows[1]["fit_ips"] is None and rows[1]["fit_epochs_ips"] == []
    out = {"data": "d", "images": 10, "statistic": "s", "results": rows, "torch_eager": []}
    shown = bench.table(out).splitlines()
    assert shown[2].split()[-3:] == ["spe=64", "200", "1.00"]
    assert shown[3].split()[-1] == "refused"
    # the probe: a tenth of an epoch of 10,000 images; of one of 50,000: 1 / (1 + 9 * 5)
    assert rows[0]["probe_share"] == 0.1 and rows[0]["probe_share_full"] == round(1 / 46, 5)
    assert shown[4] == (
        "gradient probe, tensorflow batch 10: 10.00% of an epoch here, 2.17% of one of "
        "50,000 images"
    )
