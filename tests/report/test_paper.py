"""The paper a student hands in: chosen questions within the page limit, the rest in an
appendix, a course's own class, honest statistics, the Overleaf bundle and the submission."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from coursework.analysis import stats, stats_table
from coursework.commands import cli
from coursework.records import storage
from coursework.records.layout import ResultsSet
from coursework.report import render as report
from coursework.report.figstyle import COLUMN, SMALLEST
from coursework.report.plots import all_figures
from coursework.report.settings import PLACEHOLDER_AUTHOR, read_settings
from coursework.runtime import backend
from tests.helpers import copied, needs_tex

pytestmark = pytest.mark.slow  # builds LaTeX papers from trained results

ROOT = Path(__file__).resolve().parents[2]
PAPER = ["regularisation", "conv", "augmentation"]


def appendix_page(aux: Path) -> int:
    """The page the appendix starts on, from LaTeX's own label in the .aux file."""
    m = re.search(r"\\newlabel\{appendix\}\{\{[^}]*\}\{(\d+)\}", aux.read_text())
    assert m, "no appendix label in the .aux file"
    return int(m.group(1))


def pdf_pages(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", out).group(1))


@pytest.fixture(scope="module")
def toy(tmp_path_factory, trained_results):
    """Two toy questions with three seeds (the session's trained set), figures drawn."""
    tmp = tmp_path_factory.mktemp("paper")
    res = copied(trained_results, tmp / "results")
    all_figures(ResultsSet(res, "quick"))
    return res, tmp


@needs_tex
@pytest.mark.long  # two minutes: make test TESTS="-m long" (CI leaves it out)
@pytest.mark.skipif(
    backend.current() != "tensorflow",
    reason="trains three real questions: run once, in the TensorFlow pass",
)
def test_three_questions_fit_six_pages_and_the_appendix_holds_the_rest(tmp_path):
    res = tmp_path / "results"
    assert cli.main(["--results", str(res), "run", *PAPER, "--seeds", "0"]) == 0
    assert cli.main(["--results", str(res), "plots"]) == 0
    assert cli.main(["--results", str(res), "report", "--questions", " ".join(PAPER)]) == 0
    rdir = res / "quick/report"
    start = appendix_page(rdir / "build/report.aux")
    assert start - 1 <= 6  # the body: every page before the appendix
    assert pdf_pages(rdir / "report.pdf") > start  # the appendix holds the rest
    body = subprocess.run(
        ["pdftotext", "-l", str(start - 1), str(rdir / "report.pdf"), "-"],
        capture_output=True,
        text=True,
    ).stdout
    assert [
        t for t in ("Regularisation", "Convolutional layers", "Data augmentation") if t not in body
    ] == []
    assert "Activation" not in body and "Depth" not in body  # only the chosen questions


@needs_tex
def test_a_course_class_given_by_path_is_used(toy, tmp_path):
    res, _ = toy
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "mycourse.cls").write_text(r"""
\NeedsTeXFormat{LaTeX2e}
\ProvidesClass{mycourse}[2026/01/01 a course's own class]
\LoadClass[10pt]{article}
\RequirePackage[a4paper,margin=2cm]{geometry}
\AtBeginDocument{\noindent MYCOURSE CLASS IN USE\par}
""")
    settings = tmp_path / "report.toml"
    settings.write_text('title = "With a course class"\nclass = "course/mycourse.cls"\n')
    assert cli.main(["--results", str(res), "report", "--settings", str(settings)]) == 0
    rdir = res / "quick/report"
    assert "\\documentclass{mycourse}" in (rdir / "report.tex").read_text()
    text = subprocess.run(
        ["pdftotext", str(rdir / "report.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "MYCOURSE CLASS IN USE" in text and "With a course class" in text
    assert "mycourse.cls" in zipfile.ZipFile(rdir / report.OVERLEAF).namelist()
    # one column here: the figures are drawn for a column and printed at 0.6 of the text
    assert "\\cwfigwidth" in (rdir / "toy.tex").read_text()


@needs_tex
def test_a_course_style_folder_and_a_unicode_title_build_here_and_on_overleaf(toy, tmp_path):
    """A course style is a folder: its .sty loads a sibling .sty (a course's own algorithm.sty,
    which TeX Live also has: the course's copy must win); Greek letters and accents in
    report.toml build under it, in the report and in the Overleaf zip alone."""
    res, _ = toy
    course = tmp_path / "course"
    (course / "logos").mkdir(parents=True)
    (course / "mlpcw.sty").write_text(r"""\NeedsTeXFormat{LaTeX2e}
\ProvidesPackage{mlpcw}[2026/01/01 a course style]
\RequirePackage{algorithm,graphicx} % algorithm.sty: shipped beside this file
\input{mlpcw-defs}
% \RequirePackage{not-loaded}: a comment
""")
    (course / "algorithm.sty").write_text(r"""\ProvidesPackage{algorithm}[2026/01/01 course copy]
\AtEndDocument{\par COURSE ALGORITHM STY IN USE}
""")
    (course / "mlpcw-defs.tex").write_text(r"\AtBeginDocument{\noindent COURSE DEFS\par}" "\n")
    (course / "not-loaded.sty").write_text("this is never copied\n")
    settings = tmp_path / "report.toml"
    settings.write_text(
        'title = "Dropout: α, β and Ω, a naïve café"\n'
        'author = "Zoë Ørsted – Łódź"\nstyle_file = "course/mlpcw.sty"\n'
    )
    assert cli.main(["--results", str(res), "report", "--settings", str(settings)]) == 0
    rdir = res / "quick/report"
    text = subprocess.run(
        ["pdftotext", str(rdir / "report.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "COURSE ALGORITHM STY IN USE" in text and "COURSE DEFS" in text
    assert "Dropout" in text and "Orsted" in text.replace("Ø", "O")
    names = zipfile.ZipFile(rdir / report.OVERLEAF).namelist()
    assert {"mlpcw.sty", "algorithm.sty", "mlpcw-defs.tex"} <= set(names)
    assert "not-loaded.sty" not in names
    overleaf = tmp_path / "overleaf"
    zipfile.ZipFile(rdir / report.OVERLEAF).extractall(overleaf)
    proc = subprocess.run(
        [
            "latexmk",
            "-pdf",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-no-shell-escape",
            "report.tex",
        ],
        cwd=overleaf,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (
        "COURSE ALGORITHM STY IN USE"
        in subprocess.run(
            ["pdftotext", str(overleaf / "report.pdf"), "-"], capture_output=True, text=True
        ).stdout
    )


@needs_tex
def test_the_shipped_bibliography_cites_and_your_own_research_question_replaces_the_spec(
    toy, tmp_path
):
    """report.toml's default references.bib: \\cite{nielsen2015} in a prose file builds, in
    the report and in the Overleaf zip; research_question.tex replaces the spec's words. With
    nothing cited there is no empty reference list."""
    res, _ = toy
    prose = tmp_path / "prose"
    (prose / "toy").mkdir(parents=True)
    (prose / "toy" / "motivation.tex").write_text(
        "% \\cite{in-a-comment} is no citation\nAs in \\cite{nielsen2015}, conv nets win.\n"
    )
    (prose / "toy" / "research_question.tex").write_text("MY OWN QUESTION, in my words?\n")
    settings = tmp_path / "report.toml"
    settings.write_text(f'bibliography = "{ROOT / "report_templates/references.bib"}"\n')
    pdf = report.build(ResultsSet(res, "quick"), prose_root=prose, settings=read_settings(settings))
    text = " ".join(
        subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split()
    )
    assert "Neural Networks and Deep Learning" in text and "References" in text
    assert "[1]" in text and "[?]" not in text
    assert "MY OWN QUESTION, in my words?" in text
    assert text.count("Does the pipeline work?") == 1  # toyb's, from its spec; not toy's
    folder = tmp_path / "overleaf"
    zipfile.ZipFile(pdf.parent / report.OVERLEAF).extractall(folder)
    proc = subprocess.run(
        [
            "latexmk",
            "-pdf",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-no-shell-escape",
            "report.tex",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    again = " ".join(
        subprocess.run(
            ["pdftotext", str(folder / "report.pdf"), "-"], capture_output=True, text=True
        ).stdout.split()
    )
    assert "Neural Networks and Deep Learning" in again and "MY OWN QUESTION" in again
    # nothing cited: no bibliography at all (an empty one prints a bare "References")
    (prose / "toy" / "motivation.tex").write_text("No citation here.\n")
    pdf = report.build(ResultsSet(res, "quick"), prose_root=prose, settings=read_settings(settings))
    assert "\\bibliography{" not in (pdf.parent / "report.tex").read_text()


@needs_tex
def test_overleaf_zip_compiles_with_plain_pdflatex_anywhere(toy, tmp_path):
    res, tmp = toy
    report.render(ResultsSet(res, "quick"), prose_root=tmp / "prose")
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(res / "quick/report" / report.OVERLEAF) as z:
        names = z.namelist()
        z.extractall(folder)
    assert "report.tex" in names and any(n.startswith("figures/") for n in names)
    assert not [n for n in names if n.startswith("/") or ".." in n]
    for _ in range(2):  # twice: references
        proc = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "report.tex"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout[-2000:]
    assert (folder / "report.pdf").stat().st_size > 10_000


@needs_tex
def test_over_the_page_limit_says_by_how_much_and_where(toy, tmp_path, capsys):
    res, tmp = toy
    settings = tmp_path / "report.toml"
    settings.write_text("page_limit = 1\n")
    assert cli.main(["--results", str(res), "report", "--settings", str(settings)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"the paper is \d+ pages before the appendix, \d+ over the limit of 1", out)
    assert "longest sections: toy" in out
    assert (res / "quick/report/report.pdf").exists()  # the PDF is still written


def test_without_tex_the_tex_and_the_overleaf_zip_are_written(toy, monkeypatch, capsys):
    res, tmp = toy
    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = report.build(ResultsSet(res, "quick"), prose_root=tmp / "prose")
    assert out.name == "report.tex" and out.exists()
    assert (res / "quick/report" / report.OVERLEAF).exists()
    printed = capsys.readouterr().out
    assert "LaTeX is not installed" in printed and "apt-get install" in printed


def test_bad_report_settings_name_the_file_and_field(toy, tmp_path, capsys):
    res, _ = toy
    settings = tmp_path / "report.toml"
    for text, field in (
        ('style = "poster"\n', "style"),
        ('page_limit = "six"\n', "page_limit"),
        ('questions = ["nope"]\n', "questions"),
        ("colour = 1\n", "colour"),
        ('class = "missing.cls"\n', "class"),
    ):
        settings.write_text(text)
        assert cli.main(["--results", str(res), "report", "--settings", str(settings)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and str(settings) in err and field in err, err


def test_submission_has_pdf_code_and_csvs_but_no_weights(toy, tmp_path):
    res, tmp = toy
    rdir = res / "quick/report"
    rdir.mkdir(parents=True, exist_ok=True)
    (rdir / "report.pdf").write_bytes(b"%PDF-1.5 stand-in")
    assert list((res / "quick/toy/fc/seed-0").glob("*.keras"))  # there are weights to leave
    out = tmp_path / "submission"
    assert cli.main(["--results", str(res), "submission", "--out", str(out), "--no-notebook"]) == 0
    names = zipfile.ZipFile(tmp_path / "submission.zip").namelist()
    assert "submission/report.pdf" in names and "submission/LISTING.txt" in names
    assert "submission/code/coursework/engine/seed_run.py" in names
    assert "submission/results/quick/toy/fc/seed-2/history.csv" in names
    assert "submission/results/quick/stats.csv" in names
    assert not [n for n in names if n.endswith((".h5", ".keras"))]
    # a results folder without weights: the records, predictions, specs, manifest, report
    for name in (
        "toy/fc/seed-0/run.json",
        "toy/fc/seed-0/predictions.npz",
        "toy/spec.toml",
        "MANIFEST.json",
        "report/report.pdf",
    ):
        assert f"submission/results/quick/{name}" in names, name
    assert not [n for n in names if n.endswith(".npz") and "/results/" not in n]
    assert (out / "LISTING.txt").read_text().count("\n") == len(names)  # a header, no self
    about = json.loads((out / "SUBMISSION.json").read_text())
    assert about["results_set"] == "quick" and len(about["code_sha256"]) == 64
    assert about["git"]["history"][0] == about["git"]["commit"]


def test_submission_lists_what_is_unwritten_in_the_report_it_hands_in(toy, tmp_path, capsys):
    """A placeholder author and the guides' "not written yet" go in (a note, not a refusal),
    and `make submission` lists them, one line each naming the file to edit: as the handed-in
    report has them (its Overleaf sources), not as the files are now."""
    res, _ = toy
    root = tmp_path / "prose"
    (root / "toy").mkdir(parents=True)
    (root / "toy" / "motivation.tex").write_text("Written before the report was built.\n")
    settings = tmp_path / "report.toml"
    settings.write_text(f'author = "{PLACEHOLDER_AUTHOR}"\n')
    report.render(ResultsSet(res, "quick"), root, read_settings(settings))
    (root / "toy" / "discussion.tex").write_text("Written after it: not handed in.\n")
    (res / "quick/report/report.pdf").write_bytes(b"%PDF-1.5 stand-in")
    capsys.readouterr()
    assert (
        cli.main(
            [
                "--results",
                str(res),
                "submission",
                "--out",
                str(tmp_path / "submission"),
                "--no-notebook",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    listed = {
        line.split(":")[0].strip(): line for line in out.splitlines() if line.startswith("  ")
    }
    assert set(listed) == {
        "author",
        "abstract",
        "toy/discussion",
        "toyb/motivation",
        "toyb/discussion",
    }, out
    assert "report.toml" in listed["author"] and PLACEHOLDER_AUTHOR in listed["author"]
    assert listed["toyb/discussion"].endswith("toyb/discussion.tex")
    assert (tmp_path / "submission.zip").exists()


def test_intervals_stay_within_0_100_and_few_seeds_get_no_test():
    wide = stats.summarise([0.999, 0.5, 0.999], (0.0, 1.0))
    assert 0.0 <= wide["ci95_low"] and wide["ci95_high"] <= 1.0
    rows = stats.question_rows("q", {"base": [0.90, 0.91], "other": [0.95, 0.96]})
    assert all(r["ci95_low"] is None and r["p_value"] is None for r in rows)
    assert "need 3" in rows[1]["note"]
    table, sentence = stats_table.stats_table(
        [{k: storage.fmt(v) for k, v in r.items()} for r in rows]
    )
    assert table[1]["ci"] == "-" and table[1]["p"] == "-"
    assert sentence == ""  # no paragraph on what was not tested: the main table's caption says


def test_zero_spread_is_handled_and_explained():
    both = stats.question_rows("q", {"base": [0.9, 0.9, 0.9], "same": [0.95, 0.95, 0.95]})
    assert both[1]["p_value"] is None and "no spread" in both[1]["note"]
    one = stats.question_rows("q", {"base": [0.9, 0.9, 0.9], "var": [0.93, 0.95, 0.94]})
    assert one[1]["p_value"] is not None and "no spread in base" in one[1]["note"]


def test_body_figures_are_drawn_at_column_width_with_legible_text(toy):
    res, _ = toy
    import matplotlib.pyplot as plt

    for kind in ("comparison", "val", "published"):
        path = res / "quick/figures" / f"toy-{kind}.pdf"
        if not path.exists():
            continue
        box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", path.read_bytes())
        assert float(box.group(1)) == pytest.approx(COLUMN * 72, abs=1), kind
    sizes = [
        plt.rcParams[k]
        for k in (
            "font.size",
            "axes.labelsize",
            "legend.fontsize",
            "xtick.labelsize",
            "ytick.labelsize",
        )
    ]
    assert min(float(s) for s in sizes) >= SMALLEST >= 7
    assert np.isclose(COLUMN, 3.25)
