"""Results sets written by hand, as training, ``verify``, the manifest and the paper leave
them (made-up numbers, no training): what the tests of the analysis, the report and the
results page read in milliseconds instead of training networks."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np

from coursework.analysis import manifest
from coursework.analysis.checks import COLUMNS, Row, Verdict
from coursework.records import layout, storage
from coursework.records.layout import ResultsSet
from coursework.records.record import SCHEMA_VERSION, RunRecord, Tuned
from coursework.records.results import HISTORY_COLUMNS
from coursework.report import questions

# a run name a page or a table must show as text: markup, a script's end, an HTML comment
NASTY = (
    "<img src=x onerror=\"document.title='owned'\">"
    '</script><script>document.title="owned"</script><!--&amp;\u2028'
)
RUNS = (("fc", 2), ("conv", 2), (NASTY, 1))


def config(run: str, i: int) -> dict:
    """A run's config: the second run is convolutional, the third has another rate."""
    return {
        "dataset": "mnist-5k",
        "builder": "conv:build",
        "model": {"conv_maps": [4] if i == 1 else [], "hidden": [16]},
        "optimizer": "sgd",
        "learning_rate": 0.05 if i == 2 else 0.1,
        "batch_size": 32,
        "epochs": 5,
        "seeds": [0, 1],
    }


def folder(run: str) -> str:
    """A run's folder: its name where a folder can have it (``run.json`` has the name)."""
    return re.sub(r"[^\w.-]", "_", run)[:60]


def seed_files(
    rs: ResultsSet, q: str, run: str, seed: int, i: int, epochs: int, **extra: object
) -> None:
    """A seed's ``history.csv`` and ``run.json`` as training writes them (made-up numbers);
    ``extra``: what else its record holds (another ``config``, ``tuned``)."""
    d = rs.run_dir(q, folder(run), seed)
    d.mkdir(parents=True)
    acc = 0.9 + 0.01 * i + 0.002 * seed - 0.5 * np.exp(-np.arange(1, epochs + 1) / 2)
    rows = [
        {"epoch": e + 1, "loss": 1 - a, "accuracy": a + 0.01, "val_loss": 1.1 - a}
        | {"val_accuracy": a, "learning_rate": 0.1, "epoch_seconds": 0.5}
        for e, a in enumerate(acc.tolist())
    ]
    storage.write_csv(d / layout.HISTORY, HISTORY_COLUMNS, rows)
    metrics = {"best_epoch": epochs - 1, "best_val_accuracy": float(acc[-1])}
    metrics |= {"test_accuracy": float(acc[-1]) - 0.003 * i, "train_seconds": 2.5}
    record = {"question": q, "run": run, "seed": seed, "profile": "quick", "spec_file": ""}
    record |= {"status": "complete", "config": config(run, i), "metrics": metrics}
    record |= {"params": 1000 + i} | extra
    storage.write_record(d / layout.RECORD, RunRecord.from_parts(record, d))


def predictions(folder: Path, k: int = 10) -> None:
    """A seed's test predictions: 40 images, a few misclassified."""
    rng = np.random.default_rng(0)
    y = np.arange(40) % k
    guess = np.where(np.arange(40) % 7 == 0, (y + 1) % k, y)
    probs = np.eye(k)[guess].astype(np.float32)
    wrong = np.flatnonzero(guess != y)
    images = rng.random((len(wrong), 28, 28, 1)).astype(np.float16)
    np.savez(folder / layout.PREDICTIONS, y_true=y, probs=probs, mis_index=wrong, mis_images=images)


def study(rs: ResultsSet, q: str, run: str, trials: int = 5) -> None:
    """A tuned run's trials (the third pruned) and the parameters chosen."""
    for n in range(trials):
        d = rs.trial_dir(q, folder(run), n)
        d.mkdir(parents=True)
        status = "pruned" if n == 2 else "complete"
        trial = {"number": n, "params": {"learning_rate": 0.01 * 3**n}}
        trial |= {"study": layout.STUDY, "sampler": "tpe"}
        metrics = {"best_val_accuracy": 0.8 + 0.03 * n - 0.1 * (n == 2)}
        rec = {"question": q, "run": run, "seed": 0, "profile": "quick", "spec_file": ""}
        cfg = config(run, 0) | {"learning_rate": 0.01 * 3**n}
        rec |= {"status": status, "config": cfg, "trial": trial, "metrics": metrics}
        storage.write_record(d / layout.RECORD, RunRecord.from_parts(rec, d))
    space = {"learning_rate": {"low": 0.01, "high": 1.0, "log": True}}
    best = {
        "schema_version": SCHEMA_VERSION,
        "trial": trials - 1,
        "params": {"learning_rate": 0.81},
        "space": space,
    }
    storage.write_json(rs.tune_dir(q, folder(run)) / layout.BEST, best)


def fake_set(root: Path, runs=RUNS, q: str = "toy", epochs: int = 5) -> ResultsSet:
    """A results set as training, ``verify`` and the manifest leave it, written by hand: the
    runs (name, seeds), predictions of the best run, a study, a failed verify check."""
    rs = ResultsSet(root, "quick")
    for i, (run, seeds) in enumerate(runs):
        for seed in range(seeds):
            seed_files(rs, q, run, seed, i, epochs)
    best, seeds = runs[-1]  # the best mean test accuracy, its last seed the best
    predictions(rs.run_dir(q, folder(best), seeds - 1))
    study(rs, q, runs[0][0])
    rows = [
        Row(f"{q}/{runs[0][0]}", "0", "history", "h.csv").csv(),
        Row(f"{q}/{runs[0][0]}", "1", "history", "h.csv", "1", "2", Verdict.MISMATCH).csv(),
    ]
    storage.write_csv(rs.aggregate(layout.VERIFICATION), COLUMNS, rows)
    manifest.write(rs, ["test"])
    return rs


# A paper's results set: its questions zeta, then mid (the built paper's numbers.json says
# so), and alpha, outside it (sorted, alpha would come first); texts that cite the bibliography
PAPER = ("zeta", "mid")
PAPER_SPECS = {
    "zeta": (
        3,
        """
        [[runs]]
        name = "base"
        model = { conv_maps = [], hidden = [16] }
        [[runs]]
        name = "wide"
        model = { conv_maps = [], hidden = [64], activation = "sigmoid" }
        [[runs]]
        name = "base-tuned"
        learning_rate = 0.3
        model = { conv_maps = [], hidden = [16] }
        [[runs]]
        name = "deep"
        description = "two hidden layers, as [@simard2003] has them"
        model = { conv_maps = [], hidden = [16, 16] }
        """,
    ),
    "mid": (3, '[[runs]]\nname = "a"\n[[runs]]\nname = "b"\nmodel = { hidden = [8] }\n'),
    "alpha": (2, '[[runs]]\nname = "x"\n[[runs]]\nname = "y"\nmodel = { hidden = [8] }\n'),
}
PAPER_SPEC = """
question = "{q}"
title = "Question {q}"
research_question = "Does {q} help [@nielsen2015, chapter 3]?"
hypothesis = "It does [@simard2003]."
builder = "conv:build"

[defaults]
dataset = "mnist-5k"
optimizer = "sgd"
learning_rate = 0.1
batch_size = 32
epochs = 5
seeds = {seeds}

[profiles.quick]
[profiles.full]
"""


def paper_set(root: Path) -> ResultsSet:
    """Three questions trained as their recorded specs say (made-up numbers, 1,000 test
    images but in alpha), the paper built of zeta and mid (its numbers.json and PDF), the
    statistics, figures and manifest written as training and ``make report`` leave them."""
    from coursework.analysis import stats
    from coursework.records import spec
    from coursework.report.plots import all_figures

    rs = ResultsSet(root, "quick")
    for q, (n, runs) in PAPER_SPECS.items():
        rs.question_dir(q).mkdir(parents=True)
        body = PAPER_SPEC.format(q=q, seeds=list(range(n))) + textwrap.dedent(runs)
        rs.spec_copy(q).write_text(body)
        s = spec.trained_spec(rs, q)
        assert s is not None, q
        sizes = {} if q == "alpha" else {"dataset": {"sizes": {"test": 1000}}}
        for i, run in enumerate(s.resolve(rs.name)):
            chosen = vars(Tuned.of_best({"params": {"learning_rate": 0.3}}))
            tuned = {"tuned": chosen} if run.name.endswith("-tuned") else {}
            for seed in run.seeds:
                seed_files(
                    rs, q, run.name, seed, i, 5, config=run.config.to_dict(), **sizes, **tuned
                )
    built(rs, ids=PAPER)
    (rs.report_dir() / "report.pdf").write_bytes(b"%PDF-1.4 the paper\n")
    stats.write_stats(rs)
    all_figures(rs)
    manifest.write(rs, ["test"])
    return rs


def built(rs: ResultsSet, settings=None, ids: tuple[str, ...] | None = None) -> Path:
    """What building the paper leaves for the commands after it: its ``numbers.json``,
    recording its questions (``ids``, default: every question of ``rs``), and each question's
    LaTeX, its figures labelled as ``report_templates/macros.tex.j2`` labels them."""
    ids = ids or tuple(rs.questions())
    numbers = {"schema_version": SCHEMA_VERSION, "questions": [{"id": q} for q in ids]}
    storage.write_json(rs.report_dir() / questions.NUMBERS, numbers)
    for q in ids:
        for part, kinds in (("", ("val", "comparison")), ("-appendix", ("curves",))):
            figures = [
                f"\\includegraphics{{../figures/{q}-{k}.pdf}}\\label{{fig:{q}-{k}}}" for k in kinds
            ]
            (rs.report_dir() / f"{q}{part}.tex").write_text("\n".join(figures) + "\n")
    return rs.report_dir()


# A results set trained by the engine and checked in (tests/recorded_results/): what the
# analysis's and the report's tests read as training leaves it, with none of the training.
RECORDED = Path(__file__).parent / "recorded_results"
RECORDED_DATA = Path("/tmp/coursework-recorded/toy.npz")  # the path its records name
KEPT = {layout.RECORD, layout.HISTORY, layout.GRADIENTS, layout.PREDICTIONS}  # per seed: no weights
REPORT_KEPT = {"numbers.json", "numbers.tex", "toy.tex", "toy-appendix.tex", "pair.tex"}


def record_results(dest: Path = RECORDED) -> None:
    """Train the recorded set into ``dest`` (``python -m tests.recorded``): question ``toy``
    (two runs, three seeds: intervals and tests) and ``pair`` (two runs, two seeds: none),
    two epochs each on 600 / 100 / 50 MNIST images; its aggregates and ``numbers.json`` as
    ``make report`` writes them; then each seed's weights dropped (the analysis never reads
    them; the checked-in files stay small)."""
    import shutil

    from coursework.data import datasets as data
    from coursework.report import render
    from tests.conftest import save_npz
    from tests.helpers import FC_AND_CONV, run_cli, toy_spec

    d = data.load("mnist-5k")
    RECORDED_DATA.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"x_train": d.x_train[:600], "y_train": d.y_train[:600]}
    arrays |= {"x_val": d.x_val[:100], "y_val": d.y_val[:100]}
    save_npz(RECORDED_DATA, arrays | {"x_test": d.x_test[:50], "y_test": d.y_test[:50]})
    shutil.rmtree(dest, ignore_errors=True)
    specs = RECORDED_DATA.parent / "specs"
    specs.mkdir(exist_ok=True)
    for name, seeds in (("toy", "[0, 1, 2]"), ("pair", "[0, 1]")):
        spec = toy_spec(specs, f"npz:{RECORDED_DATA}", FC_AND_CONV, name=name, seeds=seeds)
        assert run_cli("--results", dest, "run", spec) == 0
    rs = ResultsSet(dest, "quick")
    render.render(rs, prose_root=specs / "prose")
    for f in rs.report_dir().iterdir():  # the paper's words and numbers, not its LaTeX kit
        if f.name not in REPORT_KEPT:
            f.unlink()
    for lock in dest.rglob("*.lock"):
        lock.unlink()
    for seed_dir in {p.parent for p in rs.record_paths()}:
        for f in seed_dir.iterdir():
            if f.name not in KEPT:
                shutil.rmtree(f) if f.is_dir() else f.unlink()
    manifest.write(rs, ["python", "-m", "tests.recorded"])


if __name__ == "__main__":
    record_results()
