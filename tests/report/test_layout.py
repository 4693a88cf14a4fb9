"""What a reader sees wrong in a compiled paper's layout, as ``make report`` and ``mark`` say
it (coursework.report.latex.layout): a body page of floats alone, a float after the
references, an overfull line, an unresolved reference or citation; nothing for a clean one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coursework.report import latex
from coursework.report.render import TEMPLATES
from tests.helpers import needs_tex

pytestmark = needs_tex

FILLER = " ".join(
    [
        "The networks are trained with plain stochastic gradient descent and their "
        "accuracy is measured on the test split at the best validation epoch."
    ]
    * 12
)


def compiled(tmp_path: Path, body: str) -> Path:
    """``body`` in a two-column document with the template's cw.sty, compiled; its build
    folder."""
    shutil.copy(TEMPLATES / "cw.sty", tmp_path / "cw.sty")
    (tmp_path / "report.tex").write_text(
        "\\documentclass[twocolumn]{article}\n\\usepackage{cw}\n\\begin{document}\n"
        f"{body}\n\\cwappendix\nAppendix text.\n\\end{{document}}\n"
    )
    latex.compile_pdf(tmp_path)
    return tmp_path / "build"


def float_page(label: str) -> str:
    return (
        "\\begin{figure*}[p]\\centering\\rule{0.9\\textwidth}{0.8\\textheight}"
        f"\\caption{{A float.}}\\label{{{label}}}\\cwfloatmark{{{label}}}\\end{{figure*}}"
    )


def test_a_lone_float_page_a_late_float_an_overfull_line_and_unresolved_names_are_said(tmp_path):
    build = compiled(
        tmp_path,
        "\n\n".join(
            [
                "\\section{One}",
                f"See Figure~\\ref{{fig:nowhere}} and \\cite{{nobody}}. {FILLER}",
                "\\noindent\\hbox to 1.3\\columnwidth{A line that sticks out of its column\\hfil}",
                float_page("fig:alone"),
                FILLER,
                FILLER,
                float_page("fig:late"),
                "\\cwmark{references}",
                FILLER,
            ]
        ),
    )
    problems = latex.layout(build)
    assert any(p.startswith("page 2 holds only floats (fig:alone)") for p in problems), problems
    assert "1 float(s) after the references (fig:late)" in problems, problems
    assert any(p.startswith("1 overfull line(s)") and "report.tex" in p for p in problems), problems
    assert "unresolved references: fig:nowhere (page 1)" in problems
    assert "unresolved citations: nobody (page 1)" in problems


def test_a_clean_paper_has_nothing_to_say(tmp_path):
    build = compiled(
        tmp_path,
        "\n\n".join(
            [
                "\\section{One}",
                FILLER,
                "\\begin{figure}[!htb]\\centering\\rule{\\columnwidth}{2cm}"
                "\\caption{A figure.}\\label{fig:a}\\cwfloatmark{fig:a}\\end{figure}",
                f"Figure~\\ref{{fig:a}} shows it. {FILLER}",
                "\\cwmark{references}",
            ]
        ),
    )
    assert latex.layout(build) == []


@pytest.mark.parametrize("text", ["[@ioffe2015]", "see [@nielsen2015, chapter 3] and [@he2016]"])
def test_a_spec_texts_citations_become_cites_of_the_bibliography(text):
    out = latex.tex_cited(f"It fails {text}.")
    for key in latex.spec_cites(text):
        assert f"{{{key}}}{{{key}}}" in out and "\\cwcite" in out
    assert "[@" not in out
    if "chapter" in text:
        assert "\\cwcite[chapter 3]{nielsen2015}" in out
