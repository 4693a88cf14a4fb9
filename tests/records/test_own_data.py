"""Your own images, your trained models, and data checked before anything trains."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from coursework.commands import cli
from coursework.records import results
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
                  "= \"relu\" }",
    "jax": "learning_rate = 0.5\nmodel = { conv_maps = [], hidden = [64], activation = "
           "\"tanh\" }",
    "torch": "learning_rate = 0.2\nmodel = { conv_maps = [], hidden = [64], activation = "
             "\"tanh\" }",
}


def test_a_run_that_starts_high_completes(tmp_path, rgb_npz):
    spec = toy_spec(tmp_path, f"npz:{rgb_npz}", "[[runs]]\nname = \"high\"\nbatch_size = 16\n"
                    + STARTS_HIGH[backend.chosen()], epochs=3)
    assert run(tmp_path, spec) == 0
    out = tmp_path / "r/quick/toy/high/seed-0"
    history = results.read_csv(out / "history.csv")
    assert float(history[0]["loss"]) > 3 * math.log(2)  # the old rule stopped the run here
    rec = json.loads((out / "run.json").read_text())
    assert rec["status"] == "complete" and rec["metrics"]["epochs_run"] == 3
    assert rec["metrics"]["test_accuracy"] > 0.9  # it was learning


def bad_arrays(rgb_npz: Path, **changes) -> dict:
    with np.load(rgb_npz) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(changes)
    return arrays


@pytest.mark.parametrize("case, words", [
    ("unseen_label", ["y_test", "label(s) 7", "never occur in y_train"]),
    ("float_255", ["x_train", "floats from 0 to", "divide by 255"]),
    ("too_small", ["8x8", "do not fit run 'conv'", "image_size"]),
])
def test_each_data_check_is_one_error_before_any_run(tmp_path, rgb_npz, case, words, capsys):
    with np.load(rgb_npz) as f:
        arrays = {k: f[k] for k in f.files}
    if case == "unseen_label":
        arrays["y_test"] = arrays["y_test"].copy()
        arrays["y_test"][0] = 7
    elif case == "float_255":
        arrays["x_train"] = arrays["x_train"].astype(np.float32)
    else:
        arrays = {k: (v[:, :8, :8] if k.startswith("x") else v) for k, v in arrays.items()}
    path = save_npz(tmp_path / f"{case}.npz", arrays)
    spec = toy_spec(tmp_path, f"npz:{path}", MLP + """
        [[runs]]
        name = "conv"
        model = { conv_maps = [20, 40], hidden = [16], activation = "relu" }
    """, epochs=1)
    assert run(tmp_path, spec) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert str(path) in err and all(w in err for w in words), err
    assert not list((tmp_path / "r").rglob("run.json"))  # nothing trained, nothing recorded


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
    spec = toy_spec(tmp, f"folder:{photos}", MLP + "batch_size = 8", epochs=4,
                    extra_defaults="image_size = [16, 16]")
    assert cli.main(["--results", str(tmp / "r"), "run", str(spec)]) == 0
    return tmp / "r", tmp / "r/quick/toy/mlp/seed-0"


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


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

    report.render(res, "quick", prose_root=tmp_path / "prose")
    assert "(bee, no-bee)" in (res / "quick/report/toy.tex").read_text()
    cached = list(Path(rec["dataset"]["name"][7:]).parent.glob("*.npz"))
    assert cached == []  # the cache is not written into the images' folder


def test_predict_reproduces_the_test_accuracy_of_the_run(trained, tmp_path, capsys):
    res, folder = trained
    from coursework.records import data

    ds = data.load(json.loads((folder / "run.json").read_text())["config"]["dataset"], [16, 16])
    test = save_npz(tmp_path / "test.npz", {"x": ds.x_test, "y": ds.y_test})
    out = tmp_path / "predictions.csv"
    assert cli.main(["predict", str(folder), str(test), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    acc = json.loads((folder / "run.json").read_text())["metrics"]["test_accuracy"]
    assert f"accuracy: {acc:.4f}" in printed
    rows = results.read_csv(out)
    assert len(rows) == 4 and {r["predicted"] for r in rows} <= {"bee", "no-bee"}
    assert all(0.5 <= float(r["probability"]) <= 1 for r in rows)


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
