"""The student's prose: per question ``motivation.tex`` and ``discussion.tex`` (and, if the
student writes them, ``research_question.tex`` and ``hypothesis.tex``, which replace the
spec's), and the ``abstract.tex``, under ``report_templates/prose/``; each created once with a
guide to what to write, and never overwritten."""

from __future__ import annotations

from pathlib import Path

from coursework.analysis import tables
from coursework.records import spec
from coursework.records.project import REPORT_TEMPLATES
from coursework.report.latex import tex

PROSE = REPORT_TEMPLATES / "prose"

PROSE_GUIDE = {
    "motivation": """%% Motivation for "{title}" -- written by you; never overwritten.
%% Say why this question matters, what you expect and why, and why each run was chosen:
%% what does each run isolate? Cite the figures and numbers with macros from numbers.tex, e.g.
%% \\result{{{q}/{run}}}{{test}} (mean test accuracy, %) or \\result{{{q}/{run}}}{{testsd}}.
%% Cite papers with \\cite{{key}}, keys from report_templates/references.bib: \\cite{{nielsen2015}}.
%% The research question and hypothesis come from experiments/{q}.toml; to put them in your own
%% words, write them in research_question.tex and hypothesis.tex in this folder.
\\textit{{(Motivation not written yet: edit report\\_templates/prose/{q_tex}/motivation.tex.)}}
""",
    "discussion": """%% Discussion and conclusions for "{title}" -- yours; never overwritten.
%% What do the results show? Is each difference larger than the spread over seeds? Does the
%% evidence support the hypothesis? What would you try next?
%% Numbers: \\result{{{q}/{run}}}{{test}}; papers: \\cite{{nielsen2015}} (references.bib).
\\textit{{(Discussion not written yet: edit report\\_templates/prose/{q_tex}/discussion.tex.)}}
""",
}
ABSTRACT_GUIDE = """%% Your abstract -- never overwritten. In a few sentences: the questions, how
%% you answered them, and what you found (with numbers: \\result{question/run}{test}).
%% Cite papers with \\cite{key}, keys from report_templates/references.bib: \\cite{nielsen2015}.
\\textit{(Abstract not written yet: edit report\\_templates/prose/abstract.tex.)}
"""


def write_once(path: Path, text: str) -> None:
    """Create a prose file with its guide; never touch one that exists."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def prose_folder(prose_root: Path | None, q: tables.QuestionNumbers, report_dir: Path) -> Path:
    """The folder of a question's prose files, each created with a guide if missing.

    With the default root (``report_templates/prose``) guides are written only for the
    project's own questions (``experiments/*.toml``); any other question's missing prose is a
    guide inside the report folder, so that no report writes into the source tree."""
    own = prose_root is not None or q.id in spec.all_questions()
    folder = (Path(prose_root) if prose_root is not None else PROSE) / q.id
    if not own and not folder.exists():
        folder = report_dir / "prose" / q.id
    first_run = q.tables["main"].rows[0].run
    for part, guide in PROSE_GUIDE.items():
        write_once(folder / f"{part}.tex", guide.format(
            title=q.title, q=tables.macro_key(q.id), run=tables.macro_key(first_run),
            q_tex=tex(q.id)))
    return folder
