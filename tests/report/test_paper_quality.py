"""The three-question paper a marker reads (regularisation, conv and batchnorm on the quick
profile; here on a small real MNIST sample, with some of conv's and batchnorm's runs, so that
it trains in a minute): every float in its section and before the references, no body page of
floats alone, no ``??``, no number with more digits than a paper prints, no body panel with
more than six curves, every citation of the spec texts resolved in the bibliography."""

from __future__ import annotations

import re
import subprocess

import matplotlib.pyplot as plt
import pytest

from coursework.records import layout, storage
from coursework.records.layout import ResultsSet
from coursework.report import figstyle, latex, plots
from coursework.report.latex import spec_cites
from coursework.report.render import FIGURES, TEMPLATES
from coursework.runtime import backend
from tests.helpers import needs_tex, run_cli

QUESTIONS = ("regularisation", "conv", "batchnorm")
pytestmark = [
    pytest.mark.slow,
    needs_tex,
    pytest.mark.skipif(
        backend.current() != "tensorflow",
        reason="trains three questions: once, in the TensorFlow "
        "pass (the paper does not depend on the backend)",
    ),
]
NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


@pytest.fixture(scope="module")
def paper(tmp_path_factory, tiny_npz):
    tmp = tmp_path_factory.mktemp("paper")
    res, data = tmp / "results", f"npz:{tiny_npz}"
    settings = tmp / "report.toml"
    settings.write_text(
        f'title = "Three questions"\nauthor = "Ada Lovelace (s0000001)"\n'
        f"questions = {list(QUESTIONS)!r}\n"
        f'bibliography = "{TEMPLATES / "references.bib"}"\n'.replace("'", '"')
    )
    # regularisation whole (8 runs: two panels, tuned runs beside their siblings); of conv
    # and batchnorm the runs that show their deviations and citations, to keep it a minute
    assert run_cli("--results", res, "run", "regularisation", "--dataset", data) == 0
    for q, only in (("conv", "fc100,conv1"), ("batchnorm", "fc3,fc3-bn")):
        assert run_cli("--results", res, "run", q, "--only", only, "--dataset", data) == 0
    assert run_cli("--results", res, "report", "--dataset", data, "--settings", settings) == 0
    [results_set] = [s for s in layout.sets(res) if s.startswith("quick@")]
    return res, results_set, ResultsSet(res, results_set).report_dir()


def body_text(report_dir) -> str:
    pages = latex.page_budget(report_dir / "build" / "report.aux", list(QUESTIONS))["body_pages"]
    assert pages and pages >= 2
    return subprocess.run(
        ["pdftotext", "-l", str(pages), "-layout", str(report_dir / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def significant(number: str) -> int:
    digits = number.replace(",", "")
    if "." in digits:
        return len(digits.replace(".", "").lstrip("0"))
    return len(digits.strip("0")) or 1


def test_every_float_is_in_the_body_before_the_references_and_nothing_is_unresolved(paper):
    _, _, report_dir = paper
    assert latex.layout(report_dir / "build") == []
    assert "??" not in body_text(report_dir)


def test_no_number_in_the_body_has_more_than_four_significant_digits(paper):
    _, _, report_dir = paper
    text = body_text(report_dir)
    long = [
        n
        for n in NUMBER.findall(text)
        if significant(n) > 4 and not re.fullmatch(r"(19|20)\d\d", n)
    ]
    assert long == [], long[:10]
    assert "η = 0.09111" not in text and "λ = 0.0022030" not in text


def test_no_body_panel_shows_more_than_six_curves(paper):
    res, results_set, _ = paper
    body = {kind for kind, (_, _, where) in FIGURES.items() if where == "body"} | {"comparison"}
    figstyle.style()
    for q in QUESTIONS:
        for fig in plots.question_figures(ResultsSet(res, results_set), q):
            if fig.name.removeprefix(f"{q}-") not in body:
                continue
            made = fig.draw()
            if made is None:
                continue
            for ax in made.axes:
                curves = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
                assert len(curves) <= 6, (fig.name, [ln.get_label() for ln in curves])
            for legend in [*made.legends, *(a.get_legend() for a in made.axes)]:
                if legend is not None:
                    panels = max(1, len([a for a in made.axes if a.get_lines()]))
                    assert len(legend.get_texts()) <= 6 * panels, fig.name
            plt.close(made)


def test_every_citation_of_the_spec_texts_is_in_the_bibliography(paper):
    _, _, report_dir = paper
    bbl = (report_dir / "build" / "report.bbl").read_text()
    from coursework.records import spec

    keys = set()
    for q in QUESTIONS:
        s = spec.load(q, builders=False)
        texts = [s.research_question, s.hypothesis, *(r.description for r in s.resolve("quick"))]
        keys |= {k for t in texts for k in spec_cites(t)}
    assert {"ioffe2015", "nielsen2015"} <= keys
    for key in keys:
        assert f"\\bibitem{{{key}}}" in bbl, key
    assert "[@" not in body_text(report_dir)


def test_two_seeds_are_said_once_in_each_caption_and_the_profiles_changes_in_the_methods(paper):
    res, results_set, report_dir = paper
    written = storage.read_json(report_dir / "numbers.json")["questions"]
    for q in written:
        main = q["tables"]["main"]
        assert main["columns"] == ["Run", "Test", "Δ"], q["id"]
        assert "With 2 seeds per run there is no confidence interval" in main["caption"]
        assert "Not tested" not in q["facts"]["noise"]
    conv = next(q for q in written if q["id"] == "conv")
    assert "relu units instead of sigmoid" in conv["facts"]["deviations"]
    assert "4 epochs instead of 60" in conv["facts"]["deviations"]
    assert "relu units instead of sigmoid" in body_text(report_dir).replace("\n", " ")
