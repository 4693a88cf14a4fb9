"""A folder of image files as a dataset (``folder:PATH``): one subfolder per class.

Two layouts::

    PATH/train/<class>/*.png, PATH/val/<class>/..., PATH/test/<class>/...   (your own split)
    PATH/<class>/*.png                                                      (split for you)

Class names are the subfolder names, in sorted order (label 0 is the first). Without
``train/ val/ test/`` each class is split 80 / 10 / 10 % (at least one image each), stratified,
with a fixed seed: the same files always give the same split. Images are decoded with Pillow,
converted to grayscale or RGB and resized (bilinear) to one size: ``image_size`` and ``color``
in the spec, by default those of the first image. The decoded ``uint8`` arrays are cached in
``$COURSEWORK_CACHE`` (default ``~/.cache/coursework``) under a hash of every file's name and
bytes and of the size and color, so a changed file is decoded again and nothing else is.
16-bit grayscale (PNG, TIFF, PGM) is scaled to 0..255, not clipped; an image of more pixels
than Pillow's ``Image.MAX_IMAGE_PIXELS`` (its guard against decompression bombs) is refused,
naming the file.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
from pathlib import Path
from typing import Any, cast

import numpy as np

from coursework.records import storage
from coursework.records.errors import DataError, ResultsError

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
SPLITS = ("train", "val", "test")
FRACTIONS = (0.8, 0.1, 0.1)
SPLIT_SEED = 20251123  # fixed: the same files must always give the same split
DECODE_VERSION = 2  # part of the cache key: raised whenever decode's arrays change (2: 16-bit)


def cache_dir() -> Path:
    return Path(os.environ.get("COURSEWORK_CACHE", Path.home() / ".cache" / "coursework"))


def class_files(folder: Path) -> dict[str, list[Path]]:
    """Class name -> its image files (sorted), for the class subfolders of ``folder``."""
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    out = {c.name: sorted(f for f in c.rglob("*") if f.suffix.lower() in SUFFIXES) for c in classes}
    empty = [c for c, files in out.items() if not files]
    if len(out) < 2:
        raise DataError(
            f"{folder}: needs one subfolder per class (at least 2) holding image "
            f"files ({', '.join(sorted(SUFFIXES))}); found {len(out)}"
        )
    if empty:
        raise DataError(f"{folder}: class folder(s) {', '.join(empty)} hold no image files")
    return out


def layout(root: Path) -> dict[str, dict[str, list[Path]]]:
    """Split -> class -> files: the folder's own split, or one set (under ``"all"``)."""
    if not root.is_dir():
        raise DataError(f"{root}: no such folder of images")
    present = [s for s in SPLITS if (root / s).is_dir()]
    if present and len(present) < 3:
        missing = sorted(set(SPLITS) - set(present))
        raise DataError(
            f"{root}: has {', '.join(present)}/ but not {', '.join(missing)}/: give "
            "all three splits, or none (then the images are split 80/10/10)"
        )
    if present:
        return {s: class_files(root / s) for s in SPLITS}
    return {"all": class_files(root)}


def _sixteen_bit(mode: str) -> bool:
    """Pillow's modes of 16-bit grayscale: ``I;16`` (PNG, TIFF), ``I;16B`` ..., and ``I``
    (32-bit integers, as a 16-bit PGM opens, scaled by Pillow to 0..65535)."""
    return mode == "I" or mode.startswith("I;16")


def _eight_bit(im: Any, path: Path) -> Any:
    """A 16-bit grayscale image scaled to 8 bits (v / 257: 65535 -> 255, as 8-bit values
    stored in 16 bits come back exactly); Pillow's own conversion clips at 255 instead."""
    from PIL import Image

    a = np.asarray(im).astype(np.float64)
    lo, hi = float(a.min()), float(a.max())
    if lo < 0 or hi > 65535:
        raise DataError(
            f"{path}: {im.mode} pixels from {lo:g} to {hi:g}, but integer pixels "
            "wider than 8 bits must be 16-bit, 0..65535: save it as an 8- or "
            "16-bit image"
        )
    return Image.fromarray(np.rint(a / 257).astype(np.uint8))


def _too_large(path: Path, exc: Exception, limit: int | None) -> str:
    found = re.search(r"\((\d+) pixels\)", str(exc))
    pixels = f"{int(found.group(1))} pixels" if found else str(exc)
    return (
        f"{path}: an image of {pixels}, more than Pillow's limit of {limit} pixels for one "
        "image (PIL.Image.MAX_IMAGE_PIXELS, its guard against decompression bombs): make "
        "it smaller (it is resized to image_size anyway)"
    )


def decode(
    path: Path, size: tuple[int, int] | None, color: str | None
) -> tuple[np.ndarray, tuple[int, int], str]:
    """One image as uint8 (H, W, C), and the size and color used (the image's own if None).
    16-bit grayscale is scaled to 8 bits; an image above Pillow's ``MAX_IMAGE_PIXELS`` (where
    Pillow only warns, and at twice it, where it raises) is one :class:`DataError`."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                im: Image.Image = opened
                if color is None:
                    gray = im.mode in ("1", "L", "LA", "F") or _sixteen_bit(im.mode)
                    color = "grayscale" if gray else "rgb"
                if _sixteen_bit(im.mode):
                    im = _eight_bit(im, path)
                im = im.convert("L" if color == "grayscale" else "RGB")
                if size is None:
                    size = (im.height, im.width)
                if (im.height, im.width) != tuple(size):
                    im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                a = np.asarray(im, dtype=np.uint8)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DataError(_too_large(path, exc, Image.MAX_IMAGE_PIXELS)) from exc
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc
    return (a[..., None] if a.ndim == 2 else a), size, color


def fingerprint(
    files: list[Path],
    root: Path,
    size: tuple[int, int] | None,
    color: str | None,
) -> str:
    h = hashlib.sha256(f"decode-{DECODE_VERSION}:{size}:{color};".encode())
    for f in files:
        h.update(f.relative_to(root).as_posix().encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


def split(files: dict[str, list[Path]]) -> dict[str, dict[str, list[Path]]]:
    """Each class 80/10/10 (at least one image in each split), stratified, fixed seed."""
    rng = np.random.default_rng(SPLIT_SEED)
    out: dict[str, dict[str, list[Path]]] = {s: {} for s in SPLITS}
    for c, paths in files.items():
        if len(paths) < 3:
            raise DataError(
                f"{paths[0].parent}: class {c!r} has {len(paths)} image(s); a "
                "train / validation / test split needs at least 3"
            )
        order = [paths[i] for i in rng.permutation(len(paths))]
        n_val = max(1, round(FRACTIONS[1] * len(paths)))
        n_test = max(1, round(FRACTIONS[2] * len(paths)))
        n_train = len(paths) - n_val - n_test
        out["train"][c], out["val"][c] = order[:n_train], order[n_train : n_train + n_val]
        out["test"][c] = order[n_train + n_val :]
    return out


def load_folder(
    root: Path, image_size: list[int] | None = None, color: str | None = None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The six arrays (``x_train`` ... ``y_test``) of a folder of images, and the class names.
    Decoded once, then read from the cache."""
    root = Path(root).expanduser()
    parts = layout(root)
    if "all" in parts:
        parts = split(parts["all"])
    names = sorted(parts["train"])
    for s in ("val", "test"):
        extra = sorted(set(parts[s]) - set(names))
        if extra:
            raise DataError(
                f"{root / s}: class folder(s) {', '.join(extra)} are not in "
                f"{root / 'train'} (classes there: {', '.join(names)})"
            )
    everything = sorted(f for p in parts.values() for fs in p.values() for f in fs)
    size = cast("tuple[int, int] | None", tuple(image_size) if image_size else None)
    if size is None or color is None:  # the first image decides
        _, size, color = decode(everything[0], size, color)
    key = fingerprint(everything, root, size, color)
    cached = cache_dir() / f"folder-{key[:32]}.npz"
    if cached.exists():
        with np.load(cached, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}, names
    arrays: dict[str, Any] = {}
    for s in SPLITS:
        pairs = [(f, names.index(c)) for c, fs in sorted(parts[s].items()) for f in fs]
        arrays[f"x_{s}"] = np.stack([decode(f, size, color)[0] for f, _ in pairs])
        arrays[f"y_{s}"] = np.array([label for _, label in pairs], dtype=np.int64)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    try:
        storage.write_bytes(cached, buf.getvalue())
    except ResultsError:
        pass  # no cache: decode again next time
    return arrays, names
