"""The LaTeX report, rendered from the results folder alone and compiled with latexmk.

:mod:`coursework.tables` computes every number shown; this module writes them into the
Jinja2 templates of ``report_templates/`` (LaTeX-safe delimiters ``\\VAR{...}``,
``\\BLOCK{...}``; every string from a spec or a results file goes through the ``tex`` filter)
and saves them as ``report/numbers.json`` for ``make verify``. The student's prose lives in
``report_templates/prose/<question>/{motivation,discussion}.tex``: created once with a guide
for the project's own questions, never overwritten. Output:
``results/<profile>/report/report.pdf``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import jinja2

from coursework import results, spec, tables
from coursework.errors import ReportError

TEMPLATES = Path(__file__).resolve().parents[1] / "report_templates"
PROSE = TEMPLATES / "prose"
TEX_INSTALL = ("sudo apt-get install texlive-latex-recommended texlive-latex-extra "
               "texlive-fonts-recommended latexmk lmodern   (or: sudo make setup-tex)")
NUMBERS = "numbers.json"

_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX))

FIGURES = {  # kind -> caption, width (fraction of the line)
    "curves": ("Learning curves: training (dashed) and validation (solid) loss and accuracy "
               "per epoch, mean over seeds, band = min-max.", 1.0),
    "comparison": ("Test accuracy at the epoch of best validation accuracy, per run.", 0.75),
    "published": ("Our test accuracy (mean over seeds) beside the published figure.", 0.75),
    "confusion": ("Confusion matrix of the best run on the test set.", 0.55),
    "errors": ("Misclassified test images of the best run (true→predicted).", 0.9),
    "filters": ("Learned first-layer filters of the best convolutional run.", 0.7),
}


def tex(value) -> str:
    """Escape any value for LaTeX text: ``a&b_%`` -> ``a\\&b\\_\\%``."""
    return _TEX_RE.sub(lambda m: _TEX[m.group()], str(value))


def environment_jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), block_start_string=r"\BLOCK{",
        block_end_string="}", variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}", line_comment_prefix="%%",
        trim_blocks=True, lstrip_blocks=True, autoescape=False, undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True)
    env.filters["tex"] = tex
    return env


# --------------------------------------------------------------------------- prose

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


def prose_folder(prose_root: Path | None, q: dict, report_dir: Path) -> Path:
    """The folder of a question's prose files, each created with a guide if missing.

    With the default root (``report_templates/prose``) guides are written only for the
    project's own questions (``experiments/*.toml``); any other question's missing prose is a
    guide inside the report folder, so that no report writes into the source tree."""
    own = prose_root is not None or q["id"] in spec.all_questions()
    folder = (Path(prose_root) if prose_root is not None else PROSE) / q["id"]
    if not own and not folder.exists():
        folder = report_dir / "prose" / q["id"]
    folder.mkdir(parents=True, exist_ok=True)
    first_run = q["tables"]["results"]["rows"][0]["run"]
    for part, guide in PROSE_GUIDE.items():
        path = folder / f"{part}.tex"
        if not path.exists():
            path.write_text(guide.format(title=q["title"], q=tables.macro_key(q["id"]),
                                         run=tables.macro_key(first_run), q_tex=tex(q["id"])))
    return folder


# --------------------------------------------------------------------------- rendering


def figures(results_dir: Path, profile: str, qid: str, report_dir: Path) -> list[dict]:
    """The question's figures that exist: path (relative to the report), caption, width."""
    out = []
    for kind, (caption, width) in FIGURES.items():
        path = results.figures_dir(results_dir, profile) / f"{qid}-{kind}.pdf"
        if path.exists():
            out.append({"path": os.path.relpath(path, report_dir).replace(os.sep, "/"),
                        "caption": caption, "width": width})
    return out


def render_question(q: dict, paths: dict) -> str:
    """One question's section: ``q`` from :func:`coursework.tables.question`, ``paths`` its
    ``prose_dir`` and ``figures``."""
    return environment_jinja().get_template("question.tex.j2").render(q=q, paths=paths)


def numbers_tex(questions: list[dict]) -> str:
    """``numbers.tex``: one ``\\cwset{question/run}{field}{value}`` line per macro."""
    head = ["% Generated from summary.csv, stats.csv and ensembles.csv: one value per run",
            "% and field. In your prose: \\result{question/run}{field}, fields: test, testsd,",
            "% val, epoch, params, seeds, ci, p (and vote, meanprob for ensembles).",
            "\\makeatletter",
            "\\newcommand{\\cwset}[3]{\\expandafter\\def\\csname cw@#1@#2\\endcsname{#3}}",
            "\\newcommand{\\result}[2]{\\ifcsname cw@#1@#2\\endcsname"
            "\\csname cw@#1@#2\\endcsname\\else\\textbf{??}\\fi}",
            "\\makeatother"]
    return "\n".join(head + [macro_line(*m) for q in questions for m in q["macros"]]) + "\n"


def macro_line(key: str, field: str, value: str) -> str:
    return f"\\cwset{{{key}}}{{{field}}}{{{value.replace(',', '{,}')}}}"


def question_paths(results_dir: Path, profile: str, q: dict, prose_root: Path | None,
                   write: bool = True) -> dict:
    """Where a question's prose and figures are, relative to the report folder."""
    report_dir = results.report_dir(results_dir, profile)
    prose = (prose_folder(prose_root, q, report_dir) if write
             else (Path(prose_root) if prose_root else PROSE) / q["id"])
    return {"prose_dir": os.path.relpath(prose.resolve(), report_dir.resolve()).replace(
                os.sep, "/"),
            "figures": figures(results_dir, profile, q["id"], report_dir)}


def render(results_dir: Path, profile: str, prose_root: Path | None = None) -> Path:
    """Write the report's ``.tex`` files and ``numbers.json``; return the report folder."""
    if not (results.profile_dir(results_dir, profile) / "summary.csv").exists():
        raise ReportError(f"{results.profile_dir(results_dir, profile) / 'summary.csv'} does "
                          f"not exist: run experiments first (make quick, or make QUESTION "
                          f"PROFILE={profile})")
    questions = tables.numbers(results_dir, profile)
    if not questions:
        raise ReportError(f"no complete runs under {results.profile_dir(results_dir, profile)}"
                          ": nothing to report")
    report_dir = results.report_dir(results_dir, profile)
    for q in questions:
        paths = question_paths(results_dir, profile, q, prose_root)
        results.write_text(report_dir / f"{q['id']}.tex", render_question(q, paths))
    results.write_text(report_dir / "numbers.tex", numbers_tex(questions))
    results.write_json(report_dir / NUMBERS, {"schema_version": results.SCHEMA_VERSION,
                                              "questions": questions})
    main = environment_jinja().get_template("main.tex.j2").render(
        title=os.environ.get("COURSEWORK_TITLE", "Deep learning coursework report"),
        author=os.environ.get("COURSEWORK_AUTHOR", os.environ.get("USER", "")),
        profile=profile, generated=dt.date.today().isoformat(), questions=questions,
        environment=tables.environment(results_dir, profile),
        verification=verification_context(
            results.profile_dir(results_dir, profile) / "verification.csv"))
    results.write_text(report_dir / "report.tex", main)
    return report_dir


def verification_context(path: Path) -> dict | None:
    """The reproducibility appendix, from ``verification.csv`` when ``make verify`` ran."""
    if not path.exists():
        return None
    rows = results.read_csv(path)
    bad = [r for r in rows if r.get("verdict") != "ok"]
    counts: dict[str, dict] = {}
    for r in rows:
        c = counts.setdefault(r["kind"], {"check": r["kind"], "count": 0, "ok": 0})
        c["count"] += 1
        c["ok"] += r.get("verdict") == "ok"
    reruns = [r for r in rows if r["kind"] == "re-run"]
    sentence = (f"make verify checked {len(rows)} item(s) of these results"
                + (f" and re-trained {len({(r['run'], r['seed']) for r in reruns})} run(s)"
                   if reruns else "")
                + (": all matched." if not bad else f": {len(bad)} did not match."))
    return {"sentence": sentence, "counts": list(counts.values()), "reruns": reruns}


# --------------------------------------------------------------------------- compiling


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


def build(results_dir: Path, profile: str, prose_root: Path | None = None) -> Path:
    report_dir = render(results_dir, profile, prose_root)
    pdf = compile_pdf(report_dir)
    return pdf or report_dir / "report.tex"
