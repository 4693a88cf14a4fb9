"""The model builders a spec names: ``"conv:build"`` -> ``models.conv.build``, and the
keyword arguments a run's penalties become."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, cast

from coursework.records.config import TrainConfig
from coursework.records.errors import SpecError


def resolve_builder(ref: str) -> Callable[..., Any]:
    """``"conv:build"`` -> the function ``models.conv.build``."""
    module, _, func = ref.partition(":")
    if not module or not func:
        raise SpecError(f"builder {ref!r} must look like 'module:function' (a module in models/)")
    try:
        mod = importlib.import_module(f"models.{module}")
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
