"""Plots and the PDF report, built from results files alone."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from coursework.analysis import display, tables
from coursework.commands import cli
from coursework.records import errors, results, storage
from coursework.records.errors import ReportError
from coursework.records.layout import ResultsSet
from coursework.report import latex, prose, sources
from coursework.report import render as report
from coursework.report.plots import all_figures
from coursework.report.settings import PLACEHOLDER_AUTHOR, SETTINGS_FILE, read_settings
from tests.helpers import needs_tex, run_cli, write_spec

NASTY_RUN = "a&b_%$#{}~^\\"


def pdf_text(pdf: Path) -> str:
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return re.sub(r"\s+", " ", text.replace("-\n", ""))


@pytest.fixture(scope="module")
def toy_results(tmp_path_factory, tiny_npz):
    tmp = tmp_path_factory.mktemp("report")
    spec = write_spec(
        tmp,
        f"""
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
    """,
    )
    res = tmp / "results"
    assert cli.main(["--results", str(res), "run", str(spec)]) == 0
    return res, tmp


@pytest.mark.slow
def test_figures_are_written(toy_results):
    res, _ = toy_results
    paths = all_figures(ResultsSet(res, "quick")).paths
    names = {p.name for p in paths}
    for kind in ("curves", "comparison", "confusion", "errors", "filters"):
        assert f"toy-{kind}.pdf" in names and f"toy-{kind}.png" in names
    assert all(p.stat().st_size > 1000 for p in paths)


def test_escape_filter():
    assert latex.tex(NASTY_RUN) == (
        r"a\&b\_\%\$\#\{\}\textasciitilde{}\textasciicircum{}"
        r"\textbackslash{}"
    )


def test_unicode_becomes_latex_any_style_compiles_or_one_error_names_field_and_character(tmp_path):
    assert latex.tex("α-β, café, naïve, Ω") == (
        r"\ensuremath{\alpha}-\ensuremath{\beta}, caf\'{e}"
        r", na\"{\i{}}ve, \ensuremath{\Omega}"
    )
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
    all_figures(ResultsSet(res, "quick"))
    prose = tmp / "prose"
    pdf = report.build(ResultsSet(res, "quick"), prose)
    assert pdf.name == "report.pdf" and pdf.exists()
    text = pdf_text(pdf)
    assert "Does 50% of a $5 net_work?" in text
    assert "\\input{/etc/passwd}" in text  # shown as text, never executed
    assert "root:" not in text
    assert NASTY_RUN in text
    rows = storage.read_csv(res / "quick" / "summary.csv")
    digits = display.run_decimals(results.load_question(ResultsSet(res, "quick"), "toy"))
    assert digits == 1  # 200 test images: one is 0.5 %, so one decimal
    for row in rows:
        assert f"{100 * float(row['test_accuracy']):.{digits}f}" in text, row
    numbers = (res / "quick" / "report" / "numbers.tex").read_text()
    assert "\\cwset{toy/fc}{test}" in numbers


@pytest.mark.slow  # trains (toy_results)
@needs_tex
def test_prose_edits_survive_and_show(toy_results):
    res, tmp = toy_results
    prose = tmp / "prose2"
    report.build(ResultsSet(res, "quick"), prose)
    discussion = prose / "toy" / "discussion.tex"
    assert "never overwritten" in discussion.read_text()
    discussion.write_text("My own conclusion: the conv net wins by \\result{toy/fc}{test} points.")
    pdf = report.build(ResultsSet(res, "quick"), prose)
    assert discussion.read_text().startswith("My own conclusion")
    text = pdf_text(pdf)
    assert "My own conclusion: the conv net wins by" in text
    assert "??" not in text


@pytest.mark.slow  # trains (toy_results)
@needs_tex
def test_latex_error_shows_the_offending_line(toy_results):
    res, tmp = toy_results
    prose = tmp / "prose3"
    report.render(ResultsSet(res, "quick"), prose)
    (prose / "toy" / "motivation.tex").write_text("Broken \\undefinedcommand here.\n")
    with pytest.raises(errors.ReportError) as exc:
        report.build(ResultsSet(res, "quick"), prose)
    msg = str(exc.value)
    assert "Undefined control sequence" in msg and len(msg.splitlines()) < 30


@pytest.mark.slow  # trains (toy_results)
def test_a_result_of_no_run_stops_the_report_with_file_line_and_nearest_name(
    toy_results, tmp_path, capsys
):
    """`make report` on a prose file with \\result{toy/fcc}{test} (no such run): one error
    naming the file, the line and the nearest run, before anything is compiled; the guide's
    examples in comments, and \\% (no comment), are read as LaTeX reads them."""
    res = tmp_path / "results"
    shutil.copytree(toy_results[0], res, ignore=shutil.ignore_patterns("report"))
    folder = res / "quick" / "report" / "prose" / "toy"  # the CLI's place for toy's prose
    folder.mkdir(parents=True)
    (folder / "discussion.tex").write_text(
        "% in a comment \\result{toy/gone}{test} is no macro\n"
        "The fc run reached \\result{toy/fc}{test}\\% % and \\result{toy/nope}{x} is a comment\n"
        "while the other \\result{toy/fcc}{test} did not.\n"
    )
    settings = tmp_path / "report.toml"
    settings.write_text('title = "T"\nauthor = "Ada Lovelace (s0000001)"\n')
    assert run_cli("--results", res, "report", "--settings", settings) == 2
    err = capsys.readouterr().err
    assert err.count("error: ") == 1 and len(err.strip().splitlines()) == 1, err
    assert (
        f"{folder / 'discussion.tex'}:3: \\result{{toy/fcc}}{{test}}: no run 'fcc' in toy "
        "(did you mean toy/fc? runs: toy/fc, toy/ab)" in err
    ), err
    assert not (res / "quick" / "report" / "report.tex").exists()  # stopped before writing


@pytest.mark.slow  # trains (toy_results)
def test_result_names_are_exactly_the_macros_of_numbers_tex(toy_results):
    """What \\result accepts is what numbers.tex defines (keys made by macro_key: the run
    'a&b_%$#{}~^\\\\' is toy/ab); each wrong question, run, field or shape is named with the
    nearest valid name, several at once."""
    res, _ = toy_results
    questions = tables.numbers(ResultsSet(res, "quick"))
    defined = re.findall(r"\\cwset\{([^}]*)\}\{([^}]*)\}", sources.numbers_tex(questions))
    assert ("toy/ab", "test") in defined and len(defined) >= 16
    every = "\n".join(f"\\result{{{key}}}{{{field}}}" for key, field in defined)
    assert prose.unresolved({"a.tex": every}, questions) == []
    good = "\\result{toy/fc}{test} \\result {toy/ab}\n{testsd} \\result{toy/fc}{seeds}"
    assert prose.unresolved({"a.tex": good}, questions) == []
    bad = (
        "\\result{toy/fc}{tset}\n\\result{tyo/fc}{test}\n\\result{fc}{test}\n"
        "\\result{toy/fc}\n\\result{toy/fc}{Test}\n\\result{toy/fc/seed-0}{test}\n"
        "\\result{toy/fc}{mean}\n"
    )
    problems = prose.unresolved({"a.tex": bad}, questions)
    assert [line for _, line, _ in problems] == [1, 2, 3, 4, 5, 6, 7]
    said = [msg for _, _, msg in problems]
    assert "no field 'tset' for toy/fc (did you mean test? fields: test, testsd" in said[0]
    assert "no question 'tyo' in this report (did you mean toy/fc? questions: toy;" in said[1]
    assert "did you mean toy/fc?" in said[2]
    assert "\\result wants two arguments" in said[3]
    assert "no field 'Test' for toy/fc (did you mean test?" in said[4]  # exactly, as LaTeX
    assert "no run 'fc/seed-0' in toy (did you mean toy/fc?" in said[5]
    assert "no field 'mean' for toy/fc (did you mean test?" in said[6]  # its mean over seeds


def test_a_misspelled_report_toml_key_gets_the_nearest_known_one(tmp_path):
    path = tmp_path / "report.toml"
    path.write_text("page_limt = 5\n")
    with pytest.raises(ReportError) as err:
        read_settings(path)
    assert str(path) in str(err.value) and "did you mean `page_limit`?" in str(err.value)
    path.write_text("authr = 'A'\n")
    with pytest.raises(ReportError, match="did you mean `author`"):
        read_settings(path)


def test_the_shipped_report_toml_author_is_the_placeholder_the_checks_know():
    if not as_shipped(SETTINGS_FILE):
        pytest.skip("report.toml was changed here (a student's clone): the template's is checked")
    assert read_settings(SETTINGS_FILE).author == PLACEHOLDER_AUTHOR


def as_shipped(path: Path) -> bool:
    """Whether ``path`` is the template's as shipped: unchanged since a commit by the
    template's own authors (those of its first commit), not edited by a student."""

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=path.parent, capture_output=True, text=True)

    root = git("rev-list", "--max-parents=0", "HEAD").stdout.split()
    if not root or git("diff", "--quiet", "HEAD", "--", path.name).returncode != 0:
        return False
    first = git("log", "-1", "--format=%ae", root[-1]).stdout.strip()
    return git("log", "-1", "--format=%ae", "--", path.name).stdout.strip() == first


@pytest.mark.slow  # trains (toy_results)
@needs_tex
def test_unwritten_prose_and_a_placeholder_author_still_build_and_are_listed(
    toy_results, tmp_path, capsys
):
    """The paper builds with the guides' "not written yet" in it (students write last), and
    `make report` lists each unwritten part, one line naming its file."""
    res, _ = toy_results
    root = tmp_path / "prose"
    (root / "toy").mkdir(parents=True)
    (root / "toy" / "discussion.tex").write_text("% my notes\nWritten: fc wins.\n")
    settings = tmp_path / "report.toml"
    settings.write_text(f'author = "{PLACEHOLDER_AUTHOR}"\n')
    pdf = report.build(ResultsSet(res, "quick"), root, read_settings(settings))
    assert pdf.name == "report.pdf"
    out = capsys.readouterr().out
    lines = out[out.index("unwritten") :].splitlines()
    assert f'  author: {settings} (still "{PLACEHOLDER_AUTHOR}")' in lines, out
    assert f"  abstract: {root / 'abstract.tex'}" in lines
    assert f"  toy/motivation: {root / 'toy' / 'motivation.tex'}" in lines
    assert "toy/discussion" not in out
    texts = {
        "abstract": (root / "abstract.tex").read_text(),
        "toy/discussion": "",
        "toy/motivation": "% only a comment\n",
    }
    assert prose.unwritten("Ada", texts, ["toy"]) == [
        "abstract",
        "toy/motivation",
        "toy/discussion",
    ]
