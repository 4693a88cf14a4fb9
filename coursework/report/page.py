"""The data of the results page's runs (``results/<set>/index.html``; :mod:`.page_html`
puts it together and writes it): every run and seed with its settings in the course's words (a
builder's defaults filled in), its numbers, curves and gradient flow (:mod:`.gradflow`), each
question's confusion matrix, misclassified images and tuning trials, a spec's citations as
authors and year (:func:`cited`), and where the results came from. Read from the results files
alone, as the PDF is (no Keras, no matplotlib), and from a submission's handed-in results as
well: every string in it is untrusted text, cut to :data:`TEXT_LIMIT` characters (the page
shows it as text, never as markup)."""

from __future__ import annotations

import base64
import io
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from coursework.analysis import words
from coursework.analysis.checks import PASSING, Verdict
from coursework.analysis.question import question_notation
from coursework.records import layout, results, spec, storage
from coursework.records.errors import CourseworkError, ResultsError
from coursework.records.layout import ResultsSet
from coursework.records.project import REPORT_TEMPLATES
from coursework.records.record import RunRecord, Status, TrainConfig
from coursework.records.run_folders import in_progress
from coursework.report import gradflow, questions
from coursework.report.latex import SPEC_CITE

TEXT_LIMIT = 300  # characters of any one string from the results
MOST_IMAGES = 36  # misclassified images per question (what training keeps, engine/seed_run.py)
MOST_CLASSES = 1000  # classes of a confusion matrix drawn (ImageNet's)
PREDICTION_KEYS = ("y_true", "probs", "mis_index", "mis_images", "class_names")  # the page's
MOST_EPOCHS = 600  # points per curve; longer histories are thinned (every k-th epoch)
CURVES = ("accuracy", "val_accuracy", "loss", "val_loss")
PASS = {str(v) for v in PASSING}
BIB_ENTRY = re.compile(r"^\s*@(?!comment|preamble|string)\w+\s*[{(]\s*([^,\s]+)\s*,", re.I | re.M)


def text(value: object, limit: int = TEXT_LIMIT) -> str:
    """A value from the results as the page's text: a string, cut to ``limit`` characters."""
    s = "" if value is None else str(value)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def number(value: object, digits: int = 5) -> float | None:
    """An integer as it is, a finite number rounded to ``digits`` significant digits (None:
    no number): the curves of 100 runs of 60 epochs stay a few hundred kB."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return float(f"{v:.{digits}g}") if math.isfinite(v) else None


def verdicts(rs: ResultsSet) -> dict[tuple[str, str], str]:
    """``verification.csv`` per run and seed: its first failing verdict, else ``ok``; a row
    of a whole run (seed ``-``) counts for each of its seeds ({} where verify never ran)."""
    path = rs.aggregate(layout.VERIFICATION)
    try:
        rows = storage.read_csv(path) if path.exists() else []
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    out: dict[tuple[str, str], str] = {}
    for r in rows:
        key = (str(r.get("run", "")), str(r.get("seed", "")))
        verdict = str(r.get("verdict", ""))
        if out.get(key, Verdict.OK) in PASS:
            out[key] = Verdict.OK if verdict in PASS else text(verdict, 20)
    return out


def _verdict(found: dict[tuple[str, str], str], run: str, seed: str) -> str:
    """A seed's verdict: its own rows' and its run's (the failing one first)."""
    mine = [found[k] for k in ((run, seed), (run, "-")) if k in found]
    failing = [v for v in mine if v != Verdict.OK]
    return failing[0] if failing else (Verdict.OK if mine else "")


def curves(history: list[dict[str, str]]) -> dict[str, list[float | None]]:
    """A seed's curves: epoch, training and validation accuracy and loss, at most
    :data:`MOST_EPOCHS` points (the last epoch always among them)."""
    n = len(history)
    step = max(1, math.ceil(n / MOST_EPOCHS))
    keep = sorted(set(range(0, n, step)) | ({n - 1} if n else set()))
    rows = [history[i] for i in keep]
    out: dict[str, list[float | None]] = {"epoch": [number(r.get("epoch")) for r in rows]}
    for key in CURVES:
        out[key] = [number(r.get(key)) for r in rows]  # an empty or malformed cell: a gap
    return out


def settings(cfg: TrainConfig, seed: object, defaults: dict[str, object]) -> dict[str, str]:
    """Every setting of a run and seed in words (``η = 0.1``, ``relu units``), by key; a model
    key the run leaves out at its builder's ``defaults`` (:func:`words.builder_defaults`), as
    :func:`words.run_changes` counts it: saying a default differs in nothing from leaving it."""
    out = {"seed": text(f"seed {seed}")}
    given = words.flat(cfg)
    for key, value in defaults.items():
        given.setdefault(f"model.{key}", list(value) if isinstance(value, tuple) else value)
    for key, value in given.items():
        out[text(key, 60)] = text(words.setting(key, value))
    return out


def bib_field(entry: str, name: str) -> str:
    """A field of a BibTeX entry as plain text: its braces balanced, LaTeX's accents and
    braces dropped (``Cire{\\c{s}}an`` -> ``Ciresan``); '' where it has none."""
    m = re.search(rf"\b{name}\s*=\s*", entry, re.I)
    if m is None:
        return ""
    value, depth = entry[m.end() :], 0
    if value.startswith("{"):
        for i, c in enumerate(value):
            depth += (c == "{") - (c == "}")
            if depth == 0:
                value = value[1:i]
                break
    else:
        value = re.split(r'[",}\n]', value.lstrip('"'), maxsplit=1)[0]
    return " ".join(re.sub(r"\\[A-Za-z]+\s*|\\.|[{}]", "", value).split())


def author_year(entry: str) -> str:
    """``Nielsen 2015``, ``Glorot and Bengio 2010``, ``Simard et al. 2003`` of an entry."""
    names = [a for a in re.split(r"\s+and\s+", bib_field(entry, "author")) if a.strip()]
    last = [n.split(",")[0].strip() if "," in n else n.split()[-1] for n in names]
    who = last[0] if len(last) == 1 else " and ".join(last) if len(last) == 2 else ""
    if len(last) > 2 or "others" in last:
        who = f"{last[0]} et al."
    return f"{who} {bib_field(entry, 'year')}".strip()


def bibliography() -> dict[str, str]:
    """Key -> authors and year, of the template's ``references.bib`` and of ``report.toml``'s
    bibliography (its entries win); a file that cannot be read adds nothing."""
    from coursework.report.settings import read_settings

    files = [REPORT_TEMPLATES / "references.bib"]
    try:
        own = read_settings().bibliography
    except CourseworkError:
        own = None
    out: dict[str, str] = {}
    for path in files + ([Path(own)] if own else []):
        try:
            bib = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        starts = [(m.start(), m.group(1)) for m in BIB_ENTRY.finditer(bib)] + [(len(bib), "")]
        for (start, key), (end, _) in zip(starts, starts[1:], strict=False):
            out[key] = author_year(bib[start:end]) or key
    return out


def cited(value: object, bib: dict[str, str]) -> str:
    """A spec's text with each ``[@key]`` or ``[@key, note]`` as ``(Authors Year, note)``,
    the key itself where ``bib`` lacks it: what the paper prints where the bibliography has no
    entry for it (``\\cwcite``), so that no raw key reaches the page."""

    def one(m: re.Match[str]) -> str:
        note = f", {m.group(2).strip()}" if m.group(2) else ""
        return f" ({bib.get(m.group(1), m.group(1))}{note})"

    return SPEC_CITE.sub(one, str(value)).strip()


def _records(rs: ResultsSet, question: str) -> list[tuple[Path, RunRecord]]:
    """The question's ended runs' records (none of a run in progress), in the spec's order
    of runs, then by seed; a record that cannot be read is left out."""
    order = spec.run_order(rs, question)
    out = []
    for path in rs.record_paths(question):
        if in_progress(path.parent):
            continue
        try:
            rec = storage.read_record(path)
        except ResultsError:
            continue
        out.append((path, rec))

    def place(item: tuple[Path, RunRecord]) -> tuple[int, str, int]:
        run, seed = str(item[1].run), item[1].seed
        first = order.index(run) if run in order else len(order)
        return first, run, seed if isinstance(seed, int) else 0

    return sorted(out, key=place)


def _own_words(
    rs: ResultsSet, question: str, recs: list[RunRecord], bib: dict[str, str]
) -> dict[str, str]:
    """Run -> what sets it apart, as the paper's settings table says it (:func:`words.setup`):
    its description (citations readable), else activation, penalties, ..., and the common
    settings it does not share."""
    s = spec.trained_spec(rs, question)
    described = (
        {r.name: r.description for r in s.resolve(rs.name)}
        if s is not None and rs.profile in s.profiles
        else {}
    )
    configs = {str(r.run): r.config for r in recs}
    if not configs:
        return {}
    try:  # the paper's notation of each quantity (η = 0.01 beside η = 0.1, not 1e-2)
        notes = question_notation(s, {str(r.run): r for r in recs}) if s else None
    except (KeyError, TypeError, ValueError):  # records not training's
        notes = None
    _, own = words.common_settings(list(configs.values()), notes)
    out = {}
    for (name, cfg), differs in zip(configs.items(), own, strict=True):
        mine = cited(described.get(name) or "", bib)
        out[name] = text(words.setup(mine, cfg, differs, notes) or "-")
    return out


def runs_table(
    rs: ResultsSet, order: list[str], paper: questions.Paper, bib: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One row per run and seed of the set (every status), questions in ``order``, and each
    row's curves; ``paper``: whether its numbers are in the paper (complete, of its question)."""
    found = verdicts(rs)
    rows: list[dict[str, Any]] = []
    histories: list[dict[str, Any]] = []
    defaults: dict[str | None, dict[str, object]] = {}
    for q in order:
        records = _records(rs, q)
        own = _own_words(rs, q, [rec for _, rec in records], bib)
        for path, rec in records:
            m = rec.metrics or {}
            run, seed = str(rec.run), rec.seed
            cfg = rec.config
            if cfg.builder not in defaults:  # read once: a file parsed
                defaults[cfg.builder] = words.builder_defaults(cfg.builder or "")
            rows.append(
                {
                    "question": text(q),
                    "run": text(run),
                    "seed": seed if isinstance(seed, int) else text(seed),
                    "what": own.get(run, "-"),
                    "status": text(rec.status, 20),
                    "best_epoch": number(m.get("best_epoch")),
                    "val": number(m.get("best_val_accuracy")),
                    "test": number(m.get("test_accuracy")),
                    "seconds": number(m.get("train_seconds"), 4),
                    "params": number(rec.params, 12),
                    "verify": _verdict(found, f"{q}/{run}", str(seed)),
                    "complete": (done := rec.status == Status.COMPLETE),
                    "paper": done and q in paper,
                    "settings": settings(cfg, seed, defaults[cfg.builder]),
                }
            )
            hist = path.parent / layout.HISTORY
            try:
                histories.append(curves(storage.read_csv(hist) if hist.exists() else []))
            except (OSError, UnicodeDecodeError, ValueError):
                histories.append(curves([]))
            histories[-1].update(gradflow.page_flow(path.parent))  # {} without gradients.csv
    return rows, histories


def png(image: np.ndarray) -> str:
    """An image in [0, 1] (H, W, 1 or 3) as a ``data:`` URI of a PNG (Pillow)."""
    from PIL import Image

    img = np.clip(np.nan_to_num(image.astype(np.float32)) * 255, 0, 255).astype(np.uint8)
    img = 255 - img[..., 0] if img.shape[-1] == 1 else img  # dark on light, as the appendix
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def best_seed(runs: dict[str, list[results.SeedResult]]) -> tuple[str, results.SeedResult]:
    """The run of the best mean test accuracy and its best seed: the choice of the PDF's
    appendix (:func:`coursework.report.drawings.best_run`, a test keeps them the same; not
    imported, so that the page needs no matplotlib)."""
    best = max(runs, key=lambda r: results.test_accuracies(runs[r]).mean())
    return best, max(runs[best], key=lambda s: s.metrics["test_accuracy"])


def appendix(runs: dict[str, list[results.SeedResult]]) -> dict[str, Any]:
    """The confusion matrix and misclassified test images of the question's best run's best
    seed, as the PDF's appendix (:func:`.plots.prediction_figures`); {} without predictions."""
    best, top = best_seed(runs)
    path = top.dir / layout.PREDICTIONS
    try:
        if not path.exists():
            return {}
        pred = storage.read_npz(path, PREDICTION_KEYS)  # each array's size checked first
        y, p = pred["y_true"].astype(int), pred["probs"].argmax(-1)
        k = pred["probs"].shape[1]
        if k > MOST_CLASSES:  # its confusion matrix would be k x k
            raise ValueError(f"{layout.PREDICTIONS}: {k:,} classes (at most {MOST_CLASSES:,})")
        m = np.zeros((k, k), int)
        np.add.at(m, (y, p), 1)
        names = [text(n, 40) for n in pred.get("class_names", range(k))]
        images = [
            {"src": png(img), "true": names[y[i]], "predicted": names[p[i]]}
            for i, img in zip(pred["mis_index"][:MOST_IMAGES], pred["mis_images"], strict=False)
        ]
    except (ResultsError, OSError, ValueError, KeyError, IndexError, EOFError) as exc:
        return {"unreadable": text(f"{top.dir.name}: {exc}")}
    shown = {"run": text(best), "seed": top.seed, "classes": names, "confusion": m.tolist()}
    return shown | {"images": images}


def _space(rs: ResultsSet, question: str, run: str, best: dict[str, Any]) -> dict[str, Any]:
    """A study's searched space: as its ``best.json`` records it, else its recorded spec's."""
    if isinstance(best.get("space"), dict):
        return best["space"]
    s = spec.trained_spec(rs, question)
    found = [r.tune.params for r in s.resolve(rs.name) if r.name == run and r.tune] if s else []
    return dict(found[0]) if found else {}


def studies(rs: ResultsSet, question: str) -> list[dict[str, Any]]:
    """The question's tuning studies: per tuned run, every trial (number, status,
    validation accuracy, parameters), the chosen trial and the searched space."""
    trials: dict[str, list[dict[str, Any]]] = {}  # by the run's folder
    names: dict[str, str] = {}  # its name, as the trials' records say it
    for path in rs.trial_paths(question):
        try:
            rec = storage.read_record(path)
            if (t := rec.trial) is None:
                continue
            trial = {
                "number": int(t.number),
                "status": text(rec.status, 20),
                "val": number((rec.metrics or {}).get("best_val_accuracy")),
                "params": {text(k, 60): _param(v) for k, v in dict(t.params or {}).items()},
            }
        except (ResultsError, TypeError, ValueError):
            continue
        run = path.parent.parent.parent.name
        names.setdefault(run, text(rec.run))
        trials.setdefault(run, []).append(trial)
    out = []
    for run, found in sorted(trials.items()):
        best_file = rs.tune_dir(question, run) / layout.BEST
        try:
            best = storage.read_json(best_file) if best_file.exists() else {}
        except ResultsError:
            best = {}
        space = _space(rs, question, run, best)
        out.append(
            {
                "run": names[run],
                "chosen": best.get("trial") if isinstance(best.get("trial"), int) else None,
                "log": sorted(
                    text(k, 60) for k, v in space.items() if isinstance(v, dict) and v.get("log")
                ),
                "trials": sorted(found, key=lambda t: t["number"]),
            }
        )
    return out


def _param(value: object) -> float | str | None:
    """A trial's parameter: a number, or (a choice) its text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return text(value, 60)
    return number(value, 6)


def provenance(rs: ResultsSet) -> dict[str, Any]:
    """Where the results came from, as their ``MANIFEST.json`` says: the commit, the
    machine, the backends, and the manifest's own sha256 (the page is drawn after it)."""
    from coursework.analysis import manifest

    path = rs.aggregate(layout.MANIFEST)
    try:
        man = manifest.read(rs)
    except ResultsError as exc:
        return {"manifest": text(f"none ({exc})")}
    git = man.get("git") or {}
    hw = man.get("hardware") or {}
    gpus = hw.get("gpus") or []
    backends = [
        f"{b.get('name')} {b.get('version')} ({b.get('runs')} runs)"
        for b in man.get("backends") or []
        if isinstance(b, dict)
    ]
    return {
        "commit": text(git.get("commit") or "unknown")
        + (" (with changes not committed)" if git.get("dirty") else ""),
        "machine": text(
            f"{hw.get('cpu', '?')}, {hw.get('cpu_count', '?')} cores, "
            f"{', '.join(map(str, gpus)) if gpus else 'no GPU'}; {hw.get('platform', '?')}"
        ),
        "backend": text("; ".join(backends) or "unknown"),
        "python": text(man.get("python")),
        "coursework": text(man.get("coursework_version")),
        "written": text(man.get("written")),
        "manifest": f"{layout.MANIFEST} sha256 {manifest.sha256(path)}",
    }
