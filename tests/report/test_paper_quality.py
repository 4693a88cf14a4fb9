"""The three-question paper a marker reads (regularisation, conv and batchnorm on the quick
profile; here on a small real MNIST sample, with some of conv's and batchnorm's runs, so that
it trains in a minute): every float in its section and before the references, no body page of
floats alone, no ``??``, no number with more digits than a paper prints, no body panel with
more than six curves, every citation of the spec texts resolved in the bibliography; and
what a reader would notice as generated: a caption that disagrees with its figure, a note
repeated down a column, one quantity in two notations, a "Results" paragraph that says
nothing of the numbers, a table number skipped."""

from __future__ import annotations

import math
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
    # make verify (one run re-trained), then the report again: its reproducibility appendix
    assert run_cli("--results", res, "verify", "--sample", "1", "--dataset", data) == 0
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


# --------------------------------------------------------------------------- reads as written


def pdf_text(report_dir) -> str:
    """The whole PDF's text in reading order (a column's text together, captions whole)."""
    return subprocess.run(
        ["pdftotext", str(report_dir / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def body_columns(report_dir) -> str:
    """The body's text column by column, page by page: a paragraph whole, as it is read."""
    pdf = report_dir / "report.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    pages = latex.page_budget(report_dir / "build" / "report.aux", list(QUESTIONS))["body_pages"]
    half = int(width / 2)
    crop = [("-x", x, "-y", 0, "-W", half, "-H", int(height) + 1) for x in (0, half)]
    return "\n".join(
        subprocess.run(
            ["pdftotext", "-f", str(p), "-l", str(p), *map(str, box), str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for p in range(1, pages + 1)
        for box in crop
    )


def squash(text: str) -> str:
    """Text without its spaces and line breaks, and without the hyphen that pdftotext drops
    where a word was broken at its hyphen (``l2-`` / ``tuned`` -> ``l2tuned``)."""
    return re.sub(r"-(?=[a-z])", "", re.sub(r"\s+", "", text))


def written(paper) -> list[dict]:
    _, _, report_dir = paper
    return storage.read_json(report_dir / "numbers.json")["questions"]


def figure_numbers(report_dir) -> dict[str, int]:
    """Figure label -> its number, from LaTeX's .aux."""
    aux = (report_dir / "build" / "report.aux").read_text()
    return {m[0]: int(m[1]) for m in re.findall(r"\\newlabel\{(fig:[^}]+)\}\{\{(\d+)\}", aux)}


def caption(text: str, number: int) -> str:
    m = re.search(rf"Figure {number}: (.*?)\n\n", text, re.S)
    assert m, f"no caption of Figure {number}"
    return " ".join(m.group(1).split())


def drawn_panels(made) -> list[list[str]]:
    """The runs of each panel of a drawn figure, top to bottom (a row's panels once)."""
    groups: list[list[str]] = []
    for ax in made.axes:
        runs = [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        if runs and (not groups or groups[-1] != runs):
            groups.append(runs)
    return groups


WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def test_each_caption_says_the_panels_drawn_and_which_runs_are_in_each(paper):
    res, results_set, report_dir = paper
    text, numbers = pdf_text(report_dir), figure_numbers(report_dir)
    figstyle.style()
    checked = []
    for q in QUESTIONS:
        for fig in plots.question_figures(ResultsSet(res, results_set), q):
            label = f"fig:{fig.name}"
            if label not in numbers or not fig.name.endswith(("-val", "-curves")):
                continue
            said, made = caption(text, numbers[label]), fig.draw()
            groups = drawn_panels(made)
            plt.close(made)
            stated = re.search(r"\b(\w+) (?:rows of )?panels\b", said)
            if len(groups) == 1:
                assert "panel" not in said, (fig.name, said)
            else:
                count = WORDS.get(stated[1], stated[1]) if stated else None
                assert count in (len(groups), str(len(groups))), (fig.name, len(groups), said)
                for group in groups:
                    assert squash(", ".join(group)) in squash(said), (fig.name, group, said)
            checked.append((fig.name, len(groups)))
    assert ("regularisation-val", 2) in checked and ("conv-val", 1) in checked, checked


def test_no_note_is_repeated_down_a_column(paper):
    _, _, report_dir = paper
    repeated = []
    for q in written(paper):
        for name in ("main", "results", "stats", "ensembles"):
            t = q["tables"][name]
            for i, column in enumerate(t["columns"][1:]):
                notes = [
                    r["cells"][i]
                    for r in t["rows"]
                    if len(re.findall(r"[A-Za-z]{2,}", r["cells"][i])) >= 3
                ]
                repeated += [(q["id"], name, column, n) for n in set(notes) if notes.count(n) > 1]
    assert repeated == [], repeated
    assert pdf_text(report_dir).count("too few seeds") <= len(QUESTIONS)


SETTING = re.compile(r"([ηλ]) = (-?[\d.]+(?:e-?\d+)?)(?: instead of (-?[\d.]+(?:e-?\d+)?))?")


def notations(texts) -> dict[str, dict[str, list[str]]]:
    """Symbol -> notation (fixed, scientific) -> the values written so."""
    out: dict[str, dict[str, list[str]]] = {}
    for text in texts:
        for symbol, *values in SETTING.findall(text):
            for v in filter(None, values):
                kind = "scientific" if "e" in v else "fixed" if "." in v else ""
                if kind:
                    out.setdefault(symbol, {}).setdefault(kind, []).append(v)
    return out


def test_each_quantity_is_written_in_one_notation(paper):
    _, _, report_dir = paper
    cells = [pdf_text(report_dir)]
    for q in written(paper):
        cells += list(q["facts"].values())
        for t in q["tables"].values():
            eta = t["columns"].index("η") - 1 if "η" in t["columns"] else None
            for r in t["rows"]:
                cells += [f"η = {c}" if i == eta else c for i, c in enumerate(r["cells"])]
    mixed = {s: kinds for s, kinds in notations(cells).items() if len(kinds) > 1}
    assert mixed == {}, mixed


def mean(cell: str) -> float:
    return float(cell.split("±")[0])


def test_each_results_paragraph_names_the_best_run_its_difference_and_what_the_seeds_allow(
    paper,
):
    _, _, report_dir = paper
    paragraphs = re.findall(r"Results\.(.*?)Discussion\.", body_columns(report_dir), re.S)
    assert len(paragraphs) == len(QUESTIONS), paragraphs
    for q, said in zip(written(paper), paragraphs, strict=True):
        base = q["facts"]["baseline"]
        rows = [r for r in q["tables"]["main"]["rows"] if r["run"] != base]
        best = max(rows, key=lambda r: mean(r["cells"][0]))
        delta = best["cells"][q["tables"]["main"]["columns"].index("Δ") - 1]
        assert squash(best["run"]) in squash(said), (q["id"], best["run"], said)
        assert squash(f"{delta} pp") in squash(said), (q["id"], delta, said)
        assert re.search(r"\b(\d+|one|two) seeds?\b", said) and (
            "Welch" in said or "no test" in said
        ), (q["id"], said)


def test_tables_are_numbered_one_two_three_without_a_gap(paper):
    _, _, report_dir = paper
    text = pdf_text(report_dir)
    assert "Reproducibility" in text  # make verify's appendix, with its tables
    numbers = sorted(int(n) for n in re.findall(r"^\f?Table (\d+):", text, re.M))
    assert numbers == list(range(1, len(numbers) + 1)), numbers


def test_the_tuning_axes_fit_the_completed_trials_and_the_filters_have_a_scale(paper):
    res, results_set, _ = paper
    figstyle.style()
    figs = {
        f.name: f
        for q in ("regularisation", "conv")
        for f in plots.question_figures(ResultsSet(res, results_set), q)
    }
    made = figs["regularisation-tuning"].draw()
    for ax in made.axes:
        done = [y for ln in ax.get_lines() if ln.get_marker() in ("o", "*") for y in ln.get_ydata()]
        done = [y for y in done if not math.isnan(y)]
        if not done:
            continue
        low, high = ax.get_ylim()
        every = [y for ln in ax.get_lines() for y in ln.get_ydata() if not math.isnan(y)]
        assert low <= min(done) and max(done) <= high, (ax.get_ylabel(), low, high, done)
        assert low >= min(done) - max(2.0, (max(done) - min(done)) / 2), (low, done)
        assert all(low <= y <= high for y in every), (ax.get_ylabel(), every)
    plt.close(made)
    made = figs["conv-filters"].draw()
    assert any(ax.get_label() == "<colorbar>" for ax in made.axes)
    plt.close(made)
