"""The typed config: its dict is the one it was made from (the run's key hashes it), and the
settings every resolved run has are typed, never None."""

from __future__ import annotations

import pydantic
import pytest

from coursework.records.config import REQUIRED_CONFIG, TrainConfig

# the keys a resolved run always has, as a spec gives them (TOML's 1 is an int)
RESOLVED = {
    "dataset": "mnist-5k",
    "builder": "mlp:build",
    "optimizer": "sgd",
    "learning_rate": 1,
    "batch_size": 10,
    "epochs": 2,
    "seeds": [0, 1],
}


def test_config_to_dict_is_the_dict_it_was_made_from_in_order():
    given = {"loss": "mse", "model": {"hidden": [8]}, **RESOLVED, "l2_lambda": 5.0}
    cfg = TrainConfig.from_dict(given)
    assert list(cfg.to_dict()) == list(given) and cfg.to_dict() == given
    assert repr(cfg.to_dict()) == repr(given)  # 1 stays 1, 5.0 stays 5.0: the key is the same
    assert cfg.dataset == "mnist-5k" and cfg.image_size is None
    assert cfg.loss == "mse" and "color" not in cfg.order and "loss" in cfg.order
    assert cfg.augment == "none" and "augment" not in cfg.to_dict()  # a default, not given
    with pytest.raises(TypeError):  # read by attribute, never by key
        cfg["loss"]  # type: ignore[index]
    with pytest.raises(KeyError, match="not a config key"):
        TrainConfig.from_dict({"colour": "rgb"})


def test_config_is_a_copy_and_with_appends_new_keys():
    given = {**RESOLVED, "model": {"hidden": [8]}}
    cfg = TrainConfig.from_dict(given)
    given["model"]["hidden"].append(9)
    assert cfg.model == {"hidden": [8]}
    changed = cfg.with_(epochs=3, color="rgb")
    assert list(changed.order) == [*RESOLVED, "model", "color"] and changed.epochs == 3
    assert cfg.epochs == 2 and cfg != changed and cfg == TrainConfig.from_dict(cfg.to_dict())
    with pytest.raises(pydantic.ValidationError):
        cfg.epochs = 4  # type: ignore[misc]  # frozen


@pytest.mark.parametrize("key", REQUIRED_CONFIG)
def test_a_config_without_a_setting_every_run_has_is_refused(key):
    with pytest.raises(ValueError, match=key):
        TrainConfig.from_dict({k: v for k, v in RESOLVED.items() if k != key})


@pytest.mark.parametrize(
    "change", [{"epochs": 0}, {"batch_size": True}, {"optimizer": "adamw"}, {"seeds": []}]
)
def test_a_config_of_a_wrong_value_is_refused(change):
    with pytest.raises(ValueError):
        TrainConfig.from_dict({**RESOLVED, **change})
