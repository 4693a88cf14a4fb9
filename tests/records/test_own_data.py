"""Your own images, your trained models, and data checked before anything trains."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from coursework.commands import cli
from coursework.data import datasets as data
from coursework.data import formats, images
from coursework.records import storage
from coursework.records.errors import DataError
from coursework.records.layout import ResultsSet
from coursework.runtime import backend
from tests.conftest import save_npz
from tests.helpers import toy_spec

MLP = """
    [[runs]]
    name = "mlp"
    model = { conv_maps = [], hidden = [64], activation = "relu" }
"""


def run(tmp_path, spec, *extra) -> int:
    return cli.main(["--results", str(tmp_path / "r"), "run", str(spec), *map(str, extra)])


# a run whose first-epoch loss is far above the loss of guessing (ln 2), per backend (their
# initial weights differ): the rule of old stopped such runs as diverged
STARTS_HIGH = {
    "tensorflow": "learning_rate = 0.1\nmodel = { conv_maps = [], hidden = [64], activation "
    '= "relu" }',
    "jax": 'learning_rate = 0.5\nmodel = { conv_maps = [], hidden = [64], activation = "tanh" }',
    "torch": 'learning_rate = 0.2\nmodel = { conv_maps = [], hidden = [64], activation = "tanh" }',
}


@pytest.mark.slow  # trains
def test_a_run_that_starts_high_completes(tmp_path, rgb_npz):
    spec = toy_spec(
        tmp_path,
        f"npz:{rgb_npz}",
        '[[runs]]\nname = "high"\nbatch_size = 16\n' + STARTS_HIGH[backend.current()],
        epochs=3,
    )
    assert run(tmp_path, spec) == 0
    out = tmp_path / "r/quick/toy/high/seed-0"
    history = storage.read_csv(out / "history.csv")
    assert float(history[0]["loss"]) > 3 * math.log(2)  # the old rule stopped the run here
    rec = json.loads((out / "run.json").read_text())
    assert rec["status"] == "complete" and rec["metrics"]["epochs_run"] == 3
    assert rec["metrics"]["test_accuracy"] > 0.9  # it was learning


def bad_arrays(rgb_npz: Path, **changes) -> dict:
    with np.load(rgb_npz) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(changes)
    return arrays


@pytest.mark.parametrize(
    "case, words",
    [
        ("unseen_label", ["y_test", "label(s) 7", "never occur in y_train"]),
        ("string_labels", ["y_train holds strings", "'bee'", "integers 0..C-1", "class_names"]),
        ("billion_classes", ["y_train has label 1000000000", "at most 1000 classes"]),
        ("float_255", ["x_train", "floats from 0 to", "divide by 255"]),
        ("too_small", ["8x8", "do not fit run 'conv'", "image_size"]),
    ],
)
def test_each_data_check_is_one_error_before_any_run(tmp_path, rgb_npz, case, words, capsys):
    with np.load(rgb_npz) as f:
        arrays = {k: f[k] for k in f.files}
    if case == "unseen_label":
        arrays["y_test"] = arrays["y_test"].copy()
        arrays["y_test"][0] = 7
    elif case == "string_labels":
        arrays["y_train"] = np.where(arrays["y_train"] == 1, "bee", "no-bee")
    elif case == "billion_classes":  # claimed 10**9 + 1 classes: the network ran out of memory
        arrays["y_train"] = arrays["y_train"].copy()
        arrays["y_train"][0] = 10**9
    elif case == "float_255":
        arrays["x_train"] = arrays["x_train"].astype(np.float32)
    else:
        arrays = {k: (v[:, :8, :8] if k.startswith("x") else v) for k, v in arrays.items()}
    path = save_npz(tmp_path / f"{case}.npz", arrays)
    spec = toy_spec(
        tmp_path,
        f"npz:{path}",
        MLP
        + """
        [[runs]]
        name = "conv"
        model = { conv_maps = [20, 40], hidden = [16], activation = "relu" }
    """,
        epochs=1,
    )
    assert run(tmp_path, spec) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert str(path) in err and all(w in err for w in words), err
    assert not list((tmp_path / "r").rglob("run.json"))  # nothing trained, nothing recorded


@pytest.mark.slow  # trains
def test_spec_path_that_is_a_folder_and_a_byte_order_mark(tmp_path, tiny_npz, capsys):
    assert cli.main(["--results", str(tmp_path / "r"), "run", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    spec = toy_spec(tmp_path, f"npz:{tiny_npz}", epochs=1)
    spec.write_bytes(b"\xef\xbb\xbf" + spec.read_bytes())  # saved by a Windows editor
    assert run(tmp_path, spec) == 0


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """A folder of PNG files: bee/ and no-bee/, 16x20 RGB, 15 of each (split for us)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("photos") / "bees"
    rng = np.random.default_rng(1)
    for label, name in enumerate(("bee", "no-bee")):
        (root / name).mkdir(parents=True)
        for i in range(15):
            a = rng.integers(0, 90, (16, 20, 3)).astype(np.uint8)
            if label == 0:
                a[4:12, 6:14, 0] += 150
            Image.fromarray(a).save(root / name / f"{i:02d}.png")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory, photos, monkeypatch_module):
    tmp = tmp_path_factory.mktemp("trained")
    monkeypatch_module.setenv("COURSEWORK_CACHE", str(tmp / "cache"))
    spec = toy_spec(
        tmp,
        f"folder:{photos}",
        MLP + "batch_size = 8",
        epochs=4,
        extra_defaults="image_size = [16, 16]",
    )
    assert cli.main(["--results", str(tmp / "r"), "run", str(spec)]) == 0
    return tmp / "r", tmp / "r/quick/toy/mlp/seed-0"


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.mark.slow  # trains (trained)
def test_a_folder_of_pngs_trains_and_its_class_names_go_everywhere(trained, tmp_path):
    res, folder = trained
    rec = json.loads((folder / "run.json").read_text())
    assert rec["status"] == "complete"
    assert rec["dataset"]["class_names"] == ["bee", "no-bee"]
    assert rec["dataset"]["input_shape"] == [16, 16, 3]  # resized from 16x20
    assert rec["dataset"]["sizes"] == {"train": 22, "val": 4, "test": 4}  # 15 a class: 11/2/2
    with np.load(folder / "predictions.npz") as f:
        assert f["class_names"].tolist() == ["bee", "no-bee"]
    from coursework.report import render as report

    report.render(ResultsSet(res, "quick"), prose_root=tmp_path / "prose")
    assert "(bee, no-bee)" in (res / "quick/report/toy.tex").read_text()
    cached = list(Path(rec["dataset"]["name"][7:]).parent.glob("*.npz"))
    assert cached == []  # the cache is not written into the images' folder


@pytest.mark.slow  # trains (trained)
def test_predict_reproduces_the_test_accuracy_of_the_run(trained, tmp_path, capsys):
    res, folder = trained
    from coursework.data import datasets as data

    ds = data.load(json.loads((folder / "run.json").read_text())["config"]["dataset"], [16, 16])
    test = save_npz(tmp_path / "test.npz", {"x": ds.x_test, "y": ds.y_test})
    out = tmp_path / "predictions.csv"
    assert cli.main(["predict", str(folder), str(test), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    acc = json.loads((folder / "run.json").read_text())["metrics"]["test_accuracy"]
    assert f"accuracy: {acc:.4f}" in printed
    rows = storage.read_csv(out)
    assert len(rows) == 4 and {r["predicted"] for r in rows} <= {"bee", "no-bee"}
    assert all(0.5 <= float(r["probability"]) <= 1 for r in rows)


@pytest.mark.slow  # trains (trained)
def test_predict_image_files_and_evaluate(trained, photos, tmp_path, capsys):
    _, folder = trained
    files = sorted((photos / "bee").glob("*.png"))[:2]
    assert cli.main(["predict", str(folder), *map(str, files)]) == 0
    printed = capsys.readouterr().out
    assert all(str(f) in printed for f in files)
    figure = tmp_path / "confusion.pdf"
    assert cli.main(["evaluate", str(folder), "--split", "test", "--out", str(figure)]) == 0
    acc = json.loads((folder / "run.json").read_text())["metrics"]["test_accuracy"]
    assert f"accuracy {acc:.4f}" in capsys.readouterr().out
    assert figure.exists() and figure.with_suffix(".png").exists()


def tiny_arrays(**changes) -> dict:
    """Six arrays of 4x4 grayscale images, labels 0 and 1, with ``changes`` applied."""
    rng = np.random.default_rng(0)
    arrays = {
        f"x_{s}": rng.integers(0, 256, (6, 4, 4)).astype(np.uint8) for s in ("train", "val", "test")
    }
    arrays.update({f"y_{s}": np.array([0, 1, 0, 1, 0, 1]) for s in ("train", "val", "test")})
    arrays.update(changes)
    return arrays


ONE_HOT = np.eye(2)[[0, 1, 0, 1, 0, 1]]


@pytest.mark.parametrize(
    "labels, words",
    [
        (
            np.array(["a", "b"] * 3),
            ["y_train holds strings (dtype <U1, e.g. 'a')", "integers 0..C-1"],
        ),
        (
            np.array([0, 10**9, 0, 1, 0, 1]),
            ["y_train has label 1000000000", "1000000001 classes", "at most 1000 classes"],
        ),
        (np.array([0, -1, 0, 1, 0, 1]), ["y_train has negative label(s) -1", "0..C-1"]),
        (
            np.array([0, 2.5, 0, 1, 0, 1]),
            ["y_train has label 2.5 (at index 1)", "not a whole number"],
        ),
        (np.array([0, np.nan, 0, 1, 0, 1]), ["y_train has label nan (at index 1)"]),
        (
            np.array([1, 2, 1, 2, 1, 2]),
            ["y_train's labels are not 0..C-1", "label(s) 0 never occur", "(labels there: 1, 2)"],
        ),
        (
            np.array([[0.6, 0.4], *ONE_HOT[1:]]),
            ["y_train is read as one-hot rows (6 x 2)", "row 0 is [0.6, 0.4]", "exactly one 1"],
        ),
        (np.array([*ONE_HOT[:3], [1, 1], *ONE_HOT[4:]]), ["row 3 is [1, 1]", "exactly one 1"]),
        (np.array([*ONE_HOT[:5], [0, 0]]), ["row 5 is [0, 0]", "exactly one 1"]),
    ],
    ids=[
        "strings",
        "billion",
        "negative",
        "fraction",
        "nan",
        "one-based",
        "soft",
        "two-ones",
        "no-one",
    ],
)
def test_labels_that_would_break_training_are_one_error_naming_file_and_array(
    tmp_path, labels, words
):
    path = save_npz(
        tmp_path / "labels.npz", tiny_arrays(y_train=labels, y_val=labels, y_test=labels)
    )
    with pytest.raises(DataError) as err:
        data.load(f"npz:{path}")
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and all(w in msg for w in words), msg


def test_good_one_hot_and_integer_labels_load(tmp_path):
    for labels in (
        ONE_HOT,
        ONE_HOT.astype(bool),
        np.array([0.0, 1.0] * 3),
        np.array([0, 1] * 3, np.uint8),
    ):
        path = save_npz(tmp_path / "good.npz", tiny_arrays(y_train=labels))
        ds = data.load(f"npz:{path}")
        assert ds.y_train.tolist() == [0, 1] * 3 and ds.num_classes == 2


def test_usu_pickles_with_soft_or_string_targets_name_the_pickle_file(tmp_path):
    """USU's pickles hand in one-hot targets: a row that is not one-hot, or targets that are
    strings (an object array of them), is refused, naming the file the labels came from."""
    import pickle

    for targets, words in (
        (np.array([[0.6, 0.4], *ONE_HOT[1:]]), "row 0 is [0.6, 0.4]"),
        (np.array(["a", "b"] * 3, dtype=object), "holds Python objects"),
    ):
        folder = tmp_path / f"usu-{targets.dtype}"
        folder.mkdir()
        for key, name in formats.USU_FILES.items():
            value = tiny_arrays(y_train=targets)[key]
            (folder / name).write_bytes(pickle.dumps(value))
        with pytest.raises(DataError) as err:
            data.load(f"pickles:{folder}")
        msg = str(err.value)
        assert msg.startswith(f"{folder}: y_train (train_Y.pck) ") and words in msg, msg


def gradient16(shape=(16, 64)) -> np.ndarray:
    """A 16-bit horizontal gradient, 0 to 65535."""
    row = np.rint(np.linspace(0, 65535, shape[1])).astype(np.uint16)
    return np.tile(row, (shape[0], 1))


@pytest.mark.parametrize("mode, file", [("I;16", "g.png"), ("I;16B", "g.tif"), ("I", "g.pgm")])
def test_16_bit_images_are_scaled_to_8_bits_not_clipped(tmp_path, mode, file):
    """A 16-bit PNG opens as I;16, a big-endian TIFF as I;16B, a 16-bit PGM as I (0..65535)."""
    from PIL import Image

    g = gradient16()
    path = tmp_path / file
    if mode == "I":
        path.write_bytes(b"P5 64 16 65535\n" + g.astype(">u2").tobytes())
    else:
        Image.fromarray(g.astype(">u2" if mode == "I;16B" else "<u2")).save(path)
    with Image.open(path) as im:
        assert im.mode == mode
    expected = np.rint(g / 257).astype(np.uint8)  # 65535 -> 255: the same gradient in 0..255
    a, size, color = images.decode(path, None, None)
    assert color == "grayscale" and size == (16, 64)
    np.testing.assert_array_equal(a[..., 0], expected)  # before: 99.6% of the pixels were 255
    rgb, _, _ = images.decode(path, None, "rgb")
    np.testing.assert_array_equal(rgb, np.repeat(expected[..., None], 3, axis=2))
    small, _, _ = images.decode(path, (8, 32), None)  # resized after scaling, not clipped
    assert 0 <= small.min() < 10 and small.max() > 245 and np.all(np.diff(small[0, :, 0]) >= 0)


def test_a_32_bit_image_beyond_16_bits_is_refused(tmp_path):
    from PIL import Image

    path = tmp_path / "wide.tif"
    Image.fromarray(np.full((4, 4), 70000, np.int32)).save(path)
    with pytest.raises(DataError, match=r"wide.tif: .*70000.*0\.\.65535"):
        images.decode(path, None, None)


def image_folder(root: Path, big: tuple[int, int] | None = None) -> Path:
    """Two classes of three 4x4 PNGs; ``big`` makes a/1.png that size."""
    from PIL import Image

    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            shape = big if (big and c == "a" and i == 1) else (4, 4)
            Image.fromarray(np.full(shape, 60 * i, np.uint8)).save(root / c / f"{i}.png")
    return root


@pytest.mark.parametrize("side, pillow", [(12, "warns"), (15, "raises")])
def test_an_image_above_pillows_decompression_bomb_limit_is_one_error(
    tmp_path, monkeypatch, side, pillow
):
    """Pillow warns above Image.MAX_IMAGE_PIXELS and raises above twice it: both are refused,
    naming the image file (100 pixels here: 12x12 = 144 warns, 15x15 = 225 raises)."""
    import warnings

    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    monkeypatch.setenv("COURSEWORK_CACHE", str(tmp_path / "cache"))
    root = image_folder(tmp_path / "imgs", big=(side, side))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning let through fails the test
        with pytest.raises(DataError) as err:
            data.load(f"folder:{root}", [4, 4], "grayscale")
    msg = str(err.value)
    assert msg.startswith(f"{root / 'a' / '1.png'}: ") and f"{side * side} pixels" in msg, msg
    assert "MAX_IMAGE_PIXELS" in msg and "100" in msg and "smaller" in msg, msg
    ok = image_folder(tmp_path / "fine")
    assert data.load(f"folder:{ok}", [4, 4], "grayscale").num_classes == 2
