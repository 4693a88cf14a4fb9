"""Using a trained model: ``predict`` and ``evaluate``.

A run folder (``results/<profile>/<question>/<run>/seed-<k>/``) holds ``model.keras``, the
network at its best-validation epoch, and ``run.json``, which says how its images were read
(size, channels) and what the classes are called. Both commands load the model and scale the
pixels exactly as training did (:func:`coursework.data.arrays.scale`).

- ``predict RUN FILES...``: image files (resized to the model's input, in its color mode) or an
  ``.npz`` (arrays ``x`` or ``x_test``, labels ``y`` or ``y_test`` if any): per input the
  predicted class, by name, and its probability; the accuracy when labels are known.
- ``evaluate RUN [--dataset NAME] [--split test]``: accuracy on a split of a dataset (the run's
  own by default) and its confusion matrix as a figure.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import keras
import numpy as np

from coursework.data import datasets as data
from coursework.data import images
from coursework.data.arrays import scale
from coursework.records import layout, storage
from coursework.records.builders import resolve_builder
from coursework.records.errors import DataError, ResultsError
from coursework.records.record import RunRecord
from coursework.report import drawings, figstyle

BATCH = 1000


def load_run(folder: Path) -> tuple[keras.Model, RunRecord]:
    """The trained model of a run folder and its ``run.json`` record."""
    folder = Path(folder)
    record_path, model_path = folder / layout.RECORD, folder / layout.MODEL
    if not record_path.exists() or not model_path.exists():
        raise ResultsError(
            f"{folder}: not a finished run (it needs {layout.RECORD} and "
            "model.keras; give a folder like results/quick/conv/conv2/seed-0)"
        )
    rec = storage.read_record(record_path)
    resolve_builder(str(rec.config.builder))  # registers the run's own layers for loading
    return keras.saving.load_model(model_path, compile=False), rec


def class_names(rec: RunRecord) -> list[str]:
    ds = rec.dataset
    return ds.get("class_names") or [str(i) for i in range(ds["num_classes"])]


def read_inputs(
    files: list[Path], input_shape: tuple[int, int, int]
) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    """Images (N, H, W, C), a name for each, and labels where an ``.npz`` has them."""
    if len(files) == 1 and files[0].suffix == ".npz":
        path = files[0]
        try:
            with np.load(path, allow_pickle=False) as f:
                x_key = next((k for k in ("x", "x_test", "images") if k in f.files), None)
                if x_key is None:
                    raise DataError(
                        f"{path}: no array x (or x_test, images); it has {', '.join(f.files)}"
                    )
                y_key = next((k for k in ("y", "y_test", "labels") if k in f.files), None)
                x, y = f[x_key], (f[y_key].reshape(-1) if y_key else None)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: not a readable .npz file ({exc})") from exc
        x = x[..., None] if x.ndim == 3 else x
        return x, [f"{path.name}[{i}]" for i in range(len(x))], y
    h, w, c = input_shape
    color = "grayscale" if c == 1 else "rgb"
    return (
        np.stack([images.decode(Path(f), (h, w), color)[0] for f in files]),
        [str(f) for f in files],
        None,
    )


def predict(folder: Path, files: list[Path], out: Path | None = None) -> dict:
    """Predict every input; print a table, write ``out`` (CSV) if given; return the rows and
    the accuracy (None without labels)."""
    model, rec = load_run(folder)
    x, names, y = read_inputs([Path(f) for f in files], tuple(model.input_shape[1:]))
    if x.shape[1:] != tuple(model.input_shape[1:]):
        raise DataError(
            f"{files[0]}: images are {'x'.join(map(str, x.shape[1:]))}, the model "
            f"takes {'x'.join(map(str, model.input_shape[1:]))}"
        )
    probs = model.predict(scale(x), batch_size=BATCH, verbose=0)
    classes = class_names(rec)
    rows: list[dict[str, Any]] = [
        {"input": n, "predicted": classes[int(p.argmax())], "probability": float(p.max())}
        for n, p in zip(names, probs, strict=True)
    ]
    if y is not None:
        for row, label in zip(rows, y, strict=True):
            row["true"] = classes[int(label)]
    accuracy = float((probs.argmax(-1) == y).mean()) if y is not None else None
    width = max(len(r["input"]) for r in rows)
    for r in rows:
        print(
            f"{r['input']:{width}s}  {r['predicted']:>12s}  {r['probability']:.4f}"
            + (f"  (true: {r['true']})" if "true" in r else "")
        )
    if accuracy is not None:
        print(f"accuracy: {accuracy:.4f} ({int(round(accuracy * len(rows)))}/{len(rows)})")
    if out is not None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        storage.write_text(Path(out), buf.getvalue())
        print(f"written: {out}")
    return {"rows": rows, "accuracy": accuracy}


def evaluate(
    folder: Path, dataset: str | None = None, split: str = "test", out: Path | None = None
) -> float:
    """Accuracy on ``split`` of ``dataset`` (the run's own by default), with its confusion
    matrix written to ``out`` (default: ``evaluate-<question>-<run>-seed-<k>-<split>.pdf`` in
    the current folder: the results folder stays as the runs left it)."""
    model, rec = load_run(folder)
    cfg = rec.config
    name = dataset or cfg.dataset
    ds = data.load(name, cfg.image_size, cfg.color)
    x, y = getattr(ds, f"x_{split}"), getattr(ds, f"y_{split}")
    probs = model.predict(scale(x), batch_size=BATCH, verbose=0)
    if probs.shape[1] != ds.num_classes and ds.num_classes > probs.shape[1]:
        raise DataError(f"{ds.name}: {ds.num_classes} classes, the model knows {probs.shape[1]}")
    accuracy = float((probs.argmax(-1) == y).mean())
    print(
        f"{ds.name} {split}: accuracy {accuracy:.4f} ({int((probs.argmax(-1) == y).sum())}/"
        f"{len(y)}), model {Path(folder)}"
    )
    figstyle.style()
    fig = drawings.confusion(
        {"y_true": y, "probs": probs, "class_names": np.array(class_names(rec))},
        f"{rec.question}/{rec.run} on {split}",
    )
    target = (
        Path(out) if out else Path(f"evaluate-{rec.question}-{rec.run}-seed-{rec.seed}-{split}.pdf")
    )
    written = figstyle.save(fig, target.resolve().parent, target.with_suffix("").name)
    print(f"confusion matrix: {written[0]}")
    return accuracy
