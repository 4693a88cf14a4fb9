"""The model builders a spec names: ``"conv:build"`` -> ``models.conv.build``, and the
keyword arguments a run's penalties become."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, cast

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


def penalties(cfg: Mapping[str, Any]) -> dict[str, float]:
    """Nielsen's lambdas that become the builder's ``l1`` / ``l2`` keyword arguments."""
    return {k: float(cfg[f"{k}_lambda"]) for k in ("l1", "l2") if cfg.get(f"{k}_lambda")}
