"""The LaTeX report, rendered from the results files alone and compiled with latexmk.

``report_templates/main.tex.j2`` and ``question.tex.j2`` are Jinja2 templates with LaTeX-safe
delimiters (``\\VAR{...}``, ``\\BLOCK{...}``); every string from a spec or a results file goes
through the ``tex`` filter. The student's prose lives in
``report_templates/prose/<question>/{motivation,discussion}.tex``: created once with a guide,
never overwritten. Output: ``results/<profile>/report/report.pdf``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import jinja2
import numpy as np

from coursework import results, spec
from coursework.plots import load_question, test_accuracies

TEMPLATES = Path(__file__).resolve().parents[1] / "report_templates"
PROSE = TEMPLATES / "prose"
TEX_INSTALL = ("sudo apt-get install texlive-latex-recommended texlive-latex-extra "
               "texlive-fonts-recommended latexmk lmodern   (or: sudo make setup-tex)")

_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX))


class ReportError(Exception):
    """The report could not be built; the message says why and where."""


def tex(value) -> str:
    """Escape any value for LaTeX text: ``a&b_%`` -> ``a\\&b\\_\\%``."""
    return _TEX_RE.sub(lambda m: _TEX[m.group()], str(value))


def macro_key(text: str) -> str:
    """A safe key for ``\\result{key}{field}``: letters, digits, '-', '.', '/' only."""
    return re.sub(r"[^A-Za-z0-9./-]", "", text)


def environment_jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), block_start_string=r"\BLOCK{",
        block_end_string="}", variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}", line_comment_prefix="%%",
        trim_blocks=True, lstrip_blocks=True, autoescape=False, undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True)
    env.filters["tex"] = tex
    return env


PROSE_GUIDE = {
    "motivation": """%% Motivation for "{title}" -- written by you; never overwritten.
%% Say why this question matters, what you expect and why, and why each run was chosen:
%% what does each run isolate? Cite the figures and numbers with macros from numbers.tex, e.g.
%% \\result{{{q}/{run}}}{{test}} (mean test accuracy, %) or \\result{{{q}/{run}}}{{testsd}}.
\\textit{{(Motivation not written yet: edit report\\_templates/prose/{q_tex}/motivation.tex.)}}
""",
    "discussion": """%% Discussion and conclusions for "{title}" -- yours; never overwritten.
%% What do the results show? Is each difference larger than the spread over seeds? Does the
%% evidence support the hypothesis? What would you try next?
%% Numbers: \\result{{{q}/{run}}}{{test}}.
\\textit{{(Discussion not written yet: edit report\\_templates/prose/{q_tex}/discussion.tex.)}}
""",
}


def ensure_prose(prose_root: Path, question: str, title: str, first_run: str) -> Path:
    """Create the prose files of a question if missing; return their folder."""
    folder = Path(prose_root) / question
    folder.mkdir(parents=True, exist_ok=True)
    for part, guide in PROSE_GUIDE.items():
        path = folder / f"{part}.tex"
        if not path.exists():
            path.write_text(guide.format(title=title, q=macro_key(question),
                                         run=macro_key(first_run), q_tex=tex(question)))
    return folder


# --------------------------------------------------------------------------- numbers


def pct(x: float, digits: int = 2) -> str:
    return f"{100 * x:.{digits}f}"


def mean_sd(values: np.ndarray) -> str:
    if len(values) > 1:
        return f"{100 * values.mean():.2f} $\\pm$ {100 * values.std(ddof=1):.2f}"
    return f"{100 * values.mean():.2f}"


def run_other(cfg: dict) -> str:
    bits = [cfg["model"]["activation"]] if cfg["model"].get("activation") else []
    if cfg.get("l2_lambda"):
        bits.append(f"L2 lambda {cfg['l2_lambda']}")
    if cfg.get("l1_lambda"):
        bits.append(f"L1 lambda {cfg['l1_lambda']}")
    if cfg.get("early_stopping"):
        bits.append(f"early stop {cfg['early_stopping']}")
    if cfg.get("augment", "none") != "none":
        bits.append(f"augment {cfg['augment']}")
    if cfg["model"].get("dropout"):
        bits.append(f"dropout {cfg['model']['dropout']}")
    if cfg["optimizer"] == "momentum":
        bits.append(f"momentum {cfg['momentum']}")
    return ", ".join(bits) or "-"


def p_text(p: str) -> str:
    if p == "":
        return "-"
    return "$<$0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def stats_context(rows: list[dict]) -> tuple[list[dict], str]:
    """Rows of the statistics table and a plain sentence on what is within noise."""
    out, within, beyond, single = [], [], [], []
    baseline = rows[0]["baseline"] if rows else ""
    for r in rows:
        n = int(r["n"])
        ci = (f"[{pct(float(r['ci95_low']))}, {pct(float(r['ci95_high']))}]"
              if r["ci95_low"] != "" else "-")
        diff = f"{100 * float(r['diff']):+.2f}" if r["diff"] != "" else "-"
        if r["run"] == baseline:
            verdict = "baseline"
        elif r["within_noise"] == "yes":
            verdict, _ = "within noise", within.append(r["run"])
        elif r["within_noise"] == "no":
            verdict, _ = "beyond noise", beyond.append(r["run"])
        else:
            verdict, _ = "too few seeds", single.append(r["run"])
        out.append({"name": r["run"], "n": n, "mean": pct(float(r["mean"])),
                    "sd": pct(float(r["sd"])) if r["sd"] != "" else "-", "ci": ci,
                    "diff": diff, "p": p_text(r["p_value"]), "verdict": verdict})
    parts = []
    if within:
        parts.append(f"Within noise: the difference from the baseline {baseline} is no larger "
                     f"than the spread over seeds (Welch p >= 0.05), so these results do not "
                     f"show a difference: {', '.join(within)}.")
    if beyond:
        parts.append(f"Beyond noise: the difference from the baseline {baseline} is larger "
                     f"than the spread over seeds (Welch p < 0.05): {', '.join(beyond)}.")
    if single:
        parts.append(f"Not testable (fewer than two seeds on a side): {', '.join(single)}.")
    return out, " ".join(parts)


def read_stats(results_dir: Path, profile: str) -> list[dict]:
    from coursework import stats

    path = Path(results_dir) / profile / "stats.csv"
    if path.exists():
        return results.read_csv(path)
    return [{k: results.fmt(v) for k, v in r.items()}
            for r in stats.stats_rows(results_dir, profile)]


def question_context(results_dir: Path, profile: str, qid: str, report_dir: Path,
                     macros: list[str], ensembles: list[dict], prose_root: Path,
                     stats_rows: list[dict], write_prose: bool = True) -> dict | None:
    from coursework.describe import architectures

    runs = load_question(results_dir, profile, qid)
    if not runs:
        return None
    s = spec.load_for_results(qid, next(iter(runs.values()))[0]["record"].get("spec_file", ""))
    if s is None:
        return None
    summary = results.summary_rows(results_dir, profile)
    not_complete = sorted({f"{r['run']} seed {r['seed']} ({r['status']})" for r in summary
                           if r["question"] == qid and r["status"] != "complete"})
    first = next(iter(runs.values()))[0]["record"]
    arch = {a["run"]: a for a in architectures(s, profile)}
    run_rows, result_rows = [], []
    for name, seeds in runs.items():
        rec = seeds[0]["record"]
        cfg = rec["config"]
        layers = ", ".join(f"{la['type']} {la['output']} ({la['params']:,})"
                           for la in arch[name]["layers"] if la["params"] or la["type"] in (
                               "MaxPooling2D", "AveragePooling2D", "L2Pooling2D", "Dropout"))
        run_rows.append({"name": name, "optimizer": cfg["optimizer"],
                         "learning_rate": cfg["learning_rate"], "batch_size": cfg["batch_size"],
                         "epochs": cfg["epochs"], "params": rec["params"],
                         "other": run_other(cfg), "layers": layers,
                         "seeds": ", ".join(str(x["seed"]) for x in seeds)})
        test = test_accuracies(seeds)
        val = np.array([x["record"]["metrics"]["best_val_accuracy"] for x in seeds])
        ep = np.array([x["record"]["metrics"]["best_epoch"] for x in seeds])
        secs = np.array([x["record"]["metrics"]["train_seconds"] for x in seeds])
        pub = rec.get("published_accuracy")
        result_rows.append({"name": name, "val": mean_sd(val), "test": mean_sd(test),
                            "epoch": f"{ep.mean():.1f}", "seconds": f"{secs.mean():.1f}",
                            "published": f"{pub:.2f}" if pub is not None else "-",
                            "per_seed": ", ".join(pct(t) for t in test)})
        key = f"{macro_key(qid)}/{macro_key(name)}"
        for field, value in (("test", pct(test.mean())), ("testsd", pct(test.std(ddof=1))
                             if len(test) > 1 else "0.00"), ("val", pct(val.mean())),
                             ("epoch", f"{ep.mean():.1f}"), ("params", f"{rec['params']:,}"),
                             ("seeds", str(len(seeds)))):
            macros.append(f"\\cwset{{{key}}}{{{field}}}{{{field_value(value)}}}")
    q_stats, noise = stats_context([r for r in stats_rows if r["question"] == qid])
    for r in q_stats:
        key = f"{macro_key(qid)}/{macro_key(r['name'])}"
        macros.append(f"\\cwset{{{key}}}{{ci}}{{{field_value(r['ci'])}}}")
        macros.append(f"\\cwset{{{key}}}{{p}}{{{field_value(r['p'])}}}")
    ens = [{"run": e["run"], "members": e["members"], "vote": pct(float(e["vote_accuracy"])),
            "mean_prob": pct(float(e["mean_prob_accuracy"])),
            "mean_member": pct(float(e["mean_member_accuracy"]))}
           for e in ensembles if e["question"] == qid]
    for e in ens:
        key = f"{macro_key(qid)}/{macro_key(e['run'])}"
        macros.append(f"\\cwset{{{key}}}{{vote}}{{{e['vote']}}}")
        macros.append(f"\\cwset{{{key}}}{{meanprob}}{{{e['mean_prob']}}}")
    figures = []
    fig_dir = Path(results_dir) / profile / "figures"
    captions = {
        "curves": ("Learning curves: training (dashed) and validation (solid) loss and accuracy "
                   "per epoch, mean over seeds, band = min-max.", 1.0),
        "comparison": ("Test accuracy at the epoch of best validation accuracy, per run.", 0.75),
        "published": ("Our test accuracy (mean over seeds) beside the published figure.", 0.75),
        "confusion": ("Confusion matrix of the best run on the test set.", 0.55),
        "errors": ("Misclassified test images of the best run (true→predicted).", 0.9),
        "filters": ("Learned first-layer filters of the best convolutional run.", 0.7),
    }
    for kind, (caption, width) in captions.items():
        path = fig_dir / f"{qid}-{kind}.pdf"
        if path.exists():
            figures.append({"path": os.path.relpath(path, report_dir).replace(os.sep, "/"),
                            "caption": caption, "width": width})
    prose = (ensure_prose(prose_root, qid, s.title, next(iter(runs))) if write_prose
             else Path(prose_root) / qid)
    return {"id": qid, "title": s.title, "research_question": s.research_question,
            "hypothesis": s.hypothesis, "dataset": first["dataset"], "runs": run_rows,
            "results": result_rows, "has_published": any(r["published"] != "-"
                                                          for r in result_rows),
            "stats": q_stats, "noise": noise, "ensembles": ens, "figures": figures,
            "not_complete": ", ".join(not_complete),
            "prose_dir": os.path.relpath(prose.resolve(), report_dir.resolve()).replace(
                os.sep, "/")}


def field_value(value: str) -> str:
    return value.replace(",", "{,}")


# --------------------------------------------------------------------------- render, compile


def contexts(results_dir: Path, profile: str, prose_root: Path = PROSE,
             write_prose: bool = True) -> tuple[list[dict], list[str]]:
    """Every question's template context and the lines of ``numbers.tex``: all the numbers
    the report shows, from the results files (``verify`` recomputes them to compare)."""
    base = Path(results_dir) / profile
    if not (base / "summary.csv").exists():
        raise ReportError(f"{base / 'summary.csv'} does not exist: run experiments first "
                          f"(make quick, or make QUESTION PROFILE={profile})")
    report_dir = base / "report"
    ens_path = base / "ensembles.csv"
    ensembles = results.read_csv(ens_path) if ens_path.exists() else []
    stats_rows = read_stats(results_dir, profile)
    macros: list[str] = []
    questions = []
    order = spec.all_questions()
    present = sorted({p.parent.parent.parent.name for p in base.glob("*/*/seed-*/run.json")},
                     key=lambda q: (order.index(q) if q in order else len(order), q))
    for qid in present:
        ctx = question_context(results_dir, profile, qid, report_dir, macros, ensembles,
                               prose_root, stats_rows, write_prose)
        if ctx is not None:
            questions.append(ctx)
    if not questions:
        raise ReportError(f"no complete runs under {base}: nothing to report")
    numbers = ["% Generated from summary.csv, stats.csv and ensembles.csv: one value per run",
               "% and field. In your prose: \\result{question/run}{field}, fields: test, testsd,",
               "% val, epoch, params, seeds, ci, p (and vote, meanprob for ensembles).",
               "\\makeatletter",
               "\\newcommand{\\cwset}[3]{\\expandafter\\def\\csname cw@#1@#2\\endcsname{#3}}",
               "\\newcommand{\\result}[2]{\\ifcsname cw@#1@#2\\endcsname"
               "\\csname cw@#1@#2\\endcsname\\else\\textbf{??}\\fi}",
               "\\makeatother", *macros]
    return questions, numbers


def render_question(ctx: dict) -> str:
    return environment_jinja().get_template("question.tex.j2").render(q=ctx)


def render(results_dir: Path, profile: str, prose_root: Path = PROSE) -> Path:
    """Write the report's .tex files; return the folder."""
    base = Path(results_dir) / profile
    questions, numbers = contexts(results_dir, profile, prose_root)
    report_dir = base / "report"
    for ctx in questions:
        results.write_text(report_dir / f"{ctx['id']}.tex", render_question(ctx))
    results.write_text(report_dir / "numbers.tex", "\n".join(numbers) + "\n")
    env = environment_jinja()
    env_rec = next(iter(base.glob("*/*/seed-*/run.json")))
    e = results.read_json(env_rec)["environment"]
    gpus = ", ".join(g.get("name") or g.get("device", "") for g in e.get("gpus", [])) or "none"
    environment = [("Python", e["python"]),
                   ("Backend", f"{e['backend']} {e['backend_version']}"),
                   ("Keras", e["keras"]), ("NumPy", e["numpy"]), ("Platform", e["platform"]),
                   ("CPU", f"{e['cpu']} ({e.get('cpu_count')} cores)"), ("GPU", gpus)]
    verification = verification_context(base / "verification.csv")
    main = env.get_template("main.tex.j2").render(
        title=os.environ.get("COURSEWORK_TITLE", "Deep learning coursework report"),
        author=os.environ.get("COURSEWORK_AUTHOR", os.environ.get("USER", "")),
        profile=profile, generated=dt.date.today().isoformat(), questions=questions,
        environment=environment, verification=verification)
    results.write_text(report_dir / "report.tex", main)
    return report_dir


def verification_context(path: Path) -> dict | None:
    """The reproducibility appendix, from ``verification.csv`` when ``make verify`` ran."""
    if not path.exists():
        return None
    from coursework.verify import check_kind

    rows = results.read_csv(path)
    bad = [r for r in rows if r.get("verdict") != "ok"]
    counts: dict[str, dict] = {}
    for r in rows:
        kind = check_kind(r["check"])
        c = counts.setdefault(kind, {"check": kind, "count": 0, "ok": 0})
        c["count"] += 1
        c["ok"] += r.get("verdict") == "ok"
    reruns = [r for r in rows if r["check"].startswith("re-run")]
    sentence = (f"make verify checked {len(rows)} item(s) of these results"
                + (f" and re-trained {len({(r['run'], r['seed']) for r in reruns})} run(s)"
                   if reruns else "")
                + (": all matched." if not bad else f": {len(bad)} did not match."))
    return {"sentence": sentence, "counts": list(counts.values()), "reruns": reruns}


def compile_pdf(report_dir: Path) -> Path | None:
    """latexmk with shell escape off; None (and a message) if TeX is not installed."""
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        print(f"LaTeX is not installed, so only the .tex files were written to {report_dir}/.\n"
              f"  Install TeX Live: {TEX_INSTALL}")
        return None
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
           "-file-line-error", "-outdir=build", "report.tex"]
    proc = subprocess.run(cmd, cwd=report_dir, capture_output=True, text=True, timeout=600)
    built = report_dir / "build" / "report.pdf"
    if proc.returncode != 0 or not built.exists():
        raise ReportError(f"LaTeX failed on {report_dir / 'report.tex'}:\n"
                          + latex_error(report_dir / "build" / "report.log", proc.stdout))
    pdf = report_dir / "report.pdf"  # copied whole: never a half-written PDF in its place
    results.write_bytes(pdf, built.read_bytes())
    return pdf


def latex_error(log: Path, fallback: str) -> str:
    """The lines of a LaTeX log that say what went wrong and where, not the whole log."""
    text = log.read_text(errors="replace") if log.exists() else fallback
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("!") or re.match(r"^[^:\s]+\.tex:\d+:", line):
            out.extend(lines[i:i + 4])
    return "\n".join(out[:24]) or "\n".join(lines[-20:])


def build(results_dir: Path, profile: str, prose_root: Path = PROSE) -> Path:
    report_dir = render(results_dir, profile, prose_root)
    pdf = compile_pdf(report_dir)
    return pdf or report_dir / "report.tex"
