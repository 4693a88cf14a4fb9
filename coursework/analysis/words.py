"""A run's settings in words: what sets it apart, what every run of a question shares, what
a profile changes against the question's full setting, and how a tuned run chose its
parameters. The methods paragraph and the settings tables print these phrases."""

from __future__ import annotations

import ast

from coursework.analysis.contract import Record
from coursework.analysis.display import plain
from coursework.records import spec
from coursework.records.project import ROOT
from coursework.records.record import TrainConfig

POOLS_AND_DROPOUT = ("MaxPooling2D", "AveragePooling2D", "L2Pooling2D", "Dropout")

COMMON = (
    ("optimizer", "{}"),
    ("learning_rate", "η = {}"),
    ("batch_size", "mini-batch {}"),
    ("epochs", "{} epochs"),
)
SETTING_WORDS = {
    "dataset": "dataset {}",
    "epochs": "{} epochs",
    "batch_size": "mini-batch {}",
    "learning_rate": "η = {}",
    "optimizer": "{}",
    "l2_lambda": "L2 λ = {}",
    "l1_lambda": "L1 λ = {}",
    "early_stopping": "early-stopping patience {}",
    "augment": "augmentation {}",
    "momentum": "momentum {}",
    "model.activation": "{} units",
    "model.dropout": "dropout {}",
    "seeds": "{} seeds",
}


def run_other(cfg: TrainConfig) -> str:
    """What else sets a run apart: activation, penalties, early stopping, augmentation."""
    bits = [cfg.model["activation"]] if cfg.model.get("activation") else []
    for value, label in (
        (cfg.l2_lambda, "L2 λ = {}"),
        (cfg.l1_lambda, "L1 λ = {}"),
        (cfg.early_stopping, "early stopping, patience {}"),
    ):
        if value:
            bits.append(label.format(plain(value)))
    if cfg.augment not in (None, "none"):
        bits.append(f"augment {cfg.augment}")
    if cfg.model.get("dropout"):
        bits.append(f"dropout {plain(cfg.model['dropout'])}")
    if cfg.optimizer == "momentum":
        bits.append(f"momentum {plain(cfg.momentum)}")
    return ", ".join(bits) or "-"


def layers_text(architecture: list[Record]) -> str:
    """The layers that have weights, pooling or dropout: ``Conv2D 24x24x20 (520), ...``."""
    return ", ".join(
        f"{la['type']} {la['output']} ({la['params']:,})"
        for la in architecture
        if la["params"] or la["type"] in POOLS_AND_DROPOUT
    )


def class_list(ds: Record) -> str:
    """The class names when they say more than the labels (``bee, no-bee``), else ''."""
    names: list[str] = ds.get("class_names") or []
    if not names or names == [str(i) for i in range(len(names))]:
        return ""
    return ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")


def common_settings(configs: list[TrainConfig]) -> tuple[str, list[list[str]]]:
    """What every run shares (a phrase for the methods) and, per run, what it sets apart."""
    shared = [(k, f) for k, f in COMMON if len({str(getattr(c, k)) for c in configs}) == 1]
    phrase = ", ".join(f.format(plain(getattr(configs[0], k))) for k, f in shared)
    own = [
        [f.format(plain(getattr(c, k))) for k, f in COMMON if (k, f) not in shared] for c in configs
    ]
    return phrase, own


def flat(cfg: TrainConfig) -> dict[str, object]:
    """A config with its model's keys as ``model.<key>``."""
    out = {k: v for k, v in cfg.to_dict().items() if k != "model"}
    out.update({f"model.{k}": v for k, v in cfg.model.items()})
    return out


def builder_defaults(builder: str) -> dict[str, object]:
    """The defaults of a builder's keyword arguments (``conv:build`` -> ``{"activation":
    "sigmoid", ...}``), read from its source, not imported (no Keras here)."""
    module, _, func = builder.partition(":")
    path = ROOT / "models" / f"{module}.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == func:
            args = node.args.args[len(node.args.args) - len(node.args.defaults) :]
            out = {}
            for a, d in zip(args, node.args.defaults, strict=True):
                try:
                    out[a.arg] = ast.literal_eval(d)
                except ValueError:
                    continue
            return out
    return {}


def value_text(key: str, value: object) -> str:
    """A setting's value in words (a list of seeds by its length)."""
    if isinstance(value, list):
        return str(len(value)) if key == "seeds" else "[" + ", ".join(map(str, value)) + "]"
    return "the default" if value is None else plain(value)


def setting(key: str, value: object) -> str:
    """A setting in words: ``η = 0.01``, ``relu units``, ``4 epochs``."""
    return SETTING_WORDS.get(key, key.removeprefix("model.") + " {}").format(value_text(key, value))


def run_changes(rec: Record, full: dict[str, object]) -> list[str]:
    """What a run's record sets differently from its full-profile config, in words (the
    parameters its tuning chose left out: the tuning sentence says them)."""
    cfg = TrainConfig.from_dict(rec["config"])
    mine = flat(cfg)
    defaults = {f"model.{k}": v for k, v in builder_defaults(cfg.builder or "").items()}
    chosen = set((rec.get("tuned") or {}).get("params") or {})
    out = []
    for key in sorted((set(mine) | set(full)) - chosen):
        a = mine.get(key, defaults.get(key))
        b = full.get(key, defaults.get(key))
        if a != b and key != "builder":
            out.append(f"{setting(key, a)} instead of {value_text(key, b)}")
    return out


def deviations(s: spec.Spec, profile: str, recs: dict[str, Record]) -> str:
    """One sentence on what ``profile`` changes against the question's full setting (the
    one its research question and hypothesis speak of); '' for the full profile."""
    if profile == "full" or "full" not in s.profiles:
        return ""
    full = {r.name: flat(r.config) for r in s.resolve("full")}
    changes: dict[str, list[str]] = {}  # change -> runs
    for name, rec in recs.items():
        if name in full:
            for text in run_changes(rec, full[name]):
                changes.setdefault(text, []).append(name)
    if not changes:
        return ""
    everyone = [c for c, runs in changes.items() if len(runs) == len(recs)]
    some = [f"{c} for {', '.join(runs)}" for c, runs in changes.items() if c not in everyone]
    return (
        f"The {profile} profile departs from the question's full setting: "
        + "; ".join(everyone + some)
        + "."
    )


def tuning_text(recs: dict[str, Record]) -> str:
    """The sentence on the tuned runs: how many trials, what was chosen, and that the choice
    used the validation split only ('' without tuned runs)."""
    parts = []
    for name, rec in recs.items():
        t = rec.get("tuned") or {}
        if not t.get("params"):
            continue
        chosen = ", ".join(setting(k, v) for k, v in t["params"].items())
        parts.append(
            f"{name} ({chosen}: the best of {t['trials']} {t['sampler']} trials of "
            f"{t['epochs']} epochs" + (f", {t['pruned']} pruned" if t.get("pruned") else "") + ")"
        )
    if not parts:
        return ""
    return (
        "Tuned on the validation split (an Optuna study per run; no trial saw the test "
        "data): " + "; ".join(parts) + "."
    )
