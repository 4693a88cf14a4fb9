"""The file formats courses hand datasets out in, read safely.

- **IDX** (``*-idx3-ubyte.gz``, ``*-idx1-ubyte.gz``): MNIST's and Fashion-MNIST's format, as
  Keras downloads it and as Debian's ``dataset-fashion-mnist`` installs it
  (``/usr/share/datasets/fashion-mnist/``).
- **CIFAR's Python batches** (``cifar-10-batches-py/``, ``cifar-100-python/``, as Keras keeps
  them, or the ``.tar.gz`` archives they come in).
- **USU CS5600's pickles**: six files ``train_X.pck``, ``train_Y.pck``, ``valid_X.pck``,
  ``valid_Y.pck``, ``test_X.pck``, ``test_Y.pck``: images (N, H, W) or (N, H, W, C) and targets,
  integer or one-hot.

Pickle files can run any code they like when loaded: every pickle here is read by
:class:`ArraysOnly`, which builds numpy arrays, numbers, strings, lists and dicts and refuses
anything else, naming the file and the object it asked for, before anything of it runs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from coursework.records.errors import DataError

# what a pickle of numpy arrays needs, and nothing more
SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),  # Python 2 pickles (CIFAR's) store bytes through it
}


class ArraysOnly(pickle.Unpickler):
    """An unpickler that builds numpy arrays and plain data only."""

    def __init__(self, file: IO[bytes], source: str, **kw: Any) -> None:
        super().__init__(file, **kw)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in SAFE_GLOBALS:
            return super().find_class(module, name)
        raise DataError(
            f"{self.source}: refused: the pickle asks for {module}.{name}, and only "
            "numpy arrays and plain data are read (nothing of it was run)"
        )


def load_pickle(data: bytes, source: str, encoding: str = "ASCII") -> Any:
    """Unpickle ``data`` with :class:`ArraysOnly` (``encoding="bytes"`` for Python 2 pickles)."""
    try:
        return ArraysOnly(io.BytesIO(data), source, encoding=encoding).load()
    except DataError:
        raise
    except Exception as exc:  # truncated, not a pickle, an old protocol's quirk
        raise DataError(f"{source}: not a readable pickle ({type(exc).__name__}: {exc})") from exc


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- IDX


def read_idx(path: Path) -> tuple[np.ndarray, str]:
    """An IDX file (gzipped or not) as a uint8 array; and the sha256 of its content, unpacked
    (the same whoever compressed it)."""
    try:
        raw = path.read_bytes()
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from exc
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 8:
        raise DataError(f"{path}: not an IDX file of unsigned bytes")
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path}: holds {body.size} bytes for shape {shape}")
    return body.reshape(shape), sha256(data)


# --------------------------------------------------------------------------- CIFAR


def read_cifar(path: Path, fine: bool = True) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """CIFAR-10 (``cifar-10-batches-py``: ``data_batch_1`` .. ``5``, ``test_batch``) or
    CIFAR-100 (``cifar-100-python``: ``train``, ``test``; ``fine`` labels, else the 20 coarse
    ones), a folder or its ``.tar.gz``; return ``x_train``, ``y_train``, ``x_test``,
    ``y_test`` (images (N, 32, 32, 3) uint8) and the sha256 of every file read."""
    files = cifar_files(path)
    hundred = "train" in files
    names = (
        (["train"], ["test"])
        if hundred
        else ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"])
    )
    key = b"fine_labels" if fine else b"coarse_labels"
    out, hashes = {}, {}
    for split, parts in zip(("train", "test"), names, strict=True):
        xs, ys = [], []
        for name in parts:
            if name not in files:
                raise DataError(f"{path}: no file {name!r} (it has: {', '.join(sorted(files))})")
            hashes[name] = sha256(files[name])
            batch = load_pickle(files[name], f"{path}/{name}", encoding="bytes")
            labels = batch.get(key if hundred else b"labels") if isinstance(batch, dict) else None
            data = batch.get(b"data") if isinstance(batch, dict) else None
            if data is None or labels is None:
                raise DataError(
                    f"{path}/{name}: not a CIFAR batch (a dict with b'data' and the labels)"
                )
            xs.append(np.asarray(data, np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            ys.append(np.asarray(labels, np.int64))
        out[f"x_{split}"], out[f"y_{split}"] = np.concatenate(xs), np.concatenate(ys)
    return out, hashes


def cifar_files(path: Path) -> dict[str, bytes]:
    """The members of a CIFAR folder or archive, by file name."""
    if path.is_dir():
        return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}
    try:
        with tarfile.open(path, "r:gz") as tar:
            return {
                Path(m.name).name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile()
            }
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise DataError(f"{path}: not a CIFAR archive ({type(exc).__name__}: {exc})") from exc


# --------------------------------------------------------------------------- USU pickles

USU_FILES = {
    "x_train": "train_X.pck",
    "y_train": "train_Y.pck",
    "x_val": "valid_X.pck",
    "y_val": "valid_Y.pck",
    "x_test": "test_X.pck",
    "y_test": "test_Y.pck",
}


def read_pickles(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """USU CS5600's six pickle files in ``folder``: the arrays, and each file's sha256."""
    if not folder.is_dir():
        raise DataError(
            f"{folder}: no such folder (pickles:PATH wants the folder of "
            f"{', '.join(USU_FILES.values())})"
        )
    missing = [f for f in USU_FILES.values() if not (folder / f).exists()]
    if missing:
        raise DataError(
            f"{folder}: missing {', '.join(missing)} (USU's six files: "
            f"{', '.join(USU_FILES.values())})"
        )
    arrays, hashes = {}, {}
    for key, name in USU_FILES.items():
        data = (folder / name).read_bytes()
        hashes[name] = sha256(data)
        value = load_pickle(data, str(folder / name), encoding="latin1")
        if not isinstance(value, np.ndarray):
            raise DataError(f"{folder / name}: holds a {type(value).__name__}, not a numpy array")
        arrays[key] = value
    return arrays, hashes
