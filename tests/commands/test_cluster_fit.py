"""The resources of a Slurm script fit the partition that `sinfo` describes, or one error."""

from __future__ import annotations

import os

import pytest

from coursework.commands import cli, cluster
from coursework.commands.cluster import ClusterError, Partition, Resources, fit
from tests.helpers import toy_spec

CPU_NODE = Partition("cpu", cpus=2, mem_mb=7900, gpus=0, max_minutes=None)
GPU_NODE = Partition("gpu", cpus=32, mem_mb=256_000, gpus=4, max_minutes=48 * 60)


def test_unset_resources_fit_the_partition():
    res, notes = fit(Resources(), CPU_NODE)
    assert (res.gpus, res.cpus, res.mem) == (0, 2, "7900M")
    assert notes == [
        "partition cpu (nodes with 2 CPUs, 7900 MB, 0 GPUs, time limit none min): no GPUs "
        "there, so a CPU job (GPUS=0)"
    ]
    res, notes = fit(Resources(), GPU_NODE)
    assert (res.gpus, res.cpus, res.mem, res.time) == (1, 4, "16G", "04:00:00") and not notes
    res, _ = fit(Resources(), None)  # no sinfo: the defaults, unchecked
    assert (res.gpus, res.cpus, res.mem) == (1, 4, "16G")


def test_set_resources_that_no_node_has_are_one_error_with_the_numbers_to_set():
    with pytest.raises(ClusterError) as caught:
        fit(Resources(gpus=1, cpus=8, mem="16G", time="2-00:00:00"), CPU_NODE)
    message = str(caught.value)
    for part in ("GPUS=1: set GPUS=0", "CPUS=8: set CPUS=2", "MEM=16G: set MEM=7900M"):
        assert part in message
    with pytest.raises(ClusterError, match="TIME=3-00:00:00: set TIME=2880"):
        fit(Resources(time="3-00:00:00"), GPU_NODE)
    res, _ = fit(Resources(gpus=2, cpus=32, mem="200G", time="1-12:00:00"), GPU_NODE)
    assert (res.gpus, res.cpus, res.mem) == (2, 32, "200G")


@pytest.mark.parametrize(
    ("limit", "expected"),
    [("infinite", None), ("30", 30), ("4:00:00", 240), ("1-00:00:00", 1440), ("2-12", 3600)],
)
def test_slurm_times(limit, expected):
    assert cluster.minutes(limit) == expected


def test_make_slurm_asks_sinfo(tmp_path, tiny_npz, monkeypatch, capsys):
    """A fake ``sinfo`` as Slurm prints it: the default partition (``*``) has no GPUs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sinfo = bin_dir / "sinfo"
    sinfo.write_text(
        "#!/bin/sh\necho 'cpu*|2|7900|(null)|infinite'\n"
        "echo 'gpu|64|512000|gpu:a100:4(S:0-1)|2-00:00:00'\n"
    )
    sinfo.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}")
    script = tmp_path / "toy.sbatch"
    base = ["--results", str(tmp_path / "r"), "slurm", str(spec), "--out", str(script)]
    assert cli.main(base) == 0
    out, text = capsys.readouterr().out, script.read_text()
    assert "a CPU job (GPUS=0)" in out and "each with 0 GPUs, 2 CPUs, 7900M memory" in out
    assert "--gres" not in text and "#SBATCH --cpus-per-task=2" in text
    assert "#SBATCH --mem=7900M" in text
    assert cli.main([*base, "--partition", "gpu"]) == 0
    text = script.read_text()
    assert "#SBATCH --gres=gpu:1" in text and "#SBATCH --mem=16G" in text
    script.unlink()
    assert cli.main([*base, "--cpus", "4"]) == 2  # written nowhere
    assert "CPUS=4: set CPUS=2 or fewer" in capsys.readouterr().err and not script.exists()
    assert cli.main([*base, "--partition", "big"]) == 2
    assert "PARTITION=big: no such partition (sinfo: cpu, gpu)" in capsys.readouterr().err


def test_a_tuned_script_says_when_parallel_trials_may_differ_from_make_tune(
    tmp_path, tiny_npz, monkeypatch, capsys
):
    monkeypatch.setattr(cluster, "partition", lambda name="": None)
    runs = """
        [[runs]]
        name = "tuned"
        model = { conv_maps = [], hidden = [16] }
        tune = { sampler = "%s", trials = 3, prune = %s, params = { learning_rate = [0.1, 1.0] } }
    """
    for sampler, prune, warned in (("tpe", "false", "TPE"), ("random", "true", "pruning")):
        spec = toy_spec(tmp_path, f"npz:{tiny_npz}", runs % (sampler, prune))
        out_file = str(tmp_path / "t.sbatch")
        args = ["--results", str(tmp_path / "r"), "slurm", str(spec), "--tune", "--out", out_file]
        assert cli.main(args) == 0
        out = capsys.readouterr().out
        assert "may try other values than one `make tune` would" in out and warned in out
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", runs % ("random", "false"))
    assert cli.main(args) == 0
    assert "make tune" not in capsys.readouterr().out  # random, no pruning: the same trials
