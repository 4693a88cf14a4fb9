"""The results page and the marking page in a real browser (Debian's chromium, headless,
driven by Selenium through chromium-driver), with the network off: no console error, no
request but the file itself, a row per run and seed, sorting by test accuracy orders them,
two runs picked show exactly the settings that differ; a screenshot of each (under the
test's folder; also copied to ``$COURSEWORK_PAGE_SHOTS`` where that is set)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from coursework.report import page_html
from coursework.verify import marks_page, sheets
from tests.recorded import RUNS, fake_set, paper_set
from tests.report.test_page import fake_sheet

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None or DRIVER is None,
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver; .ci/run installs them)",
    ),
]
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")
LOCAL = ("file:", "data:", "blob:", "about:", "chrome:", "devtools:")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium that can reach nothing: every name resolves nowhere, a dead proxy,
    and the network emulated offline; its console and requests logged."""
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-unsafe-swiftshader",  # WebGL in software, for the parallel coordinates
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://127.0.0.1:9",
        "--window-size=1300,2400",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    yield driver
    driver.quit()


def opened(driver, path: Path, ready: str) -> float:
    """Open ``path`` and wait until ``document.body.dataset[ready]`` is set: the seconds."""
    start = time.monotonic()
    driver.get(path.as_uri())
    while not driver.execute_script(f"return document.body && document.body.dataset.{ready}"):
        assert time.monotonic() - start < 60, f"{path.name}: never {ready}"
        time.sleep(0.02)
    return time.monotonic() - start


def no_errors_and_nothing_fetched(driver, opening: bool = True) -> None:
    """No console error, and every request the page made (since the last look) was for a
    local URL; ``opening``: the page itself was requested."""
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    sent = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    urls = [
        m["params"]["request"]["url"] for m in sent if m["method"] == "Network.requestWillBeSent"
    ]
    assert (bool(urls) or not opening) and all(u.startswith(LOCAL) for u in urls), urls


def shot(driver, tmp_path: Path, name: str) -> Path:
    """A screenshot in the test's folder (and a copy in ``$COURSEWORK_PAGE_SHOTS``)."""
    path = tmp_path / name
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    if os.environ.get("COURSEWORK_PAGE_SHOTS"):
        keep = Path(os.environ["COURSEWORK_PAGE_SHOTS"])
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, keep / name)
    print(f"screenshot: {path}")
    return path


def column(driver, key: str, table: str = "runs") -> list[str]:
    """The cells of one column of a table (the runs table's), top to bottom."""
    index = driver.execute_script(
        f"return [...document.querySelectorAll('#{table} th')]"
        f".findIndex(h => h.dataset.key === '{key}')"
    )
    return driver.execute_script(
        f"return [...document.querySelectorAll('#{table} tbody tr')]"
        f".map(r => r.cells[{index}].textContent)"
    )


def test_the_results_page_sorts_compares_and_draws_offline(browser, tmp_path):
    from selenium.webdriver.common.by import By

    rs = fake_set(tmp_path / "results")
    seconds = opened(browser, page_html.write(rs), "plots")
    print(f"loaded and drawn in {seconds:.2f} s")
    no_errors_and_nothing_fetched(browser)
    assert browser.title == "Results: quick"  # a run named </script><script>... ran nothing
    assert len(column(browser, "run")) == sum(n for _, n in RUNS)
    header = browser.find_element(By.CSS_SELECTOR, "#runs th[data-key=test]")
    header.click()
    up = [float(x) for x in column(browser, "test")]
    header.click()
    down = [float(x) for x in column(browser, "test")]
    assert up == sorted(up) and down == sorted(up, reverse=True) and up[0] < up[-1]
    shown = list(zip(column(browser, "run"), column(browser, "seed"), strict=True))
    boxes = browser.find_elements(By.CSS_SELECTOR, "#runs tbody input[type=checkbox]")
    boxes[shown.index(("fc", "0"))].click()
    boxes[shown.index(("conv", "1"))].click()  # another run, another seed
    keys = browser.execute_script(
        "return [...document.querySelectorAll('#compare-settings tr')].map(r => r.dataset.key)"
    )
    assert sorted(keys) == ["model.conv_maps", "seed"]
    assert browser.find_elements(By.CSS_SELECTOR, "#acc .scatterlayer .trace")
    assert browser.find_elements(By.CSS_SELECTOR, "#confusion .heatmaplayer")
    assert browser.find_elements(By.CSS_SELECTOR, "#parcoords-0 .parcoords")
    no_errors_and_nothing_fetched(browser, opening=False)
    shot(browser, tmp_path, "results-page.png")


def test_the_marking_page_lists_every_submission_offline(browser, tmp_path):
    from selenium.webdriver.common.by import By

    marking = tmp_path / "marking"
    for name, failed in (("ada.zip", False), ("bob </script>.zip", True), ("cy.zip", False)):
        fake_sheet(marking, name, failed=failed, page=name != "cy.zip")
    opened(browser, marks_page.write(marking), "table")
    no_errors_and_nothing_fetched(browser)
    rows = browser.find_elements(By.CSS_SELECTOR, "#marks tbody tr")
    assert len(rows) == 3
    heads = browser.execute_script(
        "return [...document.querySelectorAll('#marks th')].map(h => h.dataset.key)"
    )
    print(f"marking columns: {heads}")
    assert heads == [*sheets.MARK_COLUMNS, "page"]  # marks.md's, then the results page
    assert column(browser, "questions", "marks") == ["conv skip"] * 3
    links = [(a.text, a.get_attribute("href")) for a in browser.find_elements(By.TAG_NAME, "a")]
    assert ("ada.zip", (marking / "ada" / "sheet.md").as_uri()) in links
    assert ("results page", (marking / "ada" / "results.html").as_uri()) in links
    assert [text for text, _ in links].count("results page") == 2  # cy.zip has none
    browser.find_element(By.CSS_SELECTOR, "#marks th[data-key=failed]").click()
    first = browser.find_element(By.CSS_SELECTOR, "#marks tbody tr td").text
    assert first in ("ada.zip", "cy.zip")
    shot(browser, tmp_path, "marking-page.png")


# --------------------------------------------------------------------------- the paper's page


@pytest.fixture(scope="module")
def paper_page(tmp_path_factory):
    """The page of a paper's results set (tests.report.test_page.paper_set): its questions
    zeta and mid, and alpha outside it."""
    rs = paper_set(tmp_path_factory.mktemp("paper") / "results")
    return rs, page_html.write(rs)


def figure_colours(rs, question: str) -> dict[str, str]:
    """Run -> its colour in the paper's validation figure, as matplotlib draws it."""
    from matplotlib.colors import to_hex

    from coursework.records import results, spec
    from coursework.report import drawings

    fig = drawings.validation(results.load_question(rs, question, spec.run_order(rs, question)))
    lines = [ln for ax in fig.axes for ln in ax.get_lines()]
    return {
        ln.get_label(): to_hex(ln.get_color()).upper() for ln in lines if ln.get_label()[0] != "_"
    }


def drawn_colours(driver, question: str) -> dict[str, set[str]]:
    """Run -> the colours of its lines in the legend of the accuracy plot, as drawn (the
    stroke of each legend entry's line, read from the DOM)."""
    entries = driver.execute_script(
        "return [...document.querySelectorAll('#acc .legend .traces')].map(t => "
        "[t.textContent, getComputedStyle(t.querySelector('.js-line')).stroke])"
    )
    out: dict[str, set[str]] = {}
    for name, stroke in entries:
        m = re.match(rf"{question}/(\S+)", name)
        rgb = "".join(f"{int(x):02X}" for x in re.findall(r"\d+", stroke)[:3])
        out.setdefault(m.group(1) if m else name, set()).add(f"#{rgb}")
    return out


def test_the_page_opens_on_the_papers_first_question(browser, paper_page):
    rs, path = paper_page
    opened(browser, path, "plots")
    no_errors_and_nothing_fetched(browser)
    chosen = browser.execute_script("return document.getElementById('question').value")
    options = browser.execute_script(
        "return [...document.getElementById('question').options].map(o => o.value)"
    )
    print(f"opens on {chosen!r}; questions {options}")
    assert (chosen, options) == ("zeta", ["zeta", "mid", "alpha"])
    assert set(column(browser, "run")) == {"base", "wide", "base-tuned", "deep"}


def test_a_summary_row_per_run_comes_before_its_seeds(browser, paper_page):
    from selenium.webdriver.common.by import By

    rs, path = paper_page
    opened(browser, path, "plots")
    rows = [
        r for r in browser.find_elements(By.CSS_SELECTOR, "#summary tbody tr") if r.is_displayed()
    ]
    texts = [r.text for r in rows]
    print(f"summary rows: {texts}")
    assert [t.split()[0] for t in texts] == ["base", "wide", "base-tuned", "deep"]
    assert all(re.search(r"\b3\b.*\d+\.\d ± \d+\.\d", t) for t in texts), texts
    before = browser.execute_script(
        "return !!(document.getElementById('summary').compareDocumentPosition("
        "document.getElementById('runs')) & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    assert before


def test_accuracies_show_the_papers_decimals(browser, paper_page):
    _, path = paper_page
    opened(browser, path, "plots")
    shown = column(browser, "test") + column(browser, "val")
    print(f"test and val. accuracies: {shown}")
    assert shown and all(re.fullmatch(r"\d+\.\d", x) for x in shown), shown


def test_before_a_pick_the_questions_runs_are_drawn_in_the_papers_colours(browser, paper_page):
    rs, path = paper_page
    opened(browser, path, "plots")
    want = figure_colours(rs, "zeta")
    drawn = drawn_colours(browser, "zeta")
    print(f"figure colours {want}; drawn before a pick {drawn}")
    assert drawn == {run: {c} for run, c in want.items()}


def test_picked_runs_keep_the_papers_colours_in_any_order(browser, paper_page):
    from selenium.webdriver.common.by import By

    rs, path = paper_page
    opened(browser, path, "plots")
    browser.find_element(By.ID, "mean").click()
    for run in ("deep", "base-tuned", "wide"):  # the paper's order backwards, base left out
        browser.find_element(By.CSS_SELECTOR, f"input[aria-label='pick zeta/{run} seed 0']").click()
    want = figure_colours(rs, "zeta")
    drawn = drawn_colours(browser, "zeta")
    print(f"figure colours {want}; drawn when picked {drawn}")
    assert drawn == {run: {want[run]} for run in ("deep", "base-tuned", "wide")}
    no_errors_and_nothing_fetched(browser, opening=False)


def test_two_runs_differ_by_no_builder_default(browser, paper_page):
    from selenium.webdriver.common.by import By

    _, path = paper_page
    opened(browser, path, "plots")
    for run in ("base", "wide"):  # wide says activation = "sigmoid", conv:build's default
        browser.find_element(By.CSS_SELECTOR, f"input[aria-label='pick zeta/{run} seed 0']").click()
    keys = browser.execute_script(
        "return [...document.querySelectorAll('#compare-settings tr')].map(r => r.dataset.key)"
    )
    print(f"settings that differ: {keys}")
    assert keys == ["model.hidden"]


def test_the_page_marks_the_paper_and_links_its_pdf(browser, paper_page, tmp_path):
    from selenium.webdriver.common.by import By

    rs, path = paper_page
    opened(browser, path, "plots")
    links = [(a.text, a.get_attribute("href")) for a in browser.find_elements(By.TAG_NAME, "a")]
    print(f"links: {links}")
    assert (rs.report_dir() / "report.pdf").as_uri() in [href for _, href in links]
    options = browser.execute_script(
        "return [...document.getElementById('question').options].map(o => o.textContent)"
    )
    assert [o.endswith("(in the paper)") for o in options] == [True, True, False], options
    assert "zeta-val" in browser.find_element(By.ID, "question-head").text
    shot(browser, tmp_path, "paper-page.png")


def test_the_page_draws_the_picked_seeds_gradient_flow_on_a_log_scale(browser, tmp_path):
    from selenium.webdriver.common.by import By

    from tests.report.test_gradflow import KERNELS, flowing_set

    rs = flowing_set(tmp_path / "results")
    opened(browser, page_html.write(rs), "plots")
    grads = browser.find_element(By.ID, "grads")
    assert (
        not grads.is_displayed() and "Pick seeds" in browser.find_element(By.ID, "grads-note").text
    )
    shown = list(zip(column(browser, "run"), column(browser, "seed"), strict=True))
    boxes = browser.find_elements(By.CSS_SELECTOR, "#runs tbody input[type=checkbox]")
    boxes[shown.index(("conv", "0"))].click()
    drawn = (
        "const g = document.getElementById('grads');"
        "return [g.layout.yaxis.type, g.data.map(t => [t.name, t.x])]"
    )
    scale, traces = browser.execute_script(drawn)
    assert scale == "log" and grads.is_displayed()
    assert [name for name, _ in traces] == ["at initialisation"] + [
        f"after epoch {e}" for e in range(1, 6)
    ]
    assert all(x == KERNELS for _, x in traces)  # the layers, input to output
    boxes[shown.index(("fc", "1"))].click()  # another run, fewer layers: relative depth
    scale, traces = browser.execute_script(drawn)
    assert [name for name, _ in traces] == [
        "toy/conv seed 0, after epoch 5",
        "toy/fc seed 1, after epoch 5",
    ]
    assert traces[1][1] == [0, 0.5, 1]
    no_errors_and_nothing_fetched(browser, opening=False)
    shot(browser, tmp_path, "results-page-gradients.png")
