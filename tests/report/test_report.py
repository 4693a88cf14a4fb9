"""Plots and the PDF report, built from results files alone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from coursework.commands import cli
from coursework.records import results
from coursework.records.errors import ReportError
from coursework.report import latex
from coursework.report import render as report
from coursework.report.plots import all_figures
from coursework.report.settings import read_settings
from tests.helpers import needs_tex, write_spec

NASTY_RUN = "a&b_%$#{}~^\\"


def pdf_text(pdf: Path) -> str:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    return re.sub(r"\s+", " ", text.replace("-\n", ""))


@pytest.fixture(scope="module")
def toy_results(tmp_path_factory, tiny_npz):
    tmp = tmp_path_factory.mktemp("report")
    spec = write_spec(tmp, f"""
        question = "toy"
        title = "Toy & friends"
        research_question = "Does 50% of a $5 net_work?"
        hypothesis = "Nothing from \\\\input{{/etc/passwd}} appears."
        builder = "conv:build"
        [defaults]
        dataset = "npz:{tiny_npz}"
        optimizer = "sgd"
        learning_rate = 0.1
        batch_size = 32
        epochs = 2
        seeds = [0, 1]
        [profiles.quick]
        [profiles.full]
        [[runs]]
        name = "fc"
        model = {{ conv_maps = [], hidden = [16] }}
        [[runs]]
        name = '{NASTY_RUN}'
        model = {{ conv_maps = [4], hidden = [16], activation = "relu" }}
    """)
    res = tmp / "results"
    assert cli.main(["--results", str(res), "run", str(spec)]) == 0
    return res, tmp


@pytest.mark.slow
def test_figures_are_written(toy_results):
    res, _ = toy_results
    paths = all_figures(res, "quick")
    names = {p.name for p in paths}
    for kind in ("curves", "comparison", "confusion", "errors", "filters"):
        assert f"toy-{kind}.pdf" in names and f"toy-{kind}.png" in names
    assert all(p.stat().st_size > 1000 for p in paths)


def test_escape_filter():
    assert latex.tex(NASTY_RUN) == (r"a\&b\_\%\$\#\{\}\textasciitilde{}\textasciicircum{}"
                                     r"\textbackslash{}")



def test_unicode_becomes_latex_any_style_compiles_or_one_error_names_field_and_character(
        tmp_path):
    assert latex.tex("α-β, café, naïve, Ω") == (r"\ensuremath{\alpha}-\ensuremath{\beta}, caf\'{e}"
                                                r", na\"{\i{}}ve, \ensuremath{\Omega}")
    assert latex.tex("Łódź – ≤ 5 µm") == r"\L{}\'{o}d\'{z} -- \ensuremath{\leq} 5 \ensuremath{\mu}m"
    path = tmp_path / "report.toml"
    path.write_text('title = "Ok"\nauthor = "Name ツ"\n')
    with pytest.raises(ReportError) as err:
        read_settings(path)
    msg = str(err.value)
    assert str(path) in msg and "'author'" in msg and "U+30C4" in msg and "ツ" in msg

@pytest.mark.slow
@needs_tex
def test_pdf_has_questions_and_every_test_accuracy_escaped_safely(toy_results):
    res, tmp = toy_results
    all_figures(res, "quick")
    prose = tmp / "prose"
    pdf = report.build(res, "quick", prose)
    assert pdf.name == "report.pdf" and pdf.exists()
    text = pdf_text(pdf)
    assert "Does 50% of a $5 net_work?" in text
    assert "\\input{/etc/passwd}" in text  # shown as text, never executed
    assert "root:" not in text
    assert NASTY_RUN in text
    for row in results.read_csv(res / "quick" / "summary.csv"):
        assert f"{100 * float(row['test_accuracy']):.2f}" in text, row
    numbers = (res / "quick" / "report" / "numbers.tex").read_text()
    assert "\\cwset{toy/fc}{test}" in numbers


@needs_tex
def test_prose_edits_survive_and_show(toy_results):
    res, tmp = toy_results
    prose = tmp / "prose2"
    report.build(res, "quick", prose)
    discussion = prose / "toy" / "discussion.tex"
    assert "never overwritten" in discussion.read_text()
    discussion.write_text("My own conclusion: the conv net wins by \\result{toy/fc}{test} points.")
    pdf = report.build(res, "quick", prose)
    assert discussion.read_text().startswith("My own conclusion")
    text = pdf_text(pdf)
    assert "My own conclusion: the conv net wins by" in text
    assert "??" not in text


@needs_tex
def test_latex_error_shows_the_offending_line(toy_results):
    res, tmp = toy_results
    prose = tmp / "prose3"
    report.render(res, "quick", prose)
    (prose / "toy" / "motivation.tex").write_text("Broken \\undefinedcommand here.\n")
    with pytest.raises(report.ReportError) as exc:
        report.build(res, "quick", prose)
    msg = str(exc.value)
    assert "Undefined control sequence" in msg and len(msg.splitlines()) < 30
