"""The results page from the files alone: one row per run and seed, settings in words, no
request to anywhere, untrusted names shown as text (a ``</script>`` stays in its string),
strings and curves cut to size, the page in no manifest, the marking table's links. The
results here are written by hand (no training): the page reads only files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from coursework.analysis import manifest
from coursework.analysis.checks import Row, Verdict
from coursework.records import layout, storage
from coursework.records.layout import ResultsSet
from coursework.records.results import summary_rows
from coursework.report import page, page_html, questions
from coursework.verify import folders, marks_page, sheets
from coursework.verify.files import check_files
from tests.helpers import run_cli
from tests.recorded import NASTY, PAPER, RUNS, built, fake_set, paper_set

BLOB = re.compile(r'<script type="application/json" id="data">(.*?)</script>', re.S)


def blob(html: str) -> dict:
    """The page's data, as the browser reads it."""
    return json.loads(BLOB.search(html).group(1))


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[ResultsSet, str]:
    rs = fake_set(tmp_path_factory.mktemp("page") / "results")
    return rs, page_html.results_html(rs)


def test_one_row_per_run_and_seed_with_its_settings_in_words_and_verdict(made):
    rs, html = made
    data = blob(html)
    rows = {(r["run"], r["seed"]) for r in data["rows"]}
    assert rows == {(r["run"], r["seed"]) for r in summary_rows(rs)}
    assert len(data["rows"]) == len(data["curves"]) == sum(n for _, n in RUNS)
    fc = [r for r in data["rows"] if r["run"] == "fc"]
    assert [r["verify"] for r in fc] == ["ok", "MISMATCH"]
    assert fc[0]["settings"]["learning_rate"] == "η = 0.1"
    assert fc[0]["settings"]["model.hidden"] == "hidden [16]"
    curve = data["curves"][data["rows"].index(fc[0])]
    assert curve["val_accuracy"][-1] == pytest.approx(fc[0]["val"], abs=1e-4)
    (toy,) = data["questions"]
    assert sum(map(sum, toy["appendix"]["confusion"])) == 40
    assert len(toy["appendix"]["images"]) == 6
    assert toy["appendix"]["images"][0]["src"].startswith("data:image/png;base64,")
    (tuned,) = toy["studies"]
    assert [t["status"] for t in tuned["trials"]].count("pruned") == 1
    assert tuned["chosen"] == 4 and tuned["log"] == ["learning_rate"]
    assert data["provenance"]["manifest"].endswith(manifest.sha256(rs.aggregate("MANIFEST.json")))


def test_nothing_is_fetched_a_policy_forbids_it_and_no_script_has_a_source(made):
    _, html = made
    assert "default-src 'none'" in html.split("</head>")[0]
    outside = BLOB.sub("", html).split('id="plotly-gz">')[0]  # the page's own markup and code
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", outside, re.I)
    assert not re.search(r"<(link|iframe|object|embed)\b|@import|url\((?!data:)", outside, re.I)
    assert re.findall(r"<script\b[^>]*\bsrc\b", html) == []


def test_an_untrusted_run_name_stays_text_and_round_trips(made):
    _, html = made
    assert html.count("<script") == 4  # data, Plotly, table, page: none added by a name
    assert "</script><script>document" not in html and "\u2028" not in html
    assert NASTY in {r["run"] for r in blob(html)["rows"]}


def test_long_names_and_long_histories_are_cut_to_size(tmp_path):
    rs = fake_set(tmp_path / "r", runs=(("x" * 5000, 1), ("b", 1)), epochs=1500)
    data = page_html.page_data(rs)
    assert max(len(r["run"]) for r in data["rows"]) == page.TEXT_LIMIT
    assert all(len(c["epoch"]) <= page.MOST_EPOCHS + 1 for c in data["curves"])
    assert data["curves"][0]["epoch"][-1] == 1500  # the last epoch is always drawn
    assert len(page_html.results_html(rs)) < 2.5e6  # Plotly (1.96 MB) and the rest


def test_make_page_writes_the_page_outside_the_manifest_so_verify_still_passes(made, capsys):
    rs, _ = made
    assert run_cli("--results", rs.root, "page", "--profile", "quick") == 0
    assert f"page: {rs.page_file()}" in capsys.readouterr().out
    rows = check_files(rs, lambda run: True)
    assert rows and all(r.ok for r in rows) and layout.PAGE not in {r.file for r in rows}


def fake_sheet(marking: Path, name: str, failed: bool, page: bool) -> Path:
    """A marked submission's folder: its sheet and (``page``) its results page."""
    folder = marking / folders.folder_name(name)
    folder.mkdir(parents=True)
    verdict = Verdict.MISMATCH if failed else Verdict.OK
    rows = [Row("toy/fc", "0", "re-run", "history.csv", "1", "2" if failed else "1", verdict)]
    facts = {"author": f"<b>{name}</b>", "pages": "5", "code_changed": "2 files"}
    facts |= {"questions": "conv skip", "unwritten": "skip", "runs_by_handed_in_code": "4/4"}
    sheets.write_sheet(sheets.Sheet(name, "0" * 64, {"page_limit": 6}, rows, facts), folder)
    if page:
        (folder / sheets.RESULTS_PAGE).write_text("<!DOCTYPE html><title>results</title>")
    return folder


def test_the_marking_page_has_a_row_per_sheet_linking_its_sheet_and_results_page(tmp_path):
    marking = tmp_path / "marking"
    fake_sheet(marking, "ada.zip", failed=False, page=True)
    fake_sheet(marking, "bob </script>.zip", failed=True, page=False)
    html = (marks_page.write(marking)).read_text()
    assert 'plotly-gz"></script>' in html  # no Plotly on this page
    rows = {r["submission"]: r for r in blob(html)["rows"]}
    assert rows["ada.zip"]["sheet"] == "ada/sheet.md"
    assert rows["ada.zip"]["page"] == "ada/results.html"
    assert rows["bob </script>.zip"]["page"] is None
    assert rows["bob </script>.zip"]["verdict"] == "FAIL"
    assert "bob </script>" not in html


def test_the_lab_book_shows_the_page_inline_in_an_iframe_of_it(made):
    from coursework import lab

    rs, _ = made
    shown = lab.page(root=rs.root)._repr_html_()
    assert shown.startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;')
    inner = shown[len('<iframe srcdoc="') : shown.rindex('" style=')]
    assert "<" not in inner and '"' not in inner  # all of the page in the attribute
    assert rs.page_file().exists()


def test_the_page_shows_the_seed_the_pdfs_appendix_shows(made):
    """The confusion matrix is of the seed the appendix's figures are (drawings' choice)."""
    from coursework.records import results, spec
    from coursework.report import drawings

    rs, html = made
    runs = results.load_question(rs, "toy", spec.run_order(rs, "toy"))
    best = drawings.best_run(runs)
    top = max(runs[best], key=lambda s: s.metrics["test_accuracy"])
    (toy,) = blob(html)["questions"]
    assert (toy["appendix"]["run"], toy["appendix"]["seed"]) == (best, top.seed)


@pytest.mark.slow
def test_make_page_never_imports_matplotlib(made):
    """Seconds on a busy laptop: ``make page`` is quick without it."""
    rs, _ = made
    code = (
        "import sys; from coursework.commands import cli; "
        "assert cli.main(['--results', sys.argv[1], 'page', '--profile', 'quick']) == 0; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(rs.root)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-500:]


def test_without_plotly_make_page_is_one_error_and_make_report_a_note(made, monkeypatch, capsys):
    import builtins

    from coursework.commands import paper

    rs, _ = made
    real = builtins.__import__

    def no_plotly(name, *args, **kwargs):
        if name.startswith("plotly"):
            raise ImportError("No module named 'plotly'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_plotly)
    page_html.plotly_gz.cache_clear()
    try:
        assert run_cli("--results", rs.root, "page", "--profile", "quick") == 2
        assert "needs plotly" in capsys.readouterr().err
        monkeypatch.setattr(paper, "paper", built)  # the paper's record, no LaTeX
        assert run_cli("--results", rs.root, "report", "--profile", "quick") == 0
        assert "note: no results page: the results page needs plotly" in capsys.readouterr().out
    finally:
        monkeypatch.undo()
        page_html.plotly_gz.cache_clear()
        for name in (questions.NUMBERS, "toy.tex", "toy-appendix.tex"):
            (rs.report_dir() / name).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def paper_page(tmp_path_factory) -> tuple[ResultsSet, dict]:
    rs = paper_set(tmp_path_factory.mktemp("paper") / "results")
    return rs, blob(page_html.results_html(rs))


def shown_question(data: dict, qid: str) -> dict:
    """One question of the page's data."""
    return next(q for q in data["questions"] if q["id"] == qid)


def test_the_papers_questions_come_first_in_the_papers_order(paper_page):

    rs, data = paper_page
    assert questions.paper(rs).first(*rs.questions()) == ["zeta", "mid", "alpha"]
    assert [q["id"] for q in data["questions"]] == ["zeta", "mid", "alpha"]
    assert [q.get("paper") for q in data["questions"]] == [True, True, False]
    assert list(dict.fromkeys(r["question"] for r in data["rows"])) == ["zeta", "mid", "alpha"]
    assert data.get("paper", {}).get("questions") == list(PAPER)


def test_a_setting_at_the_builders_default_is_no_difference(paper_page):
    """wide sets activation = "sigmoid", conv:build's default, which base leaves out: the
    two differ in their hidden layers alone (as ``words.run_changes`` counts it)."""
    _, data = paper_page
    rows = {(r["question"], r["run"], r["seed"]): r["settings"] for r in data["rows"]}
    base, wide = rows["zeta", "base", 0], rows["zeta", "wide", 0]
    differ = {k for k in base.keys() | wide.keys() if base.get(k) != wide.get(k)}
    assert differ == {"model.hidden"}, {k: (base.get(k), wide.get(k)) for k in differ}


def test_accuracies_have_the_decimals_the_paper_prints(paper_page):
    from coursework.analysis import display
    from coursework.records import results, spec

    rs, data = paper_page
    for q, decimals in (("zeta", 1), ("alpha", 2)):  # 1,000 test images; 10,000
        runs = results.load_question(rs, q, spec.run_order(rs, q))
        assert display.run_decimals(runs) == decimals
        shown = shown_question(data, q)
        assert shown.get("digits") == decimals
        tests = [s["test"] for s in shown.get("summary", [])]
        assert tests and all(
            re.fullmatch(rf"\d+\.\d{{{decimals}}} ± \d+\.\d{{{decimals}}}", t) for t in tests
        ), tests


def test_citations_read_as_authors_and_year_never_as_keys(paper_page):
    _, data = paper_page
    text = json.dumps(data, ensure_ascii=False)
    assert re.findall(r".{30}\[@.{20}", text) == []
    deep = next(r for r in data["rows"] if r["run"] == "deep")
    assert deep["what"].startswith("two hidden layers, as (Simard et al. 2003) has them")
    zeta = shown_question(data, "zeta")
    assert zeta["research_question"] == "Does zeta help (Nielsen 2015, chapter 3)?"
    assert zeta["hypothesis"] == "It does (Simard et al. 2003)."


def test_a_summary_row_per_run_holds_the_numbers_of_stats_csv(paper_page):
    from coursework.analysis.display import pct

    rs, data = paper_page
    written = storage.read_csv(rs.aggregate(layout.STATS))
    for q in data["questions"]:
        mine = [r for r in written if r["question"] == q["id"]]
        summary = q.get("summary", [])
        assert [s["run"] for s in summary] == [r["run"] for r in mine]
        d = q["digits"]
        for s, r in zip(summary, mine, strict=True):
            assert s["n"] == int(r["n"])
            assert s["mean"] == pytest.approx(float(r["mean"]), abs=1e-12)
            assert s["sd"] == pytest.approx(float(r["sd"]), abs=1e-12)
            assert s["test"] == f"{pct(float(r['mean']), d)} ± {pct(float(r['sd']), d)}"
            diff = None if r["diff"] == "" else float(r["diff"])
            assert s["diff"] == (None if diff is None else pytest.approx(diff, abs=1e-12))
            assert s["delta"] == ("-" if diff is None else f"{100 * diff:+.{d}f}")


def test_each_run_has_the_colour_and_line_of_the_papers_figures(paper_page):
    """The page's run styles are figstyle's (:func:`run_styles`, as the figures draw them):
    a tuned run in its sibling's colour, dashed."""
    from coursework.records import results, spec
    from coursework.report import styles

    rs, data = paper_page
    for q in data["questions"]:
        runs = results.load_question(rs, q["id"], spec.run_order(rs, q["id"]))
        want = styles.run_styles(list(runs), styles.tuned_runs(runs))
        assert {r: s["color"] for r, s in q.get("styles", {}).items()} == {
            r: s["color"] for r, s in want.items()
        }
    zeta = shown_question(data, "zeta")["styles"]
    assert zeta["base-tuned"] == {"color": zeta["base"]["color"], "dash": "dash"}


def test_the_page_links_the_paper_and_marks_what_it_uses(paper_page, tmp_path):
    rs, data = paper_page
    assert data["paper"]["pdf"] == "report/report.pdf"
    zeta = shown_question(data, "zeta")
    assert {f["name"] for f in zeta["figures"]} >= {"zeta-val", "zeta-comparison"}
    assert shown_question(data, "alpha")["figures"] == []
    elsewhere = blob(page_html.results_html(rs, tmp_path / "elsewhere" / "page.html"))
    assert elsewhere["paper"]["pdf"] is None  # no link that leads nowhere
