"""The LaTeX report: a paper within the page limit, the rest in an appendix.

:mod:`coursework.tables` computes every number shown; this module writes them into the Jinja2
templates of ``report_templates/`` (LaTeX-safe delimiters ``\\VAR{...}``, ``\\BLOCK{...}``;
every string from a spec or a results file goes through the ``tex`` filter), saves them as
``report/numbers.json`` for ``make verify``, compiles the PDF with latexmk (shell escape off)
and reads back from LaTeX's ``.aux`` file how many pages come before the appendix.

``report.toml`` (at the project root) chooses the title, author, questions, page limit and
style (``paper``: two columns; ``article``: one), or a course's own class or style file.
Per question the body has the research question and hypothesis, the student's motivation,
compact methods, the main results table, one or two figures and the student's discussion; the
appendix has everything else. The prose lives in ``report_templates/prose/``: created once with
a guide, never overwritten.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from coursework import results, spec, tables
from coursework.checks import PASSING
from coursework.errors import ReportError
from coursework.project import REPORT_TEMPLATES, ROOT

TEMPLATES = REPORT_TEMPLATES
PROSE = TEMPLATES / "prose"
SETTINGS = ROOT / "report.toml"
STYLE_FILES = ("cw.sty", "cwpaper.sty")
NUMBERS = "numbers.json"
OVERLEAF = "report-overleaf.zip"
TEX_INSTALL = ("sudo apt-get install texlive-latex-recommended texlive-latex-extra "
               "texlive-fonts-recommended latexmk lmodern   (or: sudo make setup-tex)")

_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX))

# kind -> (caption, wide, where): "body" figures carry the comparison, the rest go to the
# appendix; "published" replaces "comparison" in the body where a question has one
FIGURES = {
    "published": ("Our test accuracy (mean over seeds) beside the published figure.", False,
                  "body"),
    "comparison": ("Test accuracy at the epoch of best validation accuracy: mean over seeds "
                   "(circle), each seed (dots), min-max (bar).", False, "body"),
    "val": ("Validation accuracy per epoch, mean over seeds (band: min-max).", False, "body"),
    "curves": ("Learning curves: training (dashed) and validation (solid) loss and accuracy "
               "per epoch, mean over seeds, band = min-max.", True, "appendix"),
    "confusion": ("Confusion matrix of the best run on the test set.", False, "appendix"),
    "errors": ("Misclassified test images of the best run (true→predicted).", True, "appendix"),
    "filters": ("Learned first-layer filters of the best convolutional run.", False,
                "appendix"),
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


# --------------------------------------------------------------------------- report.toml


@dataclass
class Settings:
    """``report.toml``: see the file for what each setting does."""

    title: str = "Deep learning coursework"
    author: str = ""
    questions: list[str] = field(default_factory=list)
    page_limit: int = 6
    style: str = "paper"
    document_class: Path | None = None
    style_file: Path | None = None
    bibliography: Path | None = None
    bibliography_style: str = "plain"
    source: Path = SETTINGS


def read_settings(path: Path = SETTINGS, questions: list[str] | None = None) -> Settings:
    """Read and check ``report.toml`` (defaults where it is absent); ``questions`` overrides
    its list. A bad field is a ReportError naming the file and the field."""
    path = Path(path)
    raw: dict = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ReportError(f"{path}: not valid TOML: {exc}") from exc
    types = {"title": str, "author": str, "questions": list, "page_limit": int, "style": str,
             "class": str, "style_file": str, "bibliography": str, "bibliography_style": str}
    for key, value in raw.items():
        if key not in types:
            raise ReportError(f"{path}: unknown field {key!r} (known: {', '.join(types)})")
        if not isinstance(value, types[key]) or isinstance(value, bool):
            raise ReportError(f"{path}: field {key!r} must be a {types[key].__name__}, got "
                              f"{value!r}")
    s = Settings(source=path, **{k: raw[k] for k in ("title", "author", "questions",
                                                     "page_limit", "style") if k in raw})
    if s.style not in ("paper", "article"):
        raise ReportError(f"{path}: field 'style' must be \"paper\" or \"article\", got "
                          f"{s.style!r}")
    if s.page_limit < 1 or not all(isinstance(q, str) for q in s.questions):
        raise ReportError(f"{path}: field 'page_limit' must be at least 1 and 'questions' a "
                          "list of question ids")

    def existing(key: str, suffixes: tuple[str, ...]) -> Path | None:
        if key not in raw:
            return None
        file = (path.parent / raw[key]).resolve()
        if file.suffix not in suffixes or not file.is_file():
            raise ReportError(f"{path}: field {key!r}: {file} is not a {' or '.join(suffixes)}"
                              " file")
        return file

    s.document_class = existing("class", (".cls",))
    s.style_file = existing("style_file", (".sty",))
    s.bibliography = existing("bibliography", (".bib",))
    if raw.get("bibliography_style", "").endswith(".bst"):
        s.bibliography_style = str(existing("bibliography_style", (".bst",)))
    elif "bibliography_style" in raw:
        s.bibliography_style = raw["bibliography_style"]
    if questions:
        s.questions = questions
    return s


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
ABSTRACT_GUIDE = """%% Your abstract -- never overwritten. In a few sentences: the questions, how
%% you answered them, and what you found (with numbers: \\result{question/run}{test}).
\\textit{(Abstract not written yet: edit report\\_templates/prose/abstract.tex.)}
"""


def write_once(path: Path, text: str) -> None:
    """Create a prose file with its guide; never touch one that exists."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def prose_folder(prose_root: Path | None, q: dict, report_dir: Path) -> Path:
    """The folder of a question's prose files, each created with a guide if missing.

    With the default root (``report_templates/prose``) guides are written only for the
    project's own questions (``experiments/*.toml``); any other question's missing prose is a
    guide inside the report folder, so that no report writes into the source tree."""
    own = prose_root is not None or q["id"] in spec.all_questions()
    folder = (Path(prose_root) if prose_root is not None else PROSE) / q["id"]
    if not own and not folder.exists():
        folder = report_dir / "prose" / q["id"]
    first_run = q["tables"]["main"]["rows"][0]["run"]
    for part, guide in PROSE_GUIDE.items():
        write_once(folder / f"{part}.tex", guide.format(
            title=q["title"], q=tables.macro_key(q["id"]), run=tables.macro_key(first_run),
            q_tex=tex(q["id"])))
    return folder


def relative(path: Path, report_dir: Path) -> str:
    return os.path.relpath(Path(path).resolve(), report_dir.resolve()).replace(os.sep, "/")


# --------------------------------------------------------------------------- rendering


def figures(results_dir: Path, profile: str, qid: str, report_dir: Path) -> dict[str, list]:
    """The question's figures that exist, for the body and for the appendix."""
    folder = results.figures_dir(results_dir, profile)
    have = {k for k in FIGURES if (folder / f"{qid}-{k}.pdf").exists()}
    out: dict[str, list] = {"body": [], "appendix": []}
    for kind, (caption, wide, where) in FIGURES.items():
        if kind not in have:
            continue
        if kind == "comparison" and "published" in have:
            where = "appendix"
        out[where].append({"path": relative(folder / f"{qid}-{kind}.pdf", report_dir),
                           "caption": caption, "wide": wide, "label": f"fig:{qid}-{kind}"})
    return out


def question_paths(results_dir: Path, profile: str, q: dict, prose_root: Path | None,
                   write: bool = True) -> dict:
    """Where a question's prose and figures are, relative to the report folder."""
    report_dir = results.report_dir(results_dir, profile)
    prose = (prose_folder(prose_root, q, report_dir) if write
             else (Path(prose_root) if prose_root else PROSE) / q["id"])
    figs = figures(results_dir, profile, q["id"], report_dir)
    return {"prose_dir": relative(prose, report_dir), "body_figures": figs["body"],
            "appendix_figures": figs["appendix"]}


PARTS = {"question.tex.j2": "{}.tex", "appendix.tex.j2": "{}-appendix.tex"}


def render_part(template: str, q: dict, paths: dict) -> str:
    """One of a question's files (:data:`PARTS`): ``q`` from
    :func:`coursework.tables.question`, ``paths`` from :func:`question_paths`."""
    return environment_jinja().get_template(template).render(q=q, paths=paths)


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
    return f"\\cwset{{{key}}}{{{field}}}{{{tex(value).replace(',', '{,}')}}}"


def chosen_questions(results_dir: Path, profile: str, settings: Settings) -> list[dict]:
    """The questions of the report, in the order ``report.toml`` (or ``QUESTIONS``) gives."""
    available = tables.numbers(results_dir, profile)
    if not available:
        raise ReportError(f"no complete runs under {results.profile_dir(results_dir, profile)}"
                          ": nothing to report")
    if not settings.questions:
        return available
    by_id = {q["id"]: q for q in available}
    missing = [q for q in settings.questions if q not in by_id]
    if missing:
        raise ReportError(f"{settings.source}: questions: no complete runs of "
                          f"{', '.join(missing)} under {results.profile_dir(results_dir, profile)}"
                          f" (questions with results: {', '.join(by_id)})")
    return [by_id[q] for q in settings.questions]


def document(settings: Settings) -> tuple[dict, dict[str, Path]]:
    """Which document class (the built-in style, or the course's class or style file), and the
    files the report needs beside it: name -> source."""
    files = {name: TEMPLATES / name for name in STYLE_FILES}
    for path in (settings.document_class, settings.style_file, settings.bibliography):
        if path is not None:
            files[path.name] = path
    if settings.bibliography_style.endswith(".bst"):
        files[Path(settings.bibliography_style).name] = Path(settings.bibliography_style)
    if settings.document_class is not None:
        return {"kind": "class", "name": settings.document_class.stem}, files
    if settings.style_file is not None:
        return {"kind": "style", "name": settings.style_file.stem}, files
    return {"kind": settings.style, "name": settings.style}, files


def report_texts(results_dir: Path, profile: str, questions: list[dict],
                 settings: Settings, prose_root: Path | None, bundle: bool = False
                 ) -> tuple[dict[str, str], dict[str, Path]]:
    """The report's LaTeX files (name -> text) and the files they use (name -> source).

    ``bundle``: for a self-contained folder (the Overleaf zip): prose under ``prose/``,
    figures under ``figures/``; else paths relative to the report folder, files in place."""
    report_dir = results.report_dir(results_dir, profile)
    doc, files = document(settings)
    texts: dict[str, str] = {}
    for q in questions:
        paths = question_paths(results_dir, profile, q, prose_root)
        if bundle:
            prose = (report_dir / paths["prose_dir"]).resolve()
            files.update({f"prose/{q['id']}/{p.name}": p for p in sorted(prose.glob("*.tex"))})
            paths["prose_dir"] = f"prose/{q['id']}"
            for f in paths["body_figures"] + paths["appendix_figures"]:
                name = f"figures/{Path(f['path']).name}"
                files[name] = (report_dir / f["path"]).resolve()
                f["path"] = name
        for template, name in PARTS.items():
            texts[name.format(q["id"])] = render_part(template, q, paths)
    texts["numbers.tex"] = numbers_tex(questions)
    abstract = (Path(prose_root) if prose_root is not None else PROSE) / "abstract.tex"
    write_once(abstract, ABSTRACT_GUIDE)
    if bundle:
        files["prose/abstract.tex"] = abstract
    bib = settings.bibliography
    texts["report.tex"] = environment_jinja().get_template("main.tex.j2").render(
        doc=doc, title=settings.title, author=settings.author, profile=profile,
        generated=dt.date.today().isoformat(), questions=questions,
        abstract="prose/abstract.tex" if bundle else relative(abstract, report_dir),
        bibliography=bib.stem if bib else "",
        bibliography_style=Path(settings.bibliography_style).stem,
        environment=tables.environment(results_dir, profile),
        verification=verification_context(
            results.aggregate(results_dir, profile, results.VERIFICATION),
            [q["id"] for q in questions]))
    return texts, files


def render(results_dir: Path, profile: str, prose_root: Path | None = None,
           settings: Settings | None = None) -> Path:
    """Write the report's ``.tex`` files, ``numbers.json`` and ``report-overleaf.zip`` (the
    same report as one folder that compiles with plain pdflatex); return the report folder."""
    if not results.aggregate(results_dir, profile, results.SUMMARY).exists():
        raise ReportError(f"{results.aggregate(results_dir, profile, results.SUMMARY)} does "
                          f"not exist: run experiments first (make quick, or make QUESTION "
                          f"PROFILE={profile})")
    settings = settings or read_settings()
    questions = chosen_questions(results_dir, profile, settings)
    report_dir = results.report_dir(results_dir, profile)
    texts, files = report_texts(results_dir, profile, questions, settings, prose_root)
    for name, text in texts.items():
        results.write_text(report_dir / name, text)
    for name, source in files.items():
        results.write_bytes(report_dir / name, source.read_bytes())
    results.write_json(report_dir / NUMBERS, {"schema_version": results.SCHEMA_VERSION,
                                              "questions": questions})
    texts, files = report_texts(results_dir, profile, questions, settings, prose_root,
                                bundle=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in texts.items():
            z.writestr(name, text)
        for name, source in files.items():
            z.write(source, name)
    results.write_bytes(report_dir / OVERLEAF, buf.getvalue())
    return report_dir


def verification_context(path: Path, questions: list[str]) -> dict | None:
    """The reproducibility appendix, from ``verification.csv`` when ``make verify`` ran: the
    counts of every kind of check, and the re-runs of the report's questions, one row per run
    and check with its seeds."""
    if not path.exists():
        return None
    rows = results.read_csv(path)
    bad = [r for r in rows if r.get("verdict") not in PASSING]
    counts: dict[str, dict] = {}
    for r in rows:
        c = counts.setdefault(r["kind"], {"check": r["kind"], "count": 0, "ok": 0})
        c["count"] += 1
        c["ok"] += r.get("verdict") in PASSING
    reruns = [r for r in rows if r["kind"] == "re-run"]
    sentence = (f"make verify checked {len(rows)} item(s) of these results"
                + (f" and re-trained {len({(r['run'], r['seed']) for r in reruns})} run(s)"
                   if reruns else "")
                + (": all matched." if not bad else f": {len(bad)} did not match.")
                + "".join(f" Note, {r['check']}: {r['file']}, {r['got']}." for r in rows
                          if r.get("verdict") == "note"))
    grouped: dict[tuple, list[str]] = {}
    for r in reruns:
        if r["run"].split("/")[0] in questions:
            grouped.setdefault((r["run"], r["check"], r["verdict"]), []).append(r["seed"])
    table = [{"run": run, "check": check, "verdict": verdict, "seeds": ", ".join(seeds)}
             for (run, check, verdict), seeds in grouped.items()]
    return {"sentence": sentence, "counts": list(counts.values()), "reruns": table}


# --------------------------------------------------------------------------- compiling


def compile_pdf(report_dir: Path) -> Path | None:
    """latexmk with shell escape off; None (and a message) if TeX is not installed."""
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        print(f"LaTeX is not installed, so only the .tex files were written to {report_dir}/ "
              f"(and report-overleaf.zip, which compiles on Overleaf).\n"
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


# --------------------------------------------------------------------------- page budget


def page_budget(aux: Path, questions: list[str]) -> dict:
    """From LaTeX's ``.aux`` file: the page the appendix starts on (``\\label{appendix}``),
    so the pages of the body, and each section's length in pages (from the positions that
    ``\\cwmark`` saved: columns passed plus the fraction of a column)."""
    text = aux.read_text(errors="replace")
    start = re.search(r"\\newlabel\{appendix\}\{\{[^}]*\}\{(\d+)\}", text)
    layout = re.search(r"\\gdef\s*\\cwlayout\{\{([\d.]+)pt\}\{(\d)\}\{([\d.]+)pt\}\}", text)
    marks = {m[0]: (int(m[1]), int(m[2]), int(m[3])) for m in re.findall(
        r"\\zref@newlabel\{cw-([^}]*)\}\{\\posx\{(-?\d+)\}\\posy\{(-?\d+)\}\\abspage\{(\d+)\}",
        text)}
    body = int(start.group(1)) - 1 if start else None
    sections = {}
    if layout:
        height, cols, width = float(layout[1]) * 65536, int(layout[2]), float(layout[3]) * 65536

        def where(mark):
            x, y, page = marks[mark]
            return (page - 1) * cols + (1 if cols == 2 and x > width / 2 else 0), y

        for q in questions:
            if f"start-{q}" in marks and f"end-{q}" in marks:
                (c0, y0), (c1, y1) = where(f"start-{q}"), where(f"end-{q}")
                sections[q] = round((c1 - c0 + (y0 - y1) / height) / cols, 2)
    return {"body_pages": body, "sections": sections}


def check_budget(budget: dict, settings: Settings) -> str:
    """A sentence on the page budget: within it, or over by how much and where."""
    pages = budget["body_pages"]
    if pages is None:
        return "report: could not find the appendix label in the LaTeX output"
    if pages <= settings.page_limit:
        return (f"report: the paper is {pages} page(s) before the appendix, within the limit of "
                f"{settings.page_limit} ({settings.source.name})")
    longest = sorted(budget["sections"].items(), key=lambda kv: -kv[1])
    return (f"report: the paper is {pages} pages before the appendix, {pages - settings.page_limit}"
            f" over the limit of {settings.page_limit} ({settings.source.name}); longest "
            "sections: " + ", ".join(f"{q} {n:.1f} pages" for q, n in longest[:3])
            + ". Shorten those (prose, or fewer runs in the body), or choose fewer questions.")


def build(results_dir: Path, profile: str, prose_root: Path | None = None,
          settings: Settings | None = None) -> Path:
    """Render, compile; say whether the body fits the page limit."""
    settings = settings or read_settings()
    report_dir = render(results_dir, profile, prose_root, settings)
    pdf = compile_pdf(report_dir)
    if pdf is None:
        return report_dir / "report.tex"
    ids = [q["id"] for q in results.read_json(report_dir / NUMBERS)["questions"]]
    print(check_budget(page_budget(report_dir / "build" / "report.aux", ids), settings))
    return pdf
