"""The names of the datasets known by name, and their quick forms: what a spec and a results
set need to know of the data layer (:mod:`coursework.data`), without loading it."""

from __future__ import annotations

SUBSET_SUFFIX = "-5k"  # fashion-mnist-5k: a named dataset cut to mnist-5k's size
# the datasets known by name besides MNIST (coursework.data.named.NAMED: a test keeps them one)
NAMED_DATASETS = ("fashion-mnist", "cifar10", "cifar100")


def quick_form(name: str) -> str:
    """The dataset the quick profile trains on when ``--dataset name`` is asked for: a named
    dataset's fixed subset of mnist-5k's size (``fashion-mnist`` -> ``fashion-mnist-5k``,
    ``mnist`` -> ``mnist-5k``), so that quick means minutes on any of them; other data (your
    own ``npz:``, ``folder:``, ``pickles:``, or a subset already) as it is."""
    if name == "mnist":
        return "mnist-5k"
    return name + SUBSET_SUFFIX if name in NAMED_DATASETS else name
