"""The report page in a real browser: headless Chromium (Debian's chromium and
chromium-driver) driven by selenium. Nothing here downloads a browser or a driver."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hashscope.report.html import render_html
from hashscope.report.text import visible

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent.parent / "reports" / "test-artifacts"
IPERF = Path(__file__).resolve().parent.parent / "captures" / "scenarios" / "iperf3-P4-lacp"

if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"{CHROMIUM} is missing (Debian package chromium; tools/dev-setup installs it)",
                allow_module_level=True)
if not os.access(CHROMEDRIVER, os.X_OK):
    pytest.skip(f"{CHROMEDRIVER} is missing (Debian package chromium-driver; tools/dev-setup "
                "installs it)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver",
                                reason="selenium is missing (pip install -e '.[test]')")

from hostile import write_hostile_pcapng  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from test_report_html import (  # noqa: E402
    MATH,
    RLO,
    XSS_IMG,
    XSS_SCRIPT,
    compared_summary,
    example_charts,
    hostile_summary,
)


def _options(javascript: bool = True):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    return options


def _chrome(javascript: bool = True):
    # An explicit driver path: selenium-manager never runs, nothing is downloaded.
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=_options(javascript))


@pytest.fixture(scope="module")
def driver():
    d = _chrome()
    try:
        yield d
    finally:
        d.quit()


@pytest.fixture(scope="module")
def charts():
    return example_charts()


def _open(driver, tmp_path: Path, name: str, page: str, keep: bool = False) -> None:
    path = tmp_path / name
    path.write_text(page, encoding="utf-8")
    if keep:  # the page itself as an artifact, next to its screenshot
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / name).write_text(page, encoding="utf-8")
    driver.get_log("browser")  # forget what earlier pages logged
    driver.get(path.as_uri())
    driver.execute_script("return document.readyState")


def _severe(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def _no_alert(driver) -> None:
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018


def _images_loaded(driver) -> list:
    return driver.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt]);")


def _column(driver, table: str, index: int) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0] + ' tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.cells[arguments[1]].textContent);",
        f"#{table}", index)


def _screenshot(driver, path: Path) -> None:
    """The whole page, not only the window: the CDP screenshot beyond the viewport."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                 "scale": 1}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def test_the_csp_violation_is_what_the_console_check_sees(driver, tmp_path, charts):
    """The check below means something: a network fetch the CSP blocks is a SEVERE entry."""
    page = render_html(compared_summary(), charts)
    leaky = page.replace("</main>", '<img src="https://example.invalid/x.png" alt="x"></main>')
    _open(driver, tmp_path, "leaky.html", leaky)
    errors = _severe(driver)
    assert any("Content Security Policy" in e["message"] for e in errors), errors


def test_page_in_the_browser(driver, tmp_path, charts):
    summary = compared_summary()
    _open(driver, tmp_path, "report-page.html", render_html(summary, charts), keep=True)
    assert _severe(driver) == []
    _no_alert(driver)

    images = _images_loaded(driver)
    assert len(images) == len(charts)
    assert all(complete and width > 0 for complete, width, _ in images), images
    assert [alt for _, _, alt in images] == [c.title for c in charts]

    findings = driver.find_elements(By.CSS_SELECTOR, "#findings .finding")
    assert [f.get_attribute("id") for f in findings] == [
        f"finding-{f['id']}" for f in summary["findings"]]
    assert "warning" in findings[0].get_attribute("class")
    members = _column(driver, "table-members", 0)
    assert members == [m["name"] for m in summary["members"]]

    # Sorting: click the sport header of the heaviest flows, twice.
    heads = driver.find_elements(By.CSS_SELECTOR, "#table-heaviest thead th")
    labels = [h.text for h in heads]
    sport = labels.index("sport")
    before = _column(driver, "table-heaviest", sport)
    assert before == ["50000", "50001", "50002", "50003", "34390"]
    heads[sport].find_element(By.TAG_NAME, "button").click()
    assert _column(driver, "table-heaviest", sport) == sorted(before, key=int)
    assert heads[sport].get_attribute("aria-sort") == "ascending"
    heads[sport].find_element(By.TAG_NAME, "button").click()
    assert _column(driver, "table-heaviest", sport) == sorted(before, key=int, reverse=True)
    # Sorting by bytes: numerically (708 kB > 1.65 kB), not as text.
    nbytes = labels.index("bytes")
    heads[nbytes].find_element(By.TAG_NAME, "button").click()
    assert _column(driver, "table-heaviest", sport)[0] == "34390"

    # Filtering: the text box over the flow table.
    box = driver.find_element(By.CSS_SELECTOR, "#heaviest .filter input")
    box.send_keys("34390")
    assert _column(driver, "table-heaviest", sport) == ["34390"]
    box.clear()
    box.send_keys(" ")  # an input event with an empty query shows every row again
    assert len(_column(driver, "table-heaviest", sport)) == len(before)

    # Collapsing a section, and a link into it opening it again.
    toggle = driver.find_element(By.CSS_SELECTOR, "#heaviest > h2 button.toggle")
    toggle.click()
    assert not driver.find_element(By.ID, "table-heaviest").is_displayed()
    driver.find_element(By.CSS_SELECTOR, '#finding-elephants a[href="#table-heaviest"]').click()
    assert driver.find_element(By.ID, "table-heaviest").is_displayed()
    assert _severe(driver) == []

    _screenshot(driver, ARTIFACTS / "report-page.png")
    assert (ARTIFACTS / "report-page.png").stat().st_size > 10_000


def test_hostile_summary_stays_inert_and_readable(driver, tmp_path, charts):
    _open(driver, tmp_path, "report-page-hostile.html", render_html(hostile_summary(), charts),
          keep=True)
    _no_alert(driver)
    assert _severe(driver) == []
    assert driver.find_elements(By.CSS_SELECTOR, 'img[src="x"]') == []
    assert driver.find_elements(By.CSS_SELECTOR, "svg") == []
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert len(driver.find_elements(By.TAG_NAME, "script")) == 2
    assert all(w > 0 for _, w, _ in _images_loaded(driver))

    text = driver.execute_script("return document.body.textContent")
    for literal in (XSS_IMG, XSS_SCRIPT, MATH, "_eth0", "eth\\u202e1", "\\x1b[31m"):
        assert literal in text, literal
    shown = driver.execute_script("return document.body.innerText")
    assert "eth\\u202e1" in shown and "\u202e" not in shown and RLO not in shown
    members = _column(driver, "table-members", 0)
    assert members == [XSS_IMG, XSS_SCRIPT, MATH, "eth\\u202e1"]
    # Sorting and filtering move hostile text around without making it markup.
    driver.find_element(By.CSS_SELECTOR, "#table-members thead th button").click()
    box = driver.find_element(By.CSS_SELECTOR, "#heaviest .filter input")
    box.send_keys("<img")
    _no_alert(driver)
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert _severe(driver) == []
    _screenshot(driver, ARTIFACTS / "report-page-hostile.png")


def test_page_reads_with_javascript_off(tmp_path, charts):
    summary = compared_summary()
    d = _chrome(javascript=False)
    try:
        _open(d, tmp_path, "nojs.html", render_html(summary, charts))
        assert _severe(d) == []
        assert d.find_elements(By.CSS_SELECTOR, "button") == []  # the script did not run
        assert _column(d, "table-members", 0) == [m["name"] for m in summary["members"]]
        assert len(_column(d, "table-heaviest", 0)) == len(summary["heaviest_flows"])
        assert len(d.find_elements(By.CSS_SELECTOR, "#findings .finding")) == 3
        assert all(w > 0 for _, w, _ in _images_loaded(d))
    finally:
        d.quit()


def _report(tmp_path: Path, name: str, *args: str) -> tuple[Path, dict]:
    """``hashscope report`` run for real (a subprocess): its folder and summary."""
    out = tmp_path / name
    proc = subprocess.run([sys.executable, "-m", "hashscope", "report", *args, "-o", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out, json.loads((out / "summary.json").read_text())


def _check_page(driver, out: Path, doc: dict) -> None:
    driver.get_log("browser")
    driver.get((out / "index.html").as_uri())
    assert _severe(driver) == []
    _no_alert(driver)
    images = _images_loaded(driver)
    assert len(images) == len(doc["charts"]) >= 3
    assert all(complete and width > 0 for complete, width, _ in images), images
    findings = driver.find_elements(By.CSS_SELECTOR, "#findings .finding")
    assert [f.get_attribute("id") for f in findings] == [
        f"finding-{f['id']}" for f in doc["findings"]]
    assert _column(driver, "table-members", 0) == [
        visible(m["name"]) for m in doc["members"]]


def test_the_iperf3_post_mortem_in_the_browser(driver, tmp_path):
    """The report of a real bond's member captures, as a user opens it."""
    members = [str(IPERF / f"ens1f{i}.pcap") for i in range(4)]
    out, doc = _report(tmp_path, "iperf3", *members, "--link-speed", "10G")
    _check_page(driver, out, doc)
    text = driver.execute_script("return document.body.innerText")
    assert "2 pairs of consecutive source ports share a member" in text
    _screenshot(driver, ARTIFACTS / "report-iperf3.png")


def test_a_hostile_capture_stays_inert_and_readable_in_its_report(driver, tmp_path):
    """A pcapng whose interface names, descriptions and comments are markup, mathtext and a
    right-to-left override, through ``hashscope report`` and into the browser."""
    cap = tmp_path / "hostile.pcapng"
    write_hostile_pcapng(cap)
    out, doc = _report(tmp_path, "hostile", str(cap))
    _check_page(driver, out, doc)
    assert driver.find_elements(By.CSS_SELECTOR, 'img[src="x"]') == []
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    assert len(driver.find_elements(By.TAG_NAME, "script")) == 2
    text = driver.execute_script("return document.body.innerText")
    for literal in ("</script><img src=x onerror=alert(1)>", "$\\frac{1}{$", "_eth0",
                    "eth\\u202e1", "<b>bold</b>"):
        assert literal in text, literal
    assert RLO not in text
    svg = "".join((out / c["svg"]).read_text() for c in doc["charts"])
    assert "_eth0" in svg and RLO not in svg and "<img" not in svg
    _screenshot(driver, ARTIFACTS / "report-hostile-capture.png")
