"""``make plan``: image counts from the specs, calibrated estimates (and their correction by
finished runs), the plan and time left in ``run``'s output, and what a Ctrl-C says."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from coursework.commands import cli
from coursework.data import datasets as data
from coursework.data.arrays import DatasetInfo
from coursework.engine import augment, calibrate, estimate, job, trainer
from coursework.engine.speed import Observation, Speed, fast_epoch
from coursework.records import layout, spec, storage
from coursework.records.config import TrainConfig
from coursework.records.results import HISTORY_COLUMNS
from coursework.runtime import backend
from tests.helpers import FC_AND_CONV, metric_columns, run_cli, toy_spec


@pytest.fixture(autouse=True)
def configured():
    """The backend's settings, as a command configures them when it starts (calibration
    reads them; backend.settings() no longer configures on first read)."""
    backend.configure()


def jobs_of(question: str, profile: str, tmp_path) -> list[job.Job]:
    return job.plan(spec.load(question), profile, tmp_path)


TEMPLATE_QUESTIONS = (
    "regularisation",
    "depth",
    "activation",
    "preprocessing",
    "augmentation",
    "conv",
    "batchnorm",
    "skip",
    "nielsen",
    "ensemble",
    "gradients",
)


def test_full_profile_image_counts_match_the_specs(tmp_path):
    """Counted by hand from the specs: Nielsen's ladder 4 rungs x 3 seeds x 60 epochs x 50,000
    + 2 expanded rungs x 3 x 60 x 250,000 + dropout 3 x 40 x 250,000 = 156 M; the ensemble
    5 seeds x 40 epochs x 250,000 = 50 M; gradients 5 runs x 3 x 50 x 45,000 (CIFAR-100's
    training split) = 33.75 M; every question of the full profile 496.25 M. The
    tuned runs' studies: regularisation 3 x 20 trials x 10 epochs x 50,000 = 30 M, batchnorm
    2 x 16 x 8 x 50,000 = 12.8 M."""
    per_question = {
        q: estimate.totals(estimate.items(jobs_of(q, "full", tmp_path)))
        for q in TEMPLATE_QUESTIONS  # the template's, whatever a student adds
    }
    assert per_question["nielsen"]["images"] == 156_000_000
    assert per_question["nielsen"]["jobs"] == 21
    assert per_question["ensemble"]["images"] == 50_000_000
    assert per_question["gradients"]["images"] == 33_750_000
    assert sum(t["images"] for t in per_question.values()) == 496_250_000
    assert all(t["seconds"] is None and t["complete"] == 0 for t in per_question.values())
    studies = {q: estimate.studies(jobs_of(q, "full", tmp_path)) for q in spec.all_questions()}
    assert sum(i.images for i in studies["regularisation"]) == 30_000_000
    assert sum(i.images for i in studies["batchnorm"]) == 12_800_000
    assert [i.job.run.name for i in studies["batchnorm"]] == [
        "fc8-tuned:study",
        "fc8-bn-tuned:study",
    ]
    assert not any(i.complete for items in studies.values() for i in items)


@pytest.mark.parametrize("question", spec.all_questions())
def test_quick_image_counts_are_what_training_sees(question, tmp_path, mnist5k):
    """Per run and seed, epochs x the images the runner really trains on (mnist-5k's
    training split, expanded by augment.expand where the spec says so)."""
    expanded = len(augment.expand(mnist5k.x_train, mnist5k.y_train)[1])
    for item in estimate.items(jobs_of(question, "quick", tmp_path)):
        cfg = item.job.run.config
        assert cfg.dataset == "mnist-5k"
        n = expanded if cfg.augment == "expand" else len(mnist5k.y_train)
        assert item.images == cfg.epochs * n, item.job.name


@pytest.mark.slow  # calibrates: trains
def test_calibration_is_measured_once_and_keyed_by_what_sets_the_speed(tmp_path, monkeypatch):
    info = data.info("mnist-5k")
    run = spec.load("nielsen").resolve("quick")[1]  # conv1
    cache = calibrate.Calibrations(tmp_path)
    speed = cache.ensure(run.config, info)
    assert speed.train_ips > 0 and speed.eval_ips > 0 and speed.setup_seconds >= 0
    assert speed.eval_call_seconds >= 0
    est = speed.seconds(run.config.epochs, 4000, info.sizes)
    call = speed.eval_call_seconds
    assert est == pytest.approx(
        speed.setup_seconds
        + 3 * (4000 / speed.train_ips + call + 500 / speed.eval_ips)
        + 2 * (call + 500 / speed.eval_ips)
    )
    assert (
        storage.read_json(cache.path)["entries"][calibrate.key(run.config, info)]["load"]
        is not None
    )  # how busy the machine was, recorded

    def refuse(*args):
        raise AssertionError("measured again")

    monkeypatch.setattr(calibrate, "measure", refuse)
    again = calibrate.Calibrations(tmp_path)  # read back from calibration.json
    assert again.ensure(run.config, info) == speed
    same = run.config.with_(learning_rate=0.7, seeds=[5], epochs=60)
    assert again.get(same, info) == speed
    assert again.get(run.config.with_(batch_size=64), info) is None
    assert again.get(run.config.with_(model={**run.config.model, "conv_maps": [40]}), info) is None


def test_the_fastest_of_a_few_timed_passes_is_kept():
    """At least two passes, a third while within the budget; a busy machine only slows one."""
    calls: list[int] = []
    assert calibrate.fastest(lambda: calls.append(1)) >= 0 and len(calls) == 3
    calls.clear()
    calibrate.fastest(lambda: calls.append(1), budget=0.0)
    assert len(calls) == 2


REAL = Speed(train_ips=40_000.0, eval_ips=100_000.0, setup_seconds=0.5, eval_call_seconds=0.05)


def regularisation(name: str) -> tuple[TrainConfig, DatasetInfo]:
    run = {r.name: r for r in spec.load("regularisation").resolve("quick")}[name]
    return run.config, data.info(run.config.dataset)


def cached(tmp_path, monkeypatch, speeds: dict[str, Speed]) -> None:
    """Calibrate regularisation's quick runs as if ``measure`` had read ``speeds``."""
    by_key = {calibrate.key(*regularisation(name)): speed for name, speed in speeds.items()}
    monkeypatch.setattr(
        calibrate, "measure", lambda cfg, info: by_key.get(calibrate.key(cfg, info), REAL)
    )
    cache = calibrate.Calibrations(tmp_path)
    for name in speeds:
        cache.ensure(*regularisation(name))


def history(speed: Speed, cfg: TrainConfig, info: DatasetInfo) -> list[dict]:
    """The rows of a run whose epochs took what ``speed`` predicts (the first also compiles:
    its setup)."""
    epoch = speed.epoch_seconds(4000, info.sizes)
    return [
        {
            "epoch": e + 1,
            "loss": 0.5,
            "accuracy": 0.8,
            "val_loss": 0.5,
            "val_accuracy": 0.8,
            "learning_rate": cfg.learning_rate,
            "epoch_seconds": epoch + (speed.setup_seconds if e == 0 else 0),
        }
        for e in range(cfg.epochs)
    ]


def test_a_run_replaces_a_busy_calibration_and_keeps_a_close_one(tmp_path, monkeypatch):
    """l1 calibrated 5x too slow (a busy machine), none within 30%: after a run of each at the
    real speed, l1's speed is the run's own, and says so; none's is kept as it was."""
    close = REAL.scaled(1.2)
    cached(tmp_path, monkeypatch, {"l1": REAL.scaled(0.2), "none": close})
    (l1, info), (none, _) = regularisation("l1"), regularisation("none")
    rows = history(REAL, l1, info)

    found = calibrate.observe(tmp_path, l1, info, rows)
    assert found.replaced and found.miss > 2  # (0.5 + 8 x 5 x epoch) / (0.5 + 8 x epoch) - 1
    assert found.epoch == pytest.approx(REAL.epoch_seconds(4000, info.sizes))
    assert found.setup == pytest.approx(REAL.setup_seconds)
    entry = storage.read_json(layout.calibration_file(tmp_path))["entries"][calibrate.key(l1, info)]
    speed = Speed(**entry["speed"])
    assert speed.epoch_seconds(4000, info.sizes) == pytest.approx(found.epoch, rel=1e-3)
    assert speed.seconds(8, 4000, info.sizes) == pytest.approx(
        REAL.seconds(8, 4000, info.sizes), rel=0.01
    )
    assert entry["observed"]["previous"] == vars(REAL.scaled(0.2))
    assert entry["observed"]["at"] and entry["observed"]["epochs"] == len(rows)
    assert calibrate.Calibrations(tmp_path).get(l1, info) == speed  # what plan reads now
    again = calibrate.observe(tmp_path, l1, info, rows)  # now right: nothing to change
    assert not again.replaced and again.miss < 1e-3

    path = layout.calibration_file(tmp_path)
    before = path.read_text()
    kept = calibrate.observe(tmp_path, none, info, history(REAL, none, info))
    assert not kept.replaced and 0.1 < kept.miss < calibrate.MISS
    assert path.read_text() == before  # nothing written
    assert calibrate.Calibrations(tmp_path).get(none, info) == close


def test_a_run_shared_with_other_work_for_a_while_still_reads_the_machines_speed(
    tmp_path, monkeypatch
):
    """Two of its seven later epochs three times slow (another process came and went): the
    run's fast epochs, not their median, set the speed."""
    cached(tmp_path, monkeypatch, {"l1": REAL.scaled(0.2)})
    cfg, info = regularisation("l1")
    rows = history(REAL, cfg, info)
    for row in rows[2:4]:
        row["epoch_seconds"] *= 3
    found = calibrate.observe(tmp_path, cfg, info, rows)
    assert found.replaced
    assert found.epoch == pytest.approx(REAL.epoch_seconds(4000, info.sizes))
    assert fast_epoch([4.0]) == 4.0


def test_a_slow_setup_alone_is_corrected(tmp_path, monkeypatch):
    """Epochs right, but a setup (compiling) read 3 s on a busy machine against the run's
    0.5 s: a short run's estimate is mostly setup, so the speed is the run's."""
    cached(tmp_path, monkeypatch, {"l1": Speed(**{**vars(REAL), "setup_seconds": 3.0})})
    cfg, info = regularisation("l1")
    found = calibrate.observe(tmp_path, cfg, info, history(REAL, cfg, info))
    assert found.replaced
    speed = calibrate.Calibrations(tmp_path).get(cfg, info)
    assert speed.setup_seconds == pytest.approx(0.5, abs=1e-3)
    assert speed.epoch_seconds(4000, info.sizes) == pytest.approx(
        REAL.epoch_seconds(4000, info.sizes), rel=1e-3
    )


def test_what_a_run_cannot_tell_changes_nothing(tmp_path, monkeypatch):
    """No cached speed, one epoch only (it compiles), or runs sharing the machine: None."""
    cached(tmp_path, monkeypatch, {"l1": REAL.scaled(0.2)})
    (l1, info), (l2, _) = regularisation("l1"), regularisation("l2")
    rows = history(REAL, l1, info)
    assert calibrate.observe(tmp_path, l2, info, rows) is None
    assert calibrate.observe(tmp_path, l1, info, rows[:1]) is None
    assert calibrate.observe(tmp_path, l1, info, rows, concurrent=2) is None
    assert calibrate.observe(tmp_path / "missing", l1, info, tmp_path / "no-run") is None
    assert calibrate.Calibrations(tmp_path).get(l1, info) == REAL.scaled(0.2)


def test_observe_reads_a_run_folder_and_keeps_other_processes_entries(tmp_path, monkeypatch):
    """From a run folder's history.csv (as written: text); four observers at once, each with
    the cache as it was before the others wrote, and a late calibration: every entry kept."""
    names = ["none", "l1", "l2", "dropout"]
    cached(tmp_path, monkeypatch, {n: REAL.scaled(0.2) for n in names})
    stale = [calibrate.Calibrations(tmp_path) for _ in names]
    folders = []
    for name in names:
        cfg, info = regularisation(name)
        folder = tmp_path / "runs" / name
        storage.write_csv(folder / layout.HISTORY, HISTORY_COLUMNS, history(REAL, cfg, info))
        folders.append(folder)
    found: dict[str, Observation] = {}

    def observe(i: int, name: str) -> None:
        cfg, info = regularisation(name)
        rows = storage.read_csv(folders[i] / layout.HISTORY)
        found[name] = stale[i].observe(cfg, info, rows)

    threads = [threading.Thread(target=observe, args=(i, n)) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(found[n].replaced for n in names)
    cfg, info = regularisation("l1")
    stale[0].ensure(cfg.with_(batch_size=64), info)  # written by a cache read before the observers
    fresh = calibrate.Calibrations(tmp_path)
    assert len(fresh.entries) == 5
    for name in names:
        cfg, info = regularisation(name)
        assert "observed" in fresh.entries[calibrate.key(cfg, info)]
    cfg, info = regularisation("none")
    assert calibrate.observe(tmp_path, cfg, info, folders[0]).replaced is False


@pytest.mark.slow
def test_plan_command_lists_runs_images_times_and_complete_runs(tmp_path, tiny_npz, capsys):
    spec_file = toy_spec(tmp_path, f"npz:{tiny_npz}", runs=FC_AND_CONV, epochs=2, seeds="[0, 1]")
    res = tmp_path / "r"
    assert run_cli("--results", res, "run", spec_file, "--only", "fc") == 0
    capsys.readouterr()
    assert run_cli("--results", res, "plan", spec_file) == 0
    out = capsys.readouterr().out
    rows = {
        line.split()[1]: line.split()
        for line in out.splitlines()
        if line.startswith("toy ") and "(question)" not in line
    }
    assert rows["fc"][2:6] == ["2", "2", "600", "2,400"] and rows["fc"][-1] == "2/2"
    assert rows["conv"][-1] == "0/2"
    assert "left to train: 2 (2,400 images" in out and "?" not in out
    assert (res / "calibration.json").exists()
    # run: the one-line plan, then the time left for the run and the command in each epoch
    assert run_cli("--results", res, "run", spec_file) == 0
    out = capsys.readouterr().out
    assert (
        "plan: 4 runs and seeds (2 complete, skipped), 2,400 training images to go, about " in out
        and f"results in {res / 'quick'}" in out
    )
    epochs = [line for line in out.splitlines() if line.strip().startswith("epoch ")]
    assert len(epochs) == 4 and all("; left " in line for line in epochs)
    assert all(", all " in line for line in epochs)


@pytest.mark.slow
def test_calibrating_first_changes_no_result(tmp_path, tiny_npz, monkeypatch):
    """`run` may calibrate networks in its own process before training: the runs are then the
    same, digit for digit, as without."""
    spec_file = toy_spec(
        tmp_path,
        f"npz:{tiny_npz}",
        runs="""
        [[runs]]
        name = "net"
        model = { conv_maps = [4], hidden = [16], activation = "relu", dropout = 0.3 }
    """,
    )
    assert run_cli("--results", tmp_path / "a", "run", spec_file) == 0
    monkeypatch.setattr(estimate, "CALIBRATE_FROM", 0)
    assert run_cli("--results", tmp_path / "b", "run", spec_file) == 0
    assert (tmp_path / "b" / "calibration.json").exists()
    ha, hb = (tmp_path / r / "quick/toy/net/seed-0/history.csv" for r in ("a", "b"))
    assert metric_columns(ha) == metric_columns(hb)


def test_ctrl_c_says_how_to_resume(tmp_path, tiny_npz, monkeypatch, capsys):
    spec_file = toy_spec(tmp_path, f"npz:{tiny_npz}")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "run_question", interrupted)
    assert cli.main(["--results", str(tmp_path / "r"), "run", str(spec_file)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "same command again to resume" in err


def test_the_plan_line_counts_the_epochs_left_and_the_studies_apart(tmp_path, tiny_npz):
    """A run stopped after 2 of 6 epochs has 4 epochs to go (its checkpoint says so, if its
    key is today's); a tuned run's chosen study is a study, not a run that was skipped."""
    spec_file = toy_spec(tmp_path, f"npz:{tiny_npz}", epochs=6)
    (stopped,) = job.plan(spec.load(str(spec_file)), "quick", tmp_path / "r")
    backup = layout.checkpoint_file(stopped.out)
    backup.parent.mkdir(parents=True)
    np.savez(backup, epoch=np.int64(2))
    storage.write_text(layout.checkpoint_key_file(stopped.out), "another key\n")
    plan = estimate.items([stopped])
    assert plan[0].epochs_done == 0  # its settings changed since: it starts again
    storage.write_text(layout.checkpoint_key_file(stopped.out), job.job_key(stopped).digest)
    plan = estimate.items([stopped])
    per_epoch = plan[0].epoch_images
    assert estimate.line(plan, "r") == (
        f"plan: 1 run (it resumes after epoch 2 of 6), {4 * per_epoch:,} training images to "
        "go; `make plan` estimates the time; results in r"
    )
    study = estimate.Item(stopped, per_epoch, complete=True, seconds=None, study=True)
    seeds = estimate.Item(stopped, per_epoch, complete=False, seconds=None)
    assert estimate.line([seeds, study], "r").startswith(
        f"plan: 1 run, 1 study (chosen), {6 * per_epoch:,} training images to go"
    )


@pytest.mark.slow  # trains
def test_a_stale_run_whose_re_training_stopped_says_it_resumes_as_the_plan_does(
    tmp_path, tiny_npz, capsys
):
    spec_file = toy_spec(tmp_path, f"npz:{tiny_npz}", epochs=3)
    res = tmp_path / "r"
    assert run_cli("--results", res, "run", spec_file) == 0
    spec_file.write_text(spec_file.read_text().replace("epochs = 3", "epochs = 4"))
    (stale,) = job.plan(spec.load(str(spec_file)), "quick", res)
    staged = layout.staging_dir(stale.out)  # the re-training, stopped after epoch 2
    layout.checkpoint_file(staged).parent.mkdir(parents=True)
    np.savez(layout.checkpoint_file(staged), epoch=np.int64(2))
    storage.write_text(layout.checkpoint_key_file(staged), job.job_key(stale).digest)
    capsys.readouterr()
    assert run_cli("--results", res, "status", spec_file) == 0
    out = capsys.readouterr().out
    assert "its re-training stopped after epoch 2 of 4: it resumes" in out, out
    assert run_cli("--results", res, "plan", spec_file) == 0
    assert "left to train: 1 (1,200 images" in capsys.readouterr().out  # 2 epochs of 4
