"""``make plan``: image counts from the specs, calibrated estimates, the plan and time left in
``run``'s output, and what a Ctrl-C says."""

from __future__ import annotations

import pytest

from coursework.commands import cli, planning
from coursework.engine import augment, calibrate, jobs
from coursework.records import data, spec
from tests.helpers import FC_AND_CONV, metric_columns, run_cli, toy_spec


def jobs_of(question: str, profile: str, tmp_path) -> list[jobs.Job]:
    return jobs.plan(spec.load(question), profile, tmp_path)


def test_full_profile_image_counts_match_the_specs(tmp_path):
    """Counted by hand from the specs: Nielsen's ladder 4 rungs x 3 seeds x 60 epochs x 50,000
    + 2 expanded rungs x 3 x 60 x 250,000 + dropout 3 x 40 x 250,000 = 156 M; the ensemble
    5 seeds x 40 epochs x 250,000 = 50 M; every question of the full profile 462.5 M. The
    tuned runs' studies: regularisation 3 x 20 trials x 10 epochs x 50,000 = 30 M, batchnorm
    2 x 16 x 8 x 50,000 = 12.8 M."""
    per_question = {q: planning.totals(planning.items(jobs_of(q, "full", tmp_path)))
                    for q in spec.all_questions()}
    assert per_question["nielsen"]["images"] == 156_000_000
    assert per_question["nielsen"]["jobs"] == 21
    assert per_question["ensemble"]["images"] == 50_000_000
    assert sum(t["images"] for t in per_question.values()) == 462_500_000
    assert all(t["seconds"] is None and t["complete"] == 0 for t in per_question.values())
    studies = {q: planning.studies(jobs_of(q, "full", tmp_path)) for q in spec.all_questions()}
    assert sum(i.images for i in studies["regularisation"]) == 30_000_000
    assert sum(i.images for i in studies["batchnorm"]) == 12_800_000
    assert [i.job.run.name for i in studies["batchnorm"]] == ["fc8-tuned:study",
                                                              "fc8-bn-tuned:study"]
    assert not any(i.complete for items in studies.values() for i in items)


@pytest.mark.parametrize("question", spec.all_questions())
def test_quick_image_counts_are_what_training_sees(question, tmp_path, mnist5k):
    """Per run and seed, epochs x the images the runner really trains on (mnist-5k's
    training split, expanded by augment.expand where the spec says so)."""
    expanded = len(augment.expand(mnist5k.x_train, mnist5k.y_train)[1])
    for item in planning.items(jobs_of(question, "quick", tmp_path)):
        cfg = item.job.run.config
        assert cfg["dataset"] == "mnist-5k"
        n = expanded if cfg["augment"] == "expand" else len(mnist5k.y_train)
        assert item.images == cfg["epochs"] * n, item.job.name


def test_calibration_is_measured_once_and_keyed_by_what_sets_the_speed(tmp_path, monkeypatch):
    info = data.info("mnist-5k")
    run = spec.load("nielsen").resolve("quick")[1]  # conv1
    cache = calibrate.Calibrations(tmp_path)
    speed = cache.ensure(run.config, info)
    assert speed.train_ips > 0 and speed.eval_ips > 0 and speed.setup_seconds >= 0
    est = speed.seconds(run.config["epochs"], 4000, info.sizes)
    assert est == pytest.approx(speed.setup_seconds + 3 * (4000 / speed.train_ips
                                                           + 500 / speed.eval_ips)
                                + 1000 / speed.eval_ips)

    def refuse(*args):
        raise AssertionError("measured again")

    monkeypatch.setattr(calibrate, "measure", refuse)
    again = calibrate.Calibrations(tmp_path)  # read back from calibration.json
    assert again.ensure(run.config, info) == speed
    same = {**run.config, "learning_rate": 0.7, "seeds": [5], "epochs": 60}
    assert again.get(same, info) == speed
    assert again.get({**run.config, "batch_size": 64}, info) is None
    assert again.get({**run.config, "model": {**run.config["model"], "conv_maps": [40]}},
                     info) is None


@pytest.mark.slow
def test_plan_command_lists_runs_images_times_and_complete_runs(tmp_path, tiny_npz, capsys):
    spec_file = toy_spec(tmp_path, f"npz:{tiny_npz}", runs=FC_AND_CONV, epochs=2,
                         seeds="[0, 1]")
    res = tmp_path / "r"
    assert run_cli("--results", res, "run", spec_file, "--only", "fc") == 0
    capsys.readouterr()
    assert run_cli("--results", res, "plan", spec_file) == 0
    out = capsys.readouterr().out
    rows = {line.split()[1]: line.split() for line in out.splitlines()
            if line.startswith("toy ") and "(question)" not in line}
    assert rows["fc"][2:6] == ["2", "2", "600", "2,400"] and rows["fc"][-1] == "2/2"
    assert rows["conv"][-1] == "0/2"
    assert "left to train: 2 (2,400 images" in out and "?" not in out
    assert (res / "calibration.json").exists()
    # run: the one-line plan, then the time left for the run and the command in each epoch
    assert run_cli("--results", res, "run", spec_file) == 0
    out = capsys.readouterr().out
    assert "plan: 4 runs and seeds (2 complete, skipped), 2,400 training images to go, about " \
        in out and f"results in {res / 'quick'}" in out
    epochs = [line for line in out.splitlines() if line.strip().startswith("epoch ")]
    assert len(epochs) == 4 and all("; left " in line for line in epochs)
    assert all(", all " in line for line in epochs)


@pytest.mark.slow
def test_calibrating_first_changes_no_result(tmp_path, tiny_npz, monkeypatch):
    """`run` may calibrate networks in its own process before training: the runs are then the
    same, digit for digit, as without."""
    spec_file = toy_spec(tmp_path, f"npz:{tiny_npz}", runs="""
        [[runs]]
        name = "net"
        model = { conv_maps = [4], hidden = [16], activation = "relu", dropout = 0.3 }
    """)
    assert run_cli("--results", tmp_path / "a", "run", spec_file) == 0
    monkeypatch.setattr(planning, "CALIBRATE_FROM", 0)
    assert run_cli("--results", tmp_path / "b", "run", spec_file) == 0
    assert (tmp_path / "b" / "calibration.json").exists()
    ha, hb = (tmp_path / r / "quick/toy/net/seed-0/history.csv" for r in ("a", "b"))
    assert metric_columns(ha) == metric_columns(hb)


def test_ctrl_c_says_how_to_resume(tmp_path, tiny_npz, monkeypatch, capsys):
    spec_file = toy_spec(tmp_path, f"npz:{tiny_npz}")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(jobs, "run_question", interrupted)
    assert cli.main(["--results", str(tmp_path / "r"), "run", str(spec_file)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "same command again to resume" in err
