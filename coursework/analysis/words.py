"""A run's settings in words: what sets it apart, what every run of a question shares, what
a profile changes against the question's full setting, and how a tuned run chose its
parameters. The methods paragraph and the settings tables print these phrases, each
quantity in one notation over the question (:func:`notation`)."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable

from coursework.analysis.contract import Record
from coursework.analysis.display import dataset_label, plain, scientific
from coursework.records import spec
from coursework.records.project import ROOT
from coursework.records.record import RunRecord, TrainConfig

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


# key -> the quantity it is a value of, written in one notation (both penalties are λ)
QUANTITIES = {
    "learning_rate": "η",
    "l2_lambda": "λ",
    "l1_lambda": "λ",
    "model.dropout": "dropout",
    "momentum": "momentum",
}
Notation = dict[str, bool]  # quantity -> whether it is written in scientific notation


def notation(settings: Iterable[dict[str, object]]) -> Notation:
    """One notation per quantity over every setting a question prints (its runs' configs,
    their full-profile ones, the tuned values; flat keys as :func:`flat` gives them), so that
    ``λ = 0.017`` never stands beside ``λ = 1.7e-3``."""
    values: dict[str, list[object]] = {}
    for one in settings:
        for key, value in one.items():
            if key in QUANTITIES:
                values.setdefault(QUANTITIES[key], []).append(value)
    return {quantity: scientific(v) for quantity, v in values.items()}


def number(key: str, value: object, notes: Notation | None = None) -> str:
    """A setting's value in its quantity's notation (without ``notes``: its own)."""
    return plain(value, sci=(notes or {}).get(QUANTITIES.get(key, key)))


def run_bits(cfg: TrainConfig, notes: Notation | None = None) -> list[str]:
    """What else sets a run apart, a phrase each: activation, penalties, early stopping,
    augmentation, dropout, momentum."""
    bits = [cfg.model["activation"]] if cfg.model.get("activation") else []
    for key, value, label in (
        ("l2_lambda", cfg.l2_lambda, "L2 λ = {}"),
        ("l1_lambda", cfg.l1_lambda, "L1 λ = {}"),
        ("early_stopping", cfg.early_stopping, "early stopping, patience {}"),
    ):
        if value:
            bits.append(label.format(number(key, value, notes)))
    if cfg.augment not in (None, "none"):
        bits.append(f"augment {cfg.augment}")
    if cfg.model.get("dropout"):
        bits.append(f"dropout {number('model.dropout', cfg.model['dropout'], notes)}")
    if cfg.optimizer == "momentum":
        bits.append(f"momentum {number('momentum', cfg.momentum, notes)}")
    return bits


def run_other(cfg: TrainConfig, notes: Notation | None = None) -> str:
    """:func:`run_bits` as one phrase (``-``: nothing)."""
    return ", ".join(run_bits(cfg, notes)) or "-"


NUM = r"-?\d+(?:\.\d+)?(?:e-?\d+)?"
# a setting named in a run's own description, its value in group 1
MENTIONS = {
    "optimizer": r"\b({})\b",
    "learning_rate": rf"(?:η|\beta\b|learning rate|\blr\b)\s*(?:=|of)?\s*({NUM})",
    "batch_size": rf"batch(?:es)?(?: size)?\s*(?:=|of)?\s*({NUM})",
    "epochs": rf"({NUM})\s*epochs?\b",
}
SYMBOLS = re.compile(rf"(η|λ|\beta\b|\blambda\b)(?:\s*=\s*|\s+)({NUM})\b", re.I)


def in_notation(text: str, notes: Notation | None = None) -> str:
    """A run's description with its η and λ as the paper writes them (``eta 0.001`` ->
    ``η = 0.001``), each value in its quantity's notation."""

    def one(m: re.Match[str]) -> str:
        symbol = "η" if m.group(1).lower() in ("η", "eta") else "λ"
        value, sci = m.group(2), (notes or {}).get(symbol)
        if sci is not None and sci != ("e" in value.lower()):
            value = plain(float(value), sci=sci)
        return f"{symbol} = {value}"

    return SYMBOLS.sub(one, text)


def said(text: str, key: str, value: object) -> bool:
    """Whether a run's description already says this setting's value (in any notation)."""
    if key == "optimizer":
        return re.search(MENTIONS[key].format(re.escape(str(value))), text, re.I) is not None
    found = re.findall(MENTIONS[key], text, re.I) if key in MENTIONS else []
    return isinstance(value, int | float) and any(math.isclose(float(x), value) for x in found)


def setup(
    description: str, cfg: TrainConfig, own: dict[str, str], notes: Notation | None = None
) -> str:
    """What sets a run apart, each thing once: its description (else :func:`run_other`) and
    the shared settings it has its own value of that the description does not say."""
    words = in_notation(description, notes) if description else ", ".join(run_bits(cfg, notes))
    rest = [t for key, t in own.items() if not said(description, key, getattr(cfg, key))]
    return "; ".join(x for x in [words, *rest] if x) or "-"  # "-": nothing sets it apart


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


def common_settings(
    configs: list[TrainConfig], notes: Notation | None = None
) -> tuple[str, list[dict[str, str]]]:
    """What every run shares (a phrase for the methods) and, per run, the shared settings it
    has its own value of (key -> phrase)."""
    shared = [(k, f) for k, f in COMMON if len({str(getattr(c, k)) for c in configs}) == 1]
    phrase = ", ".join(f.format(number(k, getattr(configs[0], k), notes)) for k, f in shared)
    own = [
        {k: f.format(number(k, getattr(c, k), notes)) for k, f in COMMON if (k, f) not in shared}
        for c in configs
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


def value_text(key: str, value: object, notes: Notation | None = None) -> str:
    """A setting's value in words (a list of seeds by its length, a dataset of files by its
    file's name) in its quantity's notation."""
    if isinstance(value, list):
        return str(len(value)) if key == "seeds" else "[" + ", ".join(map(str, value)) + "]"
    if key == "dataset" and isinstance(value, str):
        return dataset_label(value)
    return "the default" if value is None else number(key, value, notes)


def setting(key: str, value: object, notes: Notation | None = None) -> str:
    """A setting in words: ``η = 0.01``, ``relu units``, ``4 epochs``."""
    words = SETTING_WORDS.get(key, key.removeprefix("model.") + " {}")
    return words.format(value_text(key, value, notes))


def run_changes(
    rec: RunRecord, full: dict[str, object], notes: Notation | None = None
) -> list[str]:
    """What a run's record sets differently from its full-profile config, in words (the
    parameters its tuning chose left out: the tuning sentence says them)."""
    cfg = rec.config
    mine = flat(cfg)
    defaults = {f"model.{k}": v for k, v in builder_defaults(cfg.builder or "").items()}
    chosen = set((rec.tuned.params if rec.tuned else None) or {})
    out = []
    for key in sorted((set(mine) | set(full)) - chosen):
        a = mine.get(key, defaults.get(key))
        b = full.get(key, defaults.get(key))
        if a != b and key != "builder":
            out.append(f"{setting(key, a, notes)} instead of {value_text(key, b, notes)}")
    return out


def deviations(
    s: spec.Spec, profile: str, recs: dict[str, RunRecord], notes: Notation | None = None
) -> str:
    """One sentence on what ``profile`` changes against the question's full setting (the
    one its research question and hypothesis speak of); '' for the full profile."""
    if profile == "full" or "full" not in s.profiles:
        return ""
    full = {r.name: flat(r.config) for r in s.resolve("full")}
    changes: dict[str, list[str]] = {}  # change -> runs
    for name, rec in recs.items():
        if name in full:
            for text in run_changes(rec, full[name], notes):
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


def tuning_text(recs: dict[str, RunRecord], notes: Notation | None = None) -> str:
    """The sentence on the tuned runs: how many trials, what was chosen, and that the choice
    used the validation split only ('' without tuned runs)."""
    parts = []
    for name, rec in recs.items():
        t = rec.tuned
        if t is None or not t.params:
            continue
        chosen = ", ".join(setting(k, v, notes) for k, v in t.params.items())
        parts.append(
            f"{name} ({chosen}: the best of {t.trials} {t.sampler} trials of "
            f"{t.epochs} epochs" + (f", {t.pruned} pruned" if t.pruned else "") + ")"
        )
    if not parts:
        return ""
    return (
        "Tuned on the validation split (an Optuna study per run; no trial saw the test "
        "data): " + "; ".join(parts) + "."
    )
