"""Writing and reading results files: atomically (never half a file), with one text form for
every number, and one clear error naming the file for what cannot be written or read."""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import math
import os
import tempfile
import time
import zipfile
import zlib
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from coursework.records.errors import ResultsError
from coursework.records.record import RunRecord, check_version

# What one array of an .npz may hold to be read, and all of them together: the template's
# predictions.npz holds the test split's probabilities (10,000 x classes float16: 2 MB for 100
# classes) and 36 misclassified images (11 MB at 224 x 224 x 3 float16); a zip of a few MB can
# hold an array of GBs (zeros compress ~1000x), which np.load would inflate.
MAX_NPZ_ARRAY_BYTES = 32 << 20
MAX_NPZ_BYTES = 64 << 20
_UNREADABLE = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError)


@functools.cache
def _umask() -> int:
    """The process's umask (read once, when a results file is first written: never at
    import, and os.umask can only be read by setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


STALE_TEMPORARY = 120.0  # seconds: older than any write of atomic(), its writer is gone


def clear_temporaries(paths: list[Path], older_than: float = STALE_TEMPORARY) -> list[Path]:
    """Remove those of ``paths`` (temporary files of :func:`atomic` that a killed writer
    left: :meth:`coursework.records.layout.ResultsSet.leftovers`) older than ``older_than``
    seconds (a write in progress keeps its own); the removed."""
    gone = []
    now = time.time()
    for path in paths:
        try:
            if path.is_file() and not path.is_symlink() and now - path.stat().st_mtime > older_than:
                path.unlink()
                gone.append(path)
        except OSError:
            continue
    return gone


@contextlib.contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """The one way results are written: yields a temporary path beside ``path`` (its suffixes
    kept, as Keras wants ``.keras`` or ``.weights.h5``) for the caller to write; then the file
    is synced, given an ordinary file's mode and renamed to ``path``, so a kill mid-write never
    leaves half a file. On an error the temporary file is removed; the caller's own errors
    pass through, a storage error of these steps is a ResultsError naming ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=f".tmp{''.join(path.suffixes)}", dir=path.parent
        )
        os.close(fd)
    except OSError as exc:
        raise ResultsError(f"cannot write {path}: {exc.strerror or exc}") from exc
    tmp = Path(name)
    try:
        yield tmp
        try:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary file, not mkstemp's 0600
            os.replace(tmp, path)
        except OSError as exc:
            raise ResultsError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic`)."""
    with atomic(path) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            raise ResultsError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_if_changed(path: Path, data: bytes) -> bool:
    """:func:`write_bytes` unless ``path`` holds ``data`` already (its time then unchanged:
    what is made from it is still current); whether it wrote."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    write_bytes(path, data)
    return True


def ensure_writable(folder: Path) -> None:
    """Fail early, with one clear message, if ``folder`` cannot be created or written."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".write-test.", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise ResultsError(
            f"results folder {folder} is not writable: {exc.strerror or exc}"
        ) from exc


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_jsonable) + "\n")


def write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: fmt(row.get(k)) for k in columns})
    write_text(path, buf.getvalue())


def read_json(path: Path) -> dict[str, Any]:
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc
    check_version(data if isinstance(data, dict) else {}, path)
    found: dict[str, Any] = data  # a dict: it has a schema version
    return found


def read_record(path: Path) -> RunRecord:
    """The record of the ``run.json`` at ``path``: the one way a run's record is read.

    Raises:
        ResultsError: naming the file: unreadable, of another schema version, or not a run's
            record.
    """
    return RunRecord.from_json(read_json(path), path)


def write_record(path: Path, rec: RunRecord) -> None:
    """Write a run's ``run.json`` (atomically, see :func:`atomic`): the one way it is
    written."""
    write_json(path, rec.to_json())


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_npz(
    path: Path,
    keys: Collection[str] | None = None,
    limit: int = MAX_NPZ_ARRAY_BYTES,
    total: int = MAX_NPZ_BYTES,
    load: bool = True,
) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` (only those named ``keys``, where given), as ``np.load``
    reads them, from a file that may be hostile: each member's ``.npy`` header is read first,
    and an array of Python objects, of more than ``limit`` bytes (its shape times its item
    size), or past ``total`` bytes with those read before it, is refused before anything of
    it is inflated. ``load`` False: the headers checked, nothing loaded (returns {}).

    Raises:
        ResultsError: naming the file and the member: refused, or not an ``.npz``.
    """
    path, member, held = Path(path), "-", 0
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                member, key = info.filename, info.filename.removesuffix(".npy")
                if not member.endswith(".npy") or (keys is not None and key not in keys):
                    continue
                with z.open(info) as f:
                    shape, dtype = _npy_header(f)
                size = math.prod(shape) * dtype.itemsize
                if dtype.hasobject:
                    raise ResultsError(f"{path}: {member} holds Python objects (dtype object)")
                if size > limit or held + size > total:
                    raise ResultsError(
                        f"{path}: {member} too large to read: {size:,} bytes ({dtype} "
                        f"{shape}; at most {limit:,} an array, {total:,} in all)"
                    )
                held += size
                if not load:
                    continue
                with z.open(info) as f:
                    out[key] = np.lib.format.read_array(f, allow_pickle=False)
    except _UNREADABLE as exc:
        raise ResultsError(f"cannot read {path}: {member}: {exc}") from exc
    return out


def _npy_header(f: Any) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an ``.npy`` stream declares (its header alone is read)."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise ValueError(f".npy format version {version} is not read")
    if any(d < 0 for d in shape):
        raise ValueError(f"shape {shape}")
    return tuple(shape), dtype


def fmt(value: Any) -> str:
    """One text form for every number written: shortest round-trip repr, '' for missing."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
