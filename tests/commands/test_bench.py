"""`bench`: the benchmark's output format (its speed goals live in `make bench`, not here)."""

from __future__ import annotations

import json

import pytest

from coursework.commands import bench
from coursework.records import record
from coursework.runtime import backend


@pytest.mark.slow
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
    assert "batch" in bench.table(out)
