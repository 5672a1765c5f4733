"""The report of a small fake run, opened in headless Chromium (Debian's chromium + chromedriver).

Checks what a reader sees: every image loads, every link resolves to a file
of the (copied) run folder, sorting the TSS table by a column works, a data
set named like a script stays text, and the index.html link leads to the
report. A screenshot is saved to the test's tmp folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from smeval.diag.report import write_report
from smeval.report.locate import link_index

from .conftest import EVIL, copy_run, make_run

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the Python package 'selenium' is missing (pip install selenium, or the 'test' extra)"
    for path, package in (
        (CHROMIUM, "chromium"),
        (CHROMEDRIVER, "chromium-driver"),
    ):
        if not (path.is_file() or shutil.which(path.name)):
            return f"Debian package '{package}' is missing ({path}; apt-get install -y {package})"
    return None


@pytest.fixture
def browser(tmp_path):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(
        CHROMIUM if CHROMIUM.is_file() else shutil.which("chromium")
    )
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
        "--allow-file-access-from-files",
    ):
        options.add_argument(arg)
    service = Service(
        str(
            CHROMEDRIVER
            if CHROMEDRIVER.is_file()
            else shutil.which("chromedriver")
        )
    )
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def copied_report(tmp_path):
    """The report written in one place, then its run folder copied elsewhere."""
    info = make_run(tmp_path / "original", evil=True)
    write_report(info["cfg"])
    link_index(info["session"])
    session = copy_run(info, tmp_path / "copy")
    shutil.rmtree(info["session"])  # links into the original would now break
    report = (
        session
        / info["plot_dir"].relative_to(info["session"])
        / "smeval_report.html"
    )
    return session, report


def _wait_loaded(driver) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && "
            "Array.from(document.images).every(i => i.complete);"
        )
    )


def _column(driver, index: int) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#tss-table tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.cells[arguments[0]].getAttribute('data-v') ?? r.cells[arguments[0]].textContent);",
        index,
    )


def test_report_in_chromium(browser, copied_report, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    session, report = copied_report
    browser.get(report.as_uri())
    _wait_loaded(browser)

    # No script from the data ran, and the data set name is shown as text.
    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert.text
    names = [
        td.text
        for td in browser.find_elements(
            By.CSS_SELECTOR, "#tss-table tbody td:first-child"
        )
    ]
    assert EVIL in names
    assert browser.find_element(By.ID, "synthetic-banner").is_displayed()

    # Every image loads.
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth]);"
    )
    assert len(images) == 6
    assert all(width > 0 for _, width in images), images

    # Every link resolves to an existing file of the copied run, or an anchor of the page.
    hrefs = browser.execute_script(
        "return Array.from(document.links).map(a => a.href);"
    )
    assert len(hrefs) > 20
    for href in hrefs:
        url = urlparse(href)
        assert url.scheme == "file", href
        path = Path(unquote(url.path))
        if url.fragment and path == report:
            assert browser.find_elements(By.ID, url.fragment), href
            continue
        assert path.is_file(), href
        assert path.resolve().is_relative_to(session.resolve()), href

    # Sorting: click the SIB header, read the order back; again for descending.
    headers = browser.find_elements(By.CSS_SELECTOR, "#tss-table thead th")
    labels = [h.text.strip() for h in headers]
    sib = labels.index("SIB")
    headers[sib].click()
    values = [float(v) for v in _column(browser, sib) if v not in ("", None)]
    assert len(values) > 10
    assert values == sorted(values)
    assert headers[sib].get_attribute("aria-sort") == "ascending"
    headers[sib].click()
    values = [float(v) for v in _column(browser, sib) if v not in ("", None)]
    assert values == sorted(values, reverse=True)
    headers[labels.index("data set")].click()
    datasets = [v.lower() for v in _column(browser, 0)]
    assert datasets == sorted(datasets)

    # Filtering by reference and by text.
    Select(
        browser.find_element(By.ID, "tss-filter-reference")
    ).select_by_value("GLDAS-NOAH")
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('#tss-table tbody tr')).filter(r => !r.hidden)"
        ".map(r => r.getAttribute('data-reference'));"
    )
    assert shown
    assert set(shown) == {"GLDAS-NOAH"}
    browser.find_element(By.ID, "tss-filter-text").send_keys("MMEM-h")
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('#tss-table tbody tr')).filter(r => !r.hidden)"
        ".map(r => r.getAttribute('data-dataset'));"
    )
    assert set(shown) == {"CMIP6-MMEM-high"}
    assert browser.find_element(By.ID, "tss-shown").text == str(len(shown))
    browser.find_element(By.ID, "tss-filter-text").clear()
    Select(
        browser.find_element(By.ID, "tss-filter-reference")
    ).select_by_value("")
    browser.execute_script(
        "document.getElementById('tss-filter-text').dispatchEvent(new Event('input'));"
    )

    # A full-page screenshot for a human to look at.
    height = browser.execute_script(
        "return document.documentElement.scrollHeight;"
    )
    browser.set_window_size(1400, min(int(height), 12000))
    browser.execute_script("window.scrollTo(0, 0);")
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")

    # The link inserted into ESMValCore's index.html leads to the report.
    browser.set_window_size(1400, 1000)
    browser.get((session / "index.html").as_uri())
    link = browser.find_element(By.CSS_SELECTOR, "#smeval-report-link a")
    assert link.is_displayed()
    link.click()
    _wait_loaded(browser)
    assert Path(unquote(urlparse(browser.current_url).path)) == report
    assert browser.find_element(By.ID, "tss-table")
