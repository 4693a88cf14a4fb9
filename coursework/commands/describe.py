"""Architecture of every run of a question, from its spec: layer table and parameter count."""

from __future__ import annotations

import keras

from coursework.data import datasets as data
from coursework.engine.network import build_model, layer_table, trainable_params
from coursework.records.spec import Spec


def architectures(spec: Spec, profile: str, dataset: str | None = None) -> list[dict]:
    """Per run: name, dataset info, layer rows and trainable parameter count (on the spec's
    dataset, or on ``dataset``)."""
    out = []
    for run in spec.resolve(profile):
        cfg = run.config
        name = dataset or cfg.dataset
        info = data.info(name, cfg.image_size, cfg.color)
        model = build_model(run.config, info)
        out.append(
            {
                "run": run.name,
                "dataset": info,
                "layers": layer_table(model),
                "params": trainable_params(model),
            }
        )
        keras.backend.clear_session()
    return out


def describe(spec: Spec, profile: str, dataset: str | None = None) -> str:
    """Text for ``python -m coursework describe``."""
    lines = [f"{spec.question}: {spec.title} (profile {profile})"]
    for arch in architectures(spec, profile, dataset):
        info = arch["dataset"]
        lines.append(
            f"\n{arch['run']}  (input {'x'.join(map(str, info.input_shape))}, "
            f"{info.num_classes} classes)"
        )
        lines.append(f"  {'layer':18s} {'type':20s} {'output':>12s} {'params':>10s}")
        for row in arch["layers"]:
            lines.append(
                f"  {row['name']:18s} {row['type']:20s} {row['output']:>12s} {row['params']:>10,}"
            )
        lines.append(f"  trainable parameters: {arch['params']:,}")
    return "\n".join(lines)
