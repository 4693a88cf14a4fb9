"""A dataset's six arrays, checked as they load: shapes, dtypes, labels, pixel ranges; a
problem is one :class:`DataError` naming the file and the array."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from coursework.records.errors import DataError

SPLITS = ("train", "val", "test")
ARRAY_KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


@dataclass(frozen=True)
class DatasetInfo:
    """What a model builder and the report need to know, without loading pixels."""

    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    sizes: dict[str, int]


@dataclass(frozen=True)
class Dataset:
    """Images and labels for the three splits (shapes in the module docstring)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    class_names: tuple[str, ...] | None = None
    files: tuple[tuple[str, str], ...] = ()  # (file, sha256) of what was read, where known

    @property
    def names(self) -> list[str]:
        """The class names (``"0"``, ``"1"``, ... where the data has none)."""
        return list(self.class_names or (str(i) for i in range(self.num_classes)))

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def sizes(self) -> dict[str, int]:
        return {s: int(len(getattr(self, f"y_{s}"))) for s in SPLITS}

    @property
    def info(self) -> DatasetInfo:
        return DatasetInfo(self.name, self.input_shape, self.num_classes, self.sizes)

    def fingerprint(self) -> str:
        """sha256 over dtype, shape and bytes of the six arrays: same data, same hash."""
        h = hashlib.sha256()
        for key in ARRAY_KEYS:
            a = np.ascontiguousarray(getattr(self, key))
            h.update(f"{key}:{a.dtype.str}:{a.shape};".encode())
            h.update(a.tobytes())
        return h.hexdigest()

    def describe(self) -> dict:
        """Name, shape, classes, sizes and fingerprint, as recorded in ``run.json``."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "sizes": self.sizes,
            "class_names": self.names,
            "fingerprint": self.fingerprint(),
            **({"files": dict(self.files)} if self.files else {}),
        }


# uint8 pixel value v -> v * float32(1 / 255): a multiplication, which every backend's compiled
# step computes exactly as numpy does (a division may be compiled into one, with other roundings)
PIXEL_SCALE = np.float32(1 / 255)


def scale(x: np.ndarray) -> np.ndarray:
    """Pixels to float32 in [0, 1]: uint8 is divided by 255, floats are taken as scaled.

    The one rule for pixels; :func:`coursework.engine.loop.pixels` applies it inside the compiled
    training step.
    """
    x = np.asarray(x)
    return x.astype(np.float32) * PIXEL_SCALE if x.dtype == np.uint8 else x.astype(np.float32)


def load_npz(path: Path, name: str) -> Dataset:
    arrays = read_npz(path, ARRAY_KEYS)
    names = None
    with np.load(path, allow_pickle=False) as f:
        if "class_names" in f.files:
            names = [str(n) for n in f["class_names"]]
    return checked(name, arrays, Origin(str(path), class_names=names))


def read_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    if not path.exists():
        raise DataError(f"{path}: no such dataset file")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise DataError(
                    f"{path}: missing array(s) {', '.join(missing)} (it has {', '.join(f.files)};"
                    f" expected {', '.join(keys)})"
                )
            return {k: f[k] for k in keys}
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from exc


# the most classes a dataset may have: labels are 0 .. num_classes - 1, and num_classes is the
# largest label + 1, so one stray label (10**9) would build an output layer of a billion units
MAX_CLASSES = 1000

LABEL_RULE = (
    f"labels must be integers 0..C-1 with every class in training, for at most "
    f"{MAX_CLASSES} classes"
)

KINDS = {
    "U": "strings",
    "S": "byte strings",
    "O": "Python objects",
    "c": "complex numbers",
    "M": "dates",
    "m": "time spans",
    "V": "records",
}


def _row(a: np.ndarray) -> str:
    """One label row for a message: ``[0.6, 0.4]`` (the first 10 values)."""
    values = ", ".join(f"{v:g}" for v in a[:10].astype(np.float64))
    return f"[{values}{', ...' if len(a) > 10 else ''}]"


def _labels(y: np.ndarray, field: str, source: str) -> np.ndarray:
    """Labels as int64 ``(N,)`` in 0 .. MAX_CLASSES - 1, from integers, whole floats or one-hot
    rows; anything else is one :class:`DataError` saying what was found."""
    if y.dtype.kind not in "biuf":
        first = y.reshape(-1)[0] if y.size else None
        first = first.item() if isinstance(first, np.generic) else first
        example = f", e.g. {repr(first)[:40]}" if y.size else ""
        raise DataError(
            f"{source}: {field} holds {KINDS.get(y.dtype.kind, y.dtype)} (dtype "
            f"{y.dtype}{example}), but {LABEL_RULE}: number the classes 0, 1, 2, "
            "... and give their names as class_names"
        )
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows: exactly one 1, the rest 0
        ok = np.all((y == 0) | (y == 1), axis=1) & (y.sum(axis=1) == 1)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise DataError(
                f"{source}: {field} is read as one-hot rows ({y.shape[0]} x "
                f"{y.shape[1]}), but row {i} is {_row(y[i])}, not exactly one 1 and "
                "the rest 0 (soft or multi-label targets cannot be trained here): "
                "give one-hot rows or integer labels 0..C-1"
            )
        y = y.argmax(axis=1)
    y = y.reshape(-1)
    if y.dtype.kind == "f" and len(y):
        with np.errstate(invalid="ignore"):  # inf and nan are not whole
            whole = np.equal(np.mod(y, 1), 0)
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise DataError(
                f"{source}: {field} has label {y[i]:g} (at index {i}), not a whole "
                f"number, but {LABEL_RULE}"
            )
    if len(y) and y.min() < 0:
        bad = ", ".join(f"{v:g}" for v in np.unique(y[y < 0])[:5])
        raise DataError(f"{source}: {field} has negative label(s) {bad}: {LABEL_RULE}")
    if len(y) and y.max() >= MAX_CLASSES:
        top = int(y.max())
        raise DataError(
            f"{source}: {field} has label {top}, which would make {top + 1} "
            f"classes, but {LABEL_RULE}"
        )
    return y.astype(np.int64)


@dataclass(frozen=True)
class Origin:
    """Where a dataset's arrays came from, for its messages and its record.

    Args:
        source: names the data in every message (a file, a folder, a module).
        class_names: the names of the classes, where the data has them.
        files: (file, sha256) of what was read, where known.
        fields: names an array in the messages where its key is not enough
            (``y_train (train_Y.pck)``).
    """

    source: str
    class_names: list[str] | None = None
    files: tuple[tuple[str, str], ...] = ()
    fields: dict[str, str] | None = None


def checked(name: str, arrays: Mapping[str, Any], origin: Origin) -> Dataset:
    """Validate shapes, dtypes and labels; images become (N, H, W, C).

    Args:
        name: the dataset's name.
        arrays: the six arrays (:data:`ARRAY_KEYS`: ``x_train``, ``y_train``, ...).
        origin: where they came from.
    """
    source, fields, class_names = origin.source, origin.fields or {}, origin.class_names
    xs, ys = [], []
    for split in SPLITS:
        x, y = _checked_split(split, arrays[f"x_{split}"], arrays[f"y_{split}"], source, fields)
        xs.append(x)
        ys.append(y)
    shapes = {x.shape[1:] for x in xs}
    if len(shapes) != 1:
        raise DataError(f"{source}: the splits have different image shapes {sorted(shapes)}")
    if len({x.dtype for x in xs}) != 1:
        raise DataError(f"{source}: the splits have different pixel dtypes")
    num_classes = _checked_classes(ys, source, fields)
    if class_names is not None and len(class_names) < num_classes:
        raise DataError(
            f"{source}: class_names has {len(class_names)} names for {num_classes} classes"
        )
    return Dataset(
        name,
        xs[0],
        ys[0],
        xs[1],
        ys[1],
        xs[2],
        ys[2],
        num_classes,
        tuple(class_names[:num_classes]) if class_names is not None else None,
        origin.files,
    )


def _checked_split(
    split: str,
    x: Any,
    y: Any,
    source: str,
    fields: dict[str, str],
) -> tuple[np.ndarray, np.ndarray]:
    """One split's images, as (N, H, W, C) uint8 or float32 in [0, 1], and its labels."""
    fx, fy = fields.get(f"x_{split}", f"x_{split}"), fields.get(f"y_{split}", f"y_{split}")
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise DataError(f"{source}: {fx} must be (N, H, W) or (N, H, W, C), got {x.shape}")
    y = _labels(y, fy, source)
    if len(y) != len(x):
        raise DataError(f"{source}: {fx} has {len(x)} images but {fy} {len(y)} labels")
    if len(x) == 0:
        raise DataError(f"{source}: the {split} split is empty")
    if x.dtype == np.uint8:
        return x, y
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{source}: {fx} has non-numeric dtype {x.dtype}")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise DataError(f"{source}: {fx} has NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        fix = "divide by 255 or store uint8" if hi <= 255 and lo >= 0 else "scale them to [0, 1]"
        raise DataError(
            f"{source}: {fx} holds floats from {lo:g} to {hi:g}, but "
            f"float pixels must be in [0, 1]: {fix}"
        )
    return x, y


def _checked_classes(ys: list[np.ndarray], source: str, fields: dict[str, str]) -> int:
    """The number of classes: every label of validation and test occurs in training, and
    training's labels are 0 .. C - 1, at least two of them."""
    seen = set(np.unique(ys[0]).tolist())
    for split, y in (("val", ys[1]), ("test", ys[2])):
        unseen = sorted(set(np.unique(y).tolist()) - seen)
        if unseen:
            raise DataError(
                f"{source}: y_{split} has label(s) {', '.join(map(str, unseen))} "
                f"that never occur in y_train (labels there: "
                f"{', '.join(map(str, sorted(seen)))}); a model cannot learn them"
            )
    num_classes = int(ys[0].max()) + 1
    if len(seen) < 2:
        raise DataError(f"{source}: need at least 2 classes, found labels {sorted(seen)}")
    if gaps := sorted(set(range(num_classes)) - seen):
        shown = ", ".join(map(str, gaps[:10])) + (", ..." if len(gaps) > 10 else "")
        labels = sorted(seen)
        there = ", ".join(map(str, labels[:10])) + (", ..." if len(labels) > 10 else "")
        raise DataError(
            f"{source}: {fields.get('y_train', 'y_train')}'s labels are not 0..C-1: "
            f"label(s) {shown} never occur (labels there: {there}); {LABEL_RULE}: "
            "number the classes 0, 1, 2, ... (labels counted from 1: subtract 1)"
        )
    return num_classes
