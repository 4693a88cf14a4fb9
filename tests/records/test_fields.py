"""The field tables: one list drives validation and the docs' table of keys."""

from __future__ import annotations

import re
from pathlib import Path

from coursework.records import fields, spec
from coursework.records.config import REQUIRED_CONFIG
from coursework.records.record import CONFIG_FIELDS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "experiments.md"
BLOCK = re.compile(r"<!-- config-keys[^>]*-->\n(.*?)<!-- /config-keys -->", re.S)


def test_docs_table_of_keys_is_generated_from_the_field_table():
    (block,) = BLOCK.findall(DOCS.read_text(encoding="utf-8"))
    assert block == fields.config_table(), (
        "docs/experiments.md's table of keys is out of date: paste "
        "coursework.records.fields.config_table() between its config-keys markers"
    )


def test_one_field_per_config_key_of_the_typed_config():
    assert tuple(fields.CONFIG) == CONFIG_FIELDS
    assert list(spec.BASE_CONFIG) == [
        "loss",
        "momentum",
        "early_stopping",
        "l2_lambda",
        "l1_lambda",
        "augment",
        "model",
    ]
    assert spec.BASE_CONFIG["model"] == {} and spec.BASE_CONFIG["momentum"] == 0.0
    assert REQUIRED_CONFIG == (
        "dataset",
        "builder",
        "optimizer",
        "learning_rate",
        "batch_size",
        "epochs",
        "seeds",
    )


def test_the_named_datasets_of_records_are_the_data_layers():
    from coursework.data import named
    from coursework.records.datanames import NAMED_DATASETS, quick_form

    assert tuple(named.NAMED) == NAMED_DATASETS
    assert quick_form("mnist") == "mnist-5k" and quick_form("cifar10") == "cifar10-5k"
    assert quick_form("npz:x.npz") == "npz:x.npz" and quick_form("cifar10-5k") == "cifar10-5k"
