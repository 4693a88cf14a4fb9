"""What a run is: the key of a run and seed, and how a recorded run differs from what its
experiment file asks for now.

A run's *key* is a digest of what decides what it learns: its resolved settings (every
config key but the list of seeds), its seed, its dataset and the content digest of that
data, and the source of its model builder (the builder's module in ``models/`` and every
``models/`` module it takes names from). ``run.json`` records it (``key``). A complete run
whose recorded key equals the one its experiment file gives now is *complete*; one whose key
differs is *stale*, and ``run`` trains it again (:mod:`coursework.engine.trainer`). The shared
engine (``coursework/``) and the Keras backend are not in the key: a change there is a note
(``make verify`` re-trains and compares), not a re-train.

A tuned run's study has a key too (:func:`study_key`): the run's settings before tuning, its
``[tune]`` table, the data and the builder; a different one makes the study stale.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from coursework.records.builders import models_module
from coursework.records.config import TrainConfig
from coursework.records.project import ROOT
from coursework.records.record import RunRecord
from coursework.records.spec import Run

# config keys that do not change what one seed learns: the list of seeds (adding a seed
# leaves the others as they are)
NOT_IN_KEY = ("seeds",)


@dataclass(frozen=True)
class RunKey:
    """The parts of a run's key, as ``run.json`` records them (``key``)."""

    digest: str
    config_sha256: str
    builder_sha256: str
    builder_files: dict[str, str]  # file (relative to the project) -> sha256
    data_sha256: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def config_text(cfg: TrainConfig) -> str:
    """The settings of the key, as canonical JSON (of the dict the spec resolved to)."""
    return json.dumps(
        {k: v for k, v in cfg.to_dict().items() if k not in NOT_IN_KEY},
        sort_keys=True,
        default=str,
    )


@cache
def builder_files(ref: str) -> dict[str, str]:
    """``conv:build`` -> the sha256 of ``models/conv.py`` and of every ``models/`` module it
    takes names from (``from models.common import mlp``), transitively."""
    module = ref.partition(":")[0]
    todo, seen = [f"models.{module}"], {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        mod = sys.modules.get(name) or models_module(name.removeprefix("models."))
        path = Path(inspect.getfile(mod))
        try:
            rel = path.resolve().relative_to(ROOT).as_posix()
        except ValueError:
            rel = path.name
        seen[name] = (rel, hashlib.sha256(path.read_bytes()).hexdigest())
        for value in vars(mod).values():
            other = (
                value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
            )
            if isinstance(other, str) and other.startswith("models.") and other not in seen:
                todo.append(other)
    return dict(sorted(seen.values()))


def run_key(run: Run, seed: int, data_sha256: str) -> RunKey:
    """The key of ``run`` trained with ``seed`` on data whose content digest is
    ``data_sha256`` (:meth:`coursework.data.datasets.Dataset.fingerprint`)."""
    cfg = config_text(run.config)
    files = builder_files(str(run.config.builder))
    builder = _sha(json.dumps(files, sort_keys=True))
    digest = _sha(
        json.dumps(
            {"config": cfg, "seed": seed, "data": data_sha256, "builder": builder}, sort_keys=True
        )
    )
    return RunKey(digest, _sha(cfg), builder, files, data_sha256)


def study_key(run: Run, data_sha256: str) -> str:
    """The key of a tuned run's study: the run's settings before tuning, its tune table, the
    data and the builder. ``run`` is the run as the spec gives it (not yet tuned)."""
    assert run.tune is not None
    files = builder_files(str(run.config.builder))
    return _sha(
        json.dumps(
            {
                "config": config_text(run.config),
                "tune": asdict(run.tune),
                "data": data_sha256,
                "builder": files,
            },
            sort_keys=True,
            default=str,
        )
    )


def _flat(cfg: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        elif k not in NOT_IN_KEY or prefix:
            out[f"{prefix}{k}"] = v
    return out


def _shown(value: Any) -> str:
    return (
        "(unset)" if value is None else json.dumps(value) if isinstance(value, str) else str(value)
    )


def differences(record: RunRecord, key: RunKey, run: Run, seed: int) -> list[str]:
    """What differs between a recorded run (its ``run.json``) and the run the experiment file
    gives now, in a person's words: ``learning_rate 0.02 -> 0.05``, ``models/conv.py
    changed``. Empty where the recorded key is the current one."""
    recorded = record.key or {}
    if recorded.get("digest") == key.digest:
        return []
    out = []
    old, new = _flat(record.config.to_dict()), _flat(run.config.to_dict())
    for k in sorted(set(old) | set(new)):
        if json.dumps(old.get(k), sort_keys=True) != json.dumps(new.get(k), sort_keys=True):
            out.append(f"{k} {_shown(old.get(k))} -> {_shown(new.get(k))}")
    if record.seed != seed:
        out.append(f"seed {record.seed} -> {seed}")
    data = recorded.get("data_sha256") or record.dataset.get("fingerprint")
    if data != key.data_sha256:
        out.append("the dataset's content changed")
    if not recorded:
        return out  # recorded before keys: its settings are what can be compared
    files = recorded.get("builder_files", {})
    for name in sorted(set(files) | set(key.builder_files)):
        if files.get(name) != key.builder_files.get(name):
            out.append(f"{name} changed")
    return out or ["its key changed"]
