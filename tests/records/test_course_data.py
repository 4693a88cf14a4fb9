"""The datasets courses set: Fashion-MNIST (Debian's package), CIFAR-10/100 in Keras' own
layout, and USU CS5600's pickles, read without running anything a pickle holds."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from coursework.data import arrays, formats, named
from coursework.data import datasets as data
from coursework.records import layout, storage
from coursework.records.errors import DataError
from coursework.records.layout import ResultsSet
from coursework.runtime import backend
from tests.helpers import FC_AND_CONV, run_cli, toy_spec

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def cifar_folder(
    base: Path, hundred: bool = False, per_batch: int = 40, tests: int | None = None
) -> Path:
    """A tiny CIFAR in Keras' layout: Python-2-style pickled dicts with bytes keys (``tests``:
    the number of test images, if not ``per_batch``)."""
    rng = np.random.default_rng(0)
    folder = base / ("cifar-100-python" if hundred else "cifar-10-batches-py")
    folder.mkdir(parents=True)
    classes = 100 if hundred else 10
    names = (
        ["train", "test"] if hundred else [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    )
    for name in names:
        n = per_batch * (25 if hundred and name == "train" else 1)  # CIFAR-100: 10 a class
        n = max(tests if tests and name.startswith("test") else n, classes * 2)
        labels = [i % classes for i in range(n)]
        batch = {
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"batch_label": name.encode(),
            b"filenames": [b"x.png"] * n,
        }
        batch[b"fine_labels" if hundred else b"labels"] = labels
        if hundred:
            batch[b"coarse_labels"] = [i % 20 for i in labels]
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    if hundred:
        meta = {b"fine_label_names": [f"class{i}".encode() for i in range(100)]}
        (folder / "meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


@pytest.mark.parametrize("hundred", [False, True])
def test_cifar_in_keras_layout_loads_with_a_fixed_stratified_validation_split(
    tmp_path, monkeypatch, hundred
):
    cifar_folder(tmp_path, hundred)
    monkeypatch.setenv("COURSEWORK_DATA_DIR", str(tmp_path))
    name = "cifar100" if hundred else "cifar10"
    ds = data.load(name)
    classes = 100 if hundred else 10
    assert ds.input_shape == (32, 32, 3) and ds.num_classes == classes
    # a tenth of each class's training images (CIFAR: 5,000 of 50,000), by a fixed seed
    per_class = np.bincount(ds.y_val, minlength=classes)
    assert per_class.std() == 0 and per_class[0] == (1 if hundred else 2)
    assert ds.sizes["train"] + ds.sizes["val"] == (1000 if hundred else 200)
    again = data.load(name)
    assert np.array_equal(ds.y_val, again.y_val) and ds.fingerprint() == again.fingerprint()
    assert set(ds.describe()["files"]) >= ({"train", "test"} if hundred else {"test_batch"})
    if hundred:
        assert ds.names[:2] == ["class0", "class1"]


def assert_quick_subset(sub: arrays.Dataset, full: arrays.Dataset) -> None:
    """``sub`` is mnist-5k's budget of ``full``: 4,000 / 500 / 500, the same number of each
    class in each split, every image from the same split of ``full``."""
    classes = full.num_classes
    assert sub.sizes == {"train": 4000, "val": 500, "test": 500}
    assert sub.num_classes == classes and sub.names == full.names
    assert sub.info == data.info(sub.name)  # info knows it without loading
    for split in arrays.SPLITS:
        y = getattr(sub, f"y_{split}")
        assert np.bincount(y, minlength=classes).tolist() == [len(y) // classes] * classes
        rows = {r.tobytes() for r in getattr(full, f"x_{split}")}
        assert all(r.tobytes() in rows for r in getattr(sub, f"x_{split}")), split
    again = data.load(sub.name)
    assert again.fingerprint() == sub.fingerprint()  # fixed: the same subset on every load
    assert sub.describe()["files"] == full.describe()["files"]
    assert named.CITATIONS[sub.name] == named.CITATIONS[full.name]


@pytest.mark.parametrize("hundred", [False, True])
def test_a_named_datasets_quick_subset_is_mnist_5k_sized_stratified_and_fixed(
    tmp_path, monkeypatch, hundred
):
    # enough images for 400 / 50 / 50 of each of 10 classes, 40 / 5 / 5 of each of 100
    cifar_folder(tmp_path, hundred, per_batch=200 if hundred else 1000, tests=1000)
    monkeypatch.setenv("COURSEWORK_DATA_DIR", str(tmp_path))
    name = "cifar100" if hundred else "cifar10"
    sub = data.load(f"{name}-5k")
    assert sub.name == f"{name}-5k"
    assert_quick_subset(sub, data.load(name))


def test_quick_runs_named_data_on_its_subset_into_the_set_named_as_asked(tmp_path):
    from coursework.engine.job import plan
    from coursework.records import spec

    conv = spec.load("conv", builders=False)
    for profile, want in (("quick", "fashion-mnist-5k"), ("full", "fashion-mnist")):
        jobs = plan(conv, profile, tmp_path, dataset="fashion-mnist")
        assert {j.run.config.dataset for j in jobs} == {want}
        assert {j.rs.name for j in jobs} == {layout.set_name(profile, "fashion-mnist")}
    own = plan(conv, "quick", tmp_path, dataset="npz:own.npz")
    assert {j.run.config.dataset for j in own} == {"npz:own.npz"}  # own data: all of it


@pytest.mark.skipif(not DEBIAN.is_dir(), reason="Debian's dataset-fashion-mnist not installed")
def test_debians_fashion_mnist_has_a_fixed_stratified_quick_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEWORK_DATA_DIR", str(tmp_path))  # no other copy: Debian's
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    sub = data.load("fashion-mnist-5k")
    assert sub.describe()["files"] == named.FASHION_SHA256 and sub.names[0] == "T-shirt/top"
    assert_quick_subset(sub, data.load("fashion-mnist"))


def usu_folder(base: Path, shape=(64, 64, 3)) -> Path:
    """USU's six pickle files: images and one-hot targets (bee / no bee)."""
    rng = np.random.default_rng(1)
    folder = base / "bees"
    folder.mkdir()
    for split, n in (("train", 80), ("valid", 20), ("test", 20)):
        y = rng.integers(0, 2, n)
        x = rng.integers(0, 60, (n, *shape)).astype(np.float32) / 255
        x[y == 1, 16:48, 16:48] += 0.7
        with open(folder / f"{split}_X.pck", "wb") as f:
            pickle.dump(x, f)
        with open(folder / f"{split}_Y.pck", "wb") as f:
            pickle.dump(np.eye(2, dtype=np.float32)[y], f)
    return folder


@pytest.mark.slow  # trains
def test_usu_pickles_with_one_hot_targets_train(tmp_path):
    folder = usu_folder(tmp_path)
    ds = data.load(f"pickles:{folder}")
    assert ds.input_shape == (64, 64, 3) and ds.num_classes == 2
    assert ds.sizes == {"train": 80, "val": 20, "test": 20}
    spec = toy_spec(tmp_path, f"pickles:{folder}", FC_AND_CONV, epochs=1)
    assert run_cli("--results", tmp_path / "r", "run", spec) == 0
    rec = storage.read_json(tmp_path / "r/quick/toy/conv/seed-0/run.json")
    assert rec["status"] == "complete" and set(rec["dataset"]["files"]) == set(
        formats.USU_FILES.values()
    )


class Payload:
    """Unpickling this calls os.system: it would create the file ``touched``."""

    def __init__(self, touched: Path):
        self.touched = touched

    def __reduce__(self):
        return (os.system, (f"touch {self.touched}",))


def test_a_pickle_that_asks_for_any_other_object_is_refused_and_nothing_runs(tmp_path):
    folder = usu_folder(tmp_path, shape=(8, 8, 1))
    touched = tmp_path / "pwned"
    (folder / "train_Y.pck").write_bytes(pickle.dumps(Payload(touched)))
    with pytest.raises(DataError) as err:
        data.load(f"pickles:{folder}")
    msg = str(err.value)
    assert "train_Y.pck" in msg and ("posix.system" in msg or "os.system" in msg)
    assert not touched.exists()  # nothing of it ran
    (folder / "train_Y.pck").write_bytes(pickle.dumps({"not": "an array"}))
    with pytest.raises(DataError, match="holds a dict, not a numpy array"):
        data.load(f"pickles:{folder}")
    # the same for CIFAR batches
    cifar = cifar_folder(tmp_path / "c")
    (cifar / "test_batch").write_bytes(pickle.dumps(Payload(touched)))
    os.environ["COURSEWORK_DATA_DIR"] = str(tmp_path / "c")
    try:
        with pytest.raises(DataError, match="test_batch: refused"):
            data.load("cifar10")
    finally:
        del os.environ["COURSEWORK_DATA_DIR"]
    assert not touched.exists()


def test_a_named_dataset_offline_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEWORK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    import keras

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(DataError) as err:
        data.load("cifar10")
    assert str(tmp_path / "cifar-10-batches-py") in str(err.value)
    with pytest.raises(DataError, match="unknown dataset 'cifar-11'.*fashion-mnist"):
        data.load("cifar-11")


@pytest.mark.slow
@pytest.mark.skipif(
    backend.current() != "tensorflow", reason="builds every network: once, in the TensorFlow pass"
)
@pytest.mark.parametrize("profile", ["quick", "full"])
def test_every_question_takes_cifar_images_and_describe_counts_their_parameters(
    tmp_path, monkeypatch, capsys, profile
):
    """`make quick DATASET=cifar100`: every run of every question builds on 32x32x3 images in
    100 classes, and `describe` shows each one's parameter counts."""
    from coursework.records import spec

    cifar_folder(tmp_path, hundred=True)
    monkeypatch.setenv("COURSEWORK_DATA_DIR", str(tmp_path))
    questions = spec.all_questions()
    assert run_cli("describe", *questions, "--profile", profile, "--dataset", "cifar100") == 0
    out = capsys.readouterr().out
    runs = sum(len(spec.load(q).resolve(profile)) for q in questions)
    assert out.count("(input 32x32x3, 100 classes)") == runs


@pytest.mark.slow
@pytest.mark.skipif(not DEBIAN.is_dir(), reason="Debian's dataset-fashion-mnist not installed")
@pytest.mark.skipif(
    backend.current() != "tensorflow", reason="trains on Fashion-MNIST: once, on TensorFlow"
)
def test_conv_trains_on_debians_fashion_mnist_and_records_its_sha256(tmp_path):
    ds = data.load("fashion-mnist")
    assert ds.sizes == {"train": 50000, "val": 10000, "test": 10000}
    assert np.bincount(ds.y_val).tolist() == [1000] * 10 and ds.names[0] == "T-shirt/top"
    res = tmp_path / "r"
    assert (
        run_cli(
            "--results",
            res,
            "run",
            "conv",
            "--profile",
            "quick",
            "--only",
            "fc100,conv1",
            "--seeds",
            "0",
            "--dataset",
            "fashion-mnist",
        )
        == 0
    )
    [rec_path] = [
        p
        for p in ResultsSet(res, layout.set_name("quick", "fashion-mnist")).record_paths()
        if "/conv1/" in p.as_posix()
    ]
    rec = json.loads(rec_path.read_text())
    assert rec["dataset"]["files"] == named.FASHION_SHA256
    # quick: mnist-5k's budget of Fashion-MNIST, and the run says so
    assert rec["dataset"]["name"] == rec["config"]["dataset"] == "fashion-mnist-5k"
    assert rec["dataset"]["sizes"] == {"train": 4000, "val": 500, "test": 500}
    assert rec["metrics"]["test_accuracy"] > 0.6  # 4 epochs of a convolutional network
