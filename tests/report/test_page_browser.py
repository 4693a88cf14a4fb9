"""The results page and the marking page in a real browser (Debian's chromium, headless,
driven by Selenium through chromium-driver), with the network off: no console error, no
request but the file itself, a row per run and seed, sorting by test accuracy orders them,
two runs picked show exactly the settings that differ; a screenshot of each (under the
test's folder; also copied to ``$COURSEWORK_PAGE_SHOTS`` where that is set)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from coursework.report import page_html
from coursework.verify import marks_page
from tests.report.test_page import RUNS, fake_set, fake_sheet

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


def column(driver, key: str) -> list[str]:
    """The cells of one column of the runs table, top to bottom."""
    index = driver.execute_script(
        "return [...document.querySelectorAll('#runs th')]"
        f".findIndex(h => h.dataset.key === '{key}')"
    )
    return driver.execute_script(
        "return [...document.querySelectorAll('#runs tbody tr')]"
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
    links = [(a.text, a.get_attribute("href")) for a in browser.find_elements(By.TAG_NAME, "a")]
    assert ("ada.zip", (marking / "ada" / "sheet.md").as_uri()) in links
    assert ("results page", (marking / "ada" / "results.html").as_uri()) in links
    assert [text for text, _ in links].count("results page") == 2  # cy.zip has none
    browser.find_element(By.CSS_SELECTOR, "#marks th:nth-child(8)").click()  # failed
    first = browser.find_element(By.CSS_SELECTOR, "#marks tbody tr td").text
    assert first in ("ada.zip", "cy.zip")
    shot(browser, tmp_path, "marking-page.png")
