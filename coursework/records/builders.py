"""The model builders a spec names: ``"conv:build"`` -> ``models.conv.build``, and the
keyword arguments a run's penalties become.

``models/`` is the project's folder of builders, not an installed package (a package named
``models`` is common, and two would collide): :func:`models_module` imports from it, putting
the project's root first on ``sys.path`` when a builder is first needed.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from coursework.records.config import TrainConfig
from coursework.records.errors import SpecError
from coursework.records.project import ROOT


def models_module(name: str) -> ModuleType:
    """``models/<name>.py`` of this project, imported as ``models.<name>``.

    Raises:
        SpecError: another package named ``models`` was imported first.
    """
    root = str(ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)
    loaded = sys.modules.get("models")
    where = [Path(p).resolve() for p in getattr(loaded, "__path__", [])]
    if loaded is not None and (ROOT / "models").resolve() not in where:
        raise SpecError(
            f"another package named 'models' is imported ({', '.join(map(str, where))}): "
            f"the builders are in {ROOT / 'models'}"
        )
    return importlib.import_module(f"models.{name}")


def resolve_builder(ref: str) -> Callable[..., Any]:
    """``"conv:build"`` -> the function ``models.conv.build``."""
    module, _, func = ref.partition(":")
    if not module or not func:
        raise SpecError(f"builder {ref!r} must look like 'module:function' (a module in models/)")
    try:
        mod = models_module(module)
    except ModuleNotFoundError as exc:
        raise SpecError(f"builder {ref!r}: no module models/{module}.py ({exc})") from exc
    fn = getattr(mod, func, None)
    if not callable(fn):
        raise SpecError(f"builder {ref!r}: models/{module}.py has no function {func!r}")
    return cast(Callable[..., Any], fn)


def penalties(cfg: TrainConfig) -> dict[str, float]:
    """Nielsen's lambdas that become the builder's ``l1`` / ``l2`` keyword arguments."""
    lambdas = {"l1": cfg.l1_lambda, "l2": cfg.l2_lambda}
    return {k: float(lam) for k, lam in lambdas.items() if lam}
