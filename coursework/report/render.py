"""The LaTeX sources of the report: a paper within the page limit, the rest in an appendix.

:mod:`coursework.analysis.tables` computes every number shown; this module writes them into
the Jinja2 templates of ``report_templates/`` (LaTeX-safe delimiters ``\\VAR{...}``,
``\\BLOCK{...}``; every string from a spec or a results file goes through the ``tex`` filter),
saves them as ``report/numbers.json`` for ``make verify``, and the same report as one folder
that compiles anywhere (``report-overleaf.zip``). :func:`build` then compiles the PDF and
checks the page budget (:mod:`.latex`).

Per question the body has the research question and hypothesis, the student's motivation
(:mod:`.prose`), compact methods, the main results table, one or two figures and the
student's discussion; the appendix has everything else.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from functools import cache
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from coursework.analysis import tables
from coursework.analysis.contract import QuestionNumbers
from coursework.records import storage
from coursework.records.errors import ReportError
from coursework.records.layout import SUMMARY, ResultsSet
from coursework.records.project import REPORT_TEMPLATES
from coursework.records.record import SCHEMA_VERSION
from coursework.report.latex import check_budget, compile_pdf, layout, page_budget, tex, tex_cited
from coursework.report.plots import caption_notes
from coursework.report.prose import (
    ABSTRACT_GUIDE,
    PROSE,
    abstract_file,
    check_results,
    paper_paths,
    prose_dir,
    prose_folder,
    read_texts,
    unwritten,
    unwritten_lines,
    write_once,
)
from coursework.report.questions import NUMBERS, built, choose
from coursework.report.settings import Settings, read_settings
from coursework.report.sources import (
    bib_keys,
    cites,
    document,
    numbers_tex,
    spec_citations,
    verification_context,
)

TEMPLATES = REPORT_TEMPLATES
OVERLEAF = "report-overleaf.zip"

# kind -> (caption, wide, where): "body" figures carry the comparison, the rest go to the
# appendix; "published" replaces "comparison" in the body where a question has one. "{}" in a
# caption: what it says of the drawing (:func:`coursework.report.plots.caption_notes`)
FIGURES = {
    "published": (
        "Our test accuracy (mean over seeds) beside the published figure.",
        False,
        "body",
    ),
    "comparison": (
        "Test accuracy at the epoch of best validation accuracy: mean over seeds "
        "(circle), each seed (dots), min-max (bar).",
        False,
        "body",
    ),
    "val": (
        "Validation accuracy per epoch, mean over seeds (band: min-max){}.",
        False,
        "body",
    ),
    "curves": (
        "Learning curves: validation (each run's line, band: min-max over seeds) and "
        "training (the same line, thinner and lighter) loss and accuracy per epoch, "
        "mean over seeds{}.",
        True,
        "appendix",
    ),
    "confusion": ("Confusion matrix of the best run{} on the test set.", False, "appendix"),
    "errors": (
        "Misclassified test images of the best run{}, each with its true→predicted class.",
        True,
        "appendix",
    ),
    "filters": (
        "Learned first-layer filters of the best convolutional run{} on one colour scale: "
        "the weight, negative blue, positive red (the bar below).",
        False,
        "appendix",
    ),
    "gradients": (
        "Gradient flow: the mean absolute gradient of each layer's kernel on the probe batch "
        "(the same training images for every run and epoch), from the input to the output "
        "(left to right), on a log scale{}.",
        True,
        "appendix",
    ),
    "tuning": (
        "Tuning on the validation split: each trial's best validation accuracy against "
        "the searched values (crosses: pruned; star: chosen) and over the trials{}.",
        True,
        "appendix",
    ),
}


@cache
def environment_jinja(templates: Path | None = None) -> jinja2.Environment:
    """The report's templates (``templates``: another folder of them, such as a handed-in
    one: rendered in Jinja's sandbox, as untrusted input). One per process and folder: it
    keeps each template compiled (compiling them took a second of every report; an edited
    template is compiled again, Jinja checks)."""
    kind = jinja2.Environment if templates is None else SandboxedEnvironment
    env = kind(
        loader=jinja2.FileSystemLoader(str(templates or TEMPLATES)),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_comment_prefix="%%",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["tex"] = tex
    env.filters["cited"] = tex_cited
    return env


# --------------------------------------------------------------------------- report.toml


def relative(path: Path, report_dir: Path) -> str:
    """A file as the report folder's LaTeX names it (relative, forward slashes)."""
    return os.path.relpath(Path(path).resolve(), report_dir.resolve()).replace(os.sep, "/")


# --------------------------------------------------------------------------- rendering


def figures(rs: ResultsSet, qid: str, report_dir: Path) -> dict[str, list]:
    """The question's figures that exist, for the body and for the appendix, each caption
    saying what its drawing shows (its panels' runs, the run it shows)."""
    folder = rs.figures_dir()
    have = {k for k in FIGURES if (folder / f"{qid}-{k}.pdf").exists()}
    notes = caption_notes(rs, qid) if have else {}
    out: dict[str, list] = {"body": [], "appendix": []}
    for kind, (caption, wide, where) in FIGURES.items():
        if kind not in have:
            continue
        if kind == "comparison" and "published" in have:
            where = "appendix"
        out[where].append(
            {
                "path": relative(folder / f"{qid}-{kind}.pdf", report_dir),
                "caption": caption.format(notes.get(kind, "")),
                "wide": wide,
                "label": f"fig:{qid}-{kind}",
            }
        )
    return out


def question_paths(
    rs: ResultsSet,
    q: QuestionNumbers,
    prose_root: Path | None,
    write: bool = True,
) -> dict:
    """Where a question's prose and figures are, relative to the report folder."""
    report_dir = rs.report_dir()
    prose = (
        prose_folder(prose_root, q, report_dir)
        if write
        else (Path(prose_root) if prose_root else PROSE) / q.id
    )
    figs = figures(rs, q.id, report_dir)
    return {
        "prose_dir": relative(prose, report_dir),
        "body_figures": figs["body"],
        "appendix_figures": figs["appendix"],
    }


PARTS = {"question.tex.j2": "{}.tex", "appendix.tex.j2": "{}-appendix.tex"}


def render_part(
    template: str, q: QuestionNumbers, paths: dict, templates: Path | None = None
) -> str:
    """One of a question's files (:data:`PARTS`): ``q`` from
    :func:`coursework.analysis.question.question`, ``paths`` from :func:`question_paths`;
    ``templates``: see :func:`environment_jinja`."""
    return environment_jinja(templates).get_template(template).render(q=q, paths=paths)


def chosen_questions(rs: ResultsSet, settings: Settings) -> list[QuestionNumbers]:
    """The questions of the report, in the order ``report.toml`` (or ``QUESTIONS``) gives
    (:func:`.questions.choose`)."""
    available = tables.numbers(rs)
    if not available:
        raise ReportError(f"no complete runs under {rs.dir()}: nothing to report")
    by_id = {q.id: q for q in available}
    try:
        ids = choose(settings, list(by_id), other_data=rs.on_other_data)
    except ReportError as exc:
        raise ReportError(f"{exc}, under {rs.dir()}") from None
    return [by_id[q] for q in ids]


def question_texts(
    rs: ResultsSet,
    q: QuestionNumbers,
    prose_root: Path | None,
    bundle: bool,
    texts: dict[str, str],
    files: dict[str, Path],
) -> list[Path]:
    """A question's parts of the report into ``texts`` (the files they use into ``files``,
    where ``bundle``); returns the student's prose files of the question."""
    report_dir = rs.report_dir()
    paths = question_paths(rs, q, prose_root)
    prose = (report_dir / paths["prose_dir"]).resolve()
    own = sorted(prose.glob("*.tex"))
    if bundle:
        files.update({f"prose/{q.id}/{p.name}": p for p in own})
        paths["prose_dir"] = f"prose/{q.id}"
        for f in paths["body_figures"] + paths["appendix_figures"]:
            name = f"figures/{Path(f['path']).name}"
            files[name] = (report_dir / f["path"]).resolve()
            f["path"] = name
    for template, name in PARTS.items():
        texts[name.format(q.id)] = render_part(template, q, paths)
    return own


def report_texts(
    rs: ResultsSet,
    questions: list[QuestionNumbers],
    settings: Settings,
    prose_root: Path | None,
    bundle: bool = False,
) -> tuple[dict[str, str], dict[str, Path]]:
    """The report's LaTeX files (name -> text) and the files they use (name -> source).

    ``bundle``: for a self-contained folder (the Overleaf zip): prose under ``prose/``,
    figures under ``figures/``; else paths relative to the report folder, files in place."""
    report_dir = rs.report_dir()
    doc, files = document(settings)
    texts: dict[str, str] = {}
    written: list[Path] = []  # the student's prose files
    for q in questions:
        written += question_texts(rs, q, prose_root, bundle, texts, files)
    texts["numbers.tex"] = numbers_tex(questions)
    abstract = abstract_file(prose_root)
    write_once(abstract, ABSTRACT_GUIDE)
    if bundle:
        files["prose/abstract.tex"] = abstract
    bib = settings.bibliography
    known = bib_keys(bib) if bib else set()
    from_specs = spec_citations(questions, known if bib else None)
    cited = sorted(({q.facts.cite for q in questions} & known) | from_specs)
    if not cited and not any(cites(p) for p in [abstract, *written]):
        bib = None  # nothing cites: no empty "References" section
    texts["report.tex"] = (
        environment_jinja()
        .get_template("main.tex.j2")
        .render(
            doc=doc,
            title=settings.title,
            author=settings.author,
            profile=rs.profile,
            folder=rs.name,
            datasets=", ".join(dict.fromkeys(f"dataset {q.facts.dataset}" for q in questions)),
            generated=dt.date.today().isoformat(),
            questions=questions,
            abstract="prose/abstract.tex" if bundle else relative(abstract, report_dir),
            bibliography=bib.stem if bib else "",
            cited=cited,
            bibliography_style=Path(settings.bibliography_style).stem,
            environment=tables.environment(rs),
            verification=verification_context(rs, [q.id for q in questions]),
        )
    )
    return texts, files


def prose_paths(rs: ResultsSet, ids: list[str], prose_root: Path | None = None) -> dict[str, Path]:
    """The student's files of the paper's prose, written or not: label -> file
    (:func:`coursework.report.prose.paper_paths`)."""
    report_dir = rs.report_dir()
    return paper_paths(
        abstract_file(prose_root), {q: prose_dir(prose_root, q, report_dir) for q in ids}
    )


def render(
    rs: ResultsSet,
    prose_root: Path | None = None,
    settings: Settings | None = None,
) -> Path:
    """Write the report's ``.tex`` files, ``numbers.json`` and ``report-overleaf.zip`` (the
    same report as one folder that compiles with plain pdflatex); return the report folder.
    A ``\\result`` in the prose that ``numbers.tex`` does not define stops it first."""
    if not rs.aggregate(SUMMARY).exists():
        raise ReportError(
            f"{rs.aggregate(SUMMARY)} does "
            f"not exist: run experiments first (make quick, or make QUESTION "
            f"PROFILE={rs.profile})"
        )
    settings = settings or read_settings()
    questions = chosen_questions(rs, settings)
    report_dir = rs.report_dir()
    texts, files = report_texts(rs, questions, settings, prose_root)
    check_results(prose_paths(rs, [q.id for q in questions], prose_root), questions)
    for name, text in texts.items():
        storage.write_text(report_dir / name, text)
    for name, source in files.items():
        storage.write_bytes(report_dir / name, source.read_bytes())
    clear_sources(rs, {*texts, *files})
    storage.write_json(
        report_dir / NUMBERS,
        {
            "schema_version": SCHEMA_VERSION,
            "title": settings.title,
            "author": settings.author,
            "questions": [q.to_json() for q in questions],
        },
    )
    texts, files = report_texts(rs, questions, settings, prose_root, bundle=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in texts.items():
            z.writestr(name, text)
        for name, source in files.items():
            z.write(source, name)
    storage.write_bytes(report_dir / OVERLEAF, buf.getvalue())
    return report_dir


SOURCES = (".tex", ".sty", ".cls", ".clo", ".cfg", ".def", ".bib", ".bst")  # what render writes


def clear_sources(rs: ResultsSet, written: set[str]) -> None:
    """Remove the report's sources that this render did not write: those of questions an
    earlier paper had (``skip.tex`` after ``QUESTIONS="conv"``), a class no longer used. Left,
    they were handed in beside the paper, as if part of it."""
    for path in rs.report_files():
        if path.suffix in SOURCES and path.name not in written:
            path.unlink()


def build(
    rs: ResultsSet,
    prose_root: Path | None = None,
    settings: Settings | None = None,
) -> Path:
    """Render, compile; say whether the body fits the page limit, and what is unwritten."""
    settings = settings or read_settings()
    report_dir = render(rs, prose_root, settings)
    ids = built(rs)
    pdf = compile_pdf(report_dir)
    if pdf is not None:
        print(
            check_budget(
                page_budget(report_dir / "build" / "report.aux", ids),
                settings.page_limit,
                settings.source.name,
            )
        )
        for problem in layout(report_dir / "build"):
            print(f"report layout: {problem}")
    paths = prose_paths(rs, ids, prose_root)
    for line in unwritten_lines(
        unwritten(settings.author, read_texts(paths), ids),
        paths,
        settings.author,
        settings.source,
        "unwritten (the paper builds without them; write them before you hand in):",
    ):
        print(line)
    return report_dir / "report.tex" if pdf is None else pdf
