"""The web pages in a real browser: headless Chromium (Debian's `chromium`) driven by Selenium
through Debian's `chromium-driver`, over `watcher serve` on a database that a check of the
simulated WordPress filled (a release edited, a topic, a source that cannot be reached).

Each page: no console error, no horizontal scroll on a 375 px wide phone, and no WCAG 2.1 A/AA
violation that axe-core (vendored in tests/vendor/axe-core, injected through WebDriver: the
pages' Content-Security-Policy allows no script and stays so) reports. The filters, the word
diff and a failing source are checked as a reader sees them. Screenshots of every page are
written to each test's temporary directory (pytest keeps the last runs' under its basetemp).

Skips when Chromium or its driver is missing, unless WATCHER_REQUIRE_BROWSER=1 (as in CI).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.helpers import (
    ROOT,
    WATCHER,
    environment,
    free_port,
    running,
    wait_for,
    wordpress_source,
    write_config,
)
from tests.pdfs import text_pdf
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.config import load_config

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

REQUIRE_ENV = "WATCHER_REQUIRE_BROWSER"
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"  # 4.14.1
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE_WIDTH = 375
WAIT = 20  # seconds an explicit wait allows: a bound on a busy machine, never a pace
ANNEX = "/wp-content/uploads/2026/11/Programme.pdf"
TOPICS = {"vietnam": {"title": "Viet Nam", "any": ["Viet Nam"]}}


@dataclass(frozen=True)
class Served:
    base: str
    edited: int  # the release edited between the two checks
    edited_title: str
    other_title: str


def _browser_paths() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    reason = (
        "the browser tests need Debian's chromium and chromium-driver "
        "(apt-get install chromium chromium-driver)"
    )
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}; {REQUIRE_ENV}=1 forbids skipping", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`watcher serve` on a database two checks filled: the asean release "Leaders meet in
    Hanoi" (topic vietnam) edited from 10 to 12 delegations, another release, and a source
    whose address is a closed port on 127.0.0.1 (it fails)."""
    directory = tmp_path_factory.mktemp("served")
    with SimWordPress() as site:
        site.upload(ANNEX, text_pdf(["Programme of the visit", "The leaders meet in Hue."]))
        kept = site.add_post("Leaders meet in Hanoi", content(10))
        site.add_post("Trade ministers convene", "The meeting opened in Jakarta.")
        closed = wordpress_source(site, name="closed", url=f"http://127.0.0.1:{free_port()}/")
        port = free_port()
        config = write_config(
            directory,
            [wordpress_source(site), closed],
            topics=TOPICS,
            server={"listen": f"127.0.0.1:{port}", "base_url": None},
        )
        app = App(load_config(config))
        try:
            app.prepare()
            app.check()
            with site.lock:  # the body and its PDF at once: one edit
                site.edit_post(kept, content=content(12))
                site.upload(
                    ANNEX, text_pdf(["Programme of the visit", "The leaders meet in Hanoi."])
                )
            app.check()
            [edited] = {
                e.release_id for e in app.store.recent_changes(10) if e.kind.value == "edited"
            }
        finally:
            app.close()
    base = f"http://127.0.0.1:{port}"
    log = (directory / "serve.log").open("wb")
    command = [*WATCHER, "--config", str(config), "serve"]
    with log, running(command, env=environment(), stdout=subprocess.DEVNULL, stderr=log):
        wait_for(lambda: _answers(f"{base}/healthz"), what=f"watcher serve on {base}")
        yield Served(base, edited, "Leaders meet in Hanoi", "Trade ministers convene")


def content(delegations: int) -> str:
    return (
        f"Viet Nam hosts {delegations} delegations today.\n\n"
        f'Programme: <a href="{ANNEX}">Programme of the visit</a>'
    )


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver_path = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--disable-dev-shm-usage",  # containers give /dev/shm 64 MB: tabs crash without this
        # only 127.0.0.1 is reachable: any other host name fails to resolve, and the browser's
        # own background traffic (updates, sync, safe browsing, translation) is off
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-first-run",
        "--disable-features=Translate,OptimizationHints,MediaRouter",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to start sandboxed as root
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the driver is named: Selenium Manager (which would download one) never runs
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def _open(browser: webdriver.Chrome, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, WAIT).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )
    WebDriverWait(browser, WAIT).until(
        expected_conditions.presence_of_element_located((By.ID, "main"))
    )


def _console_errors(browser: webdriver.Chrome) -> list[str]:
    """The browser log's SEVERE entries since it was last read (reading empties it)."""
    # get_log is Chromium's own (not W3C WebDriver) and Selenium leaves it untyped
    entries: list[dict[str, Any]] = browser.get_log("browser")  # type: ignore[no-untyped-call]
    return [str(entry["message"]) for entry in entries if entry["level"] == "SEVERE"]


def _axe_violations(browser: webdriver.Chrome) -> list[str]:
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    result: list[dict[str, Any]] = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(r.violations), e => done([{id: 'axe failed', help: String(e), nodes: []}]));",
        WCAG_21_AA,
    )
    return [
        f"{v['id']}: {v['help']} ({'; '.join(n['target'][0] for n in v['nodes'][:3])})"
        for v in result
    ]


def _at_width(browser: webdriver.Chrome, width: int) -> None:
    """The viewport exactly `width` CSS pixels wide, as a phone held upright has it."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 812, "deviceScaleFactor": 1, "mobile": False},
    )


def _pages(served: Served) -> dict[str, str]:
    return {
        "latest": "/",
        "releases": "/releases",
        "release": f"/releases/{served.edited}",
        "release-diff": f"/releases/{served.edited}?from=1&to=2",
        "topics": "/topics",
        "topic": "/topics/vietnam",
        "sources": "/sources",
        "feeds": "/feeds/",
    }


PAGE_NAMES = [
    "latest",
    "releases",
    "release",
    "release-diff",
    "topics",
    "topic",
    "sources",
    "feeds",
]


def test_the_vendored_axe_core_is_the_published_one() -> None:
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256
    assert AXE.read_text(encoding="utf-8").startswith("/*! axe v4.14.1\n * Copyright (c)")


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_each_page_renders_cleanly_fits_a_phone_and_is_accessible(
    name: str, served: Served, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    url = served.base + _pages(served)[name]
    _console_errors(browser)  # what earlier pages left
    try:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        _open(browser, url)
        browser.save_screenshot(str(tmp_path / f"{name}-desktop.png"))
        assert _console_errors(browser) == [], url

        _at_width(browser, PHONE_WIDTH)
        _open(browser, url)
        browser.save_screenshot(str(tmp_path / f"{name}-phone.png"))
        assert _console_errors(browser) == [], url
        widths = browser.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]"
        )
        assert widths[0] == PHONE_WIDTH
        assert widths[1] <= widths[0], f"{url} scrolls sideways on a phone: {widths[1]} px wide"
        assert _axe_violations(browser) == [], url
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _listed(browser: webdriver.Chrome) -> list[str]:
    return sorted(
        link.text
        for link in browser.find_elements(By.CSS_SELECTOR, "#main .release a[href^='/releases/']")
    )


def _filter(browser: webdriver.Chrome, served: Served, **choices: str) -> list[str]:
    """Opens /releases, sets each filter as a reader would and presses Show; the titles listed."""
    _open(browser, f"{served.base}/releases")
    form = browser.find_element(By.ID, "filters")
    for field, value in choices.items():
        element = form.find_element(By.ID, field)
        if element.tag_name == "select":
            # an option's value is its text when it has no value attribute, as the form sends it
            select = Select(element)
            values = [option.get_attribute("value") for option in select.options]
            select.select_by_index(values.index(value))
        else:  # a date input: typing into it depends on the browser's locale, its value does not
            browser.execute_script("arguments[0].value = arguments[1]", element, value)
    old = browser.find_element(By.TAG_NAME, "html")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(expected_conditions.staleness_of(old))
    WebDriverWait(browser, WAIT).until(
        expected_conditions.presence_of_element_located((By.ID, "main"))
    )
    assert _console_errors(browser) == []
    for field, value in choices.items():  # the form shows what was asked for
        assert browser.find_element(By.ID, field).get_attribute("value") == value
    return _listed(browser)


def test_the_filters_list_what_they_should(
    served: Served, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    _console_errors(browser)
    both = sorted([served.edited_title, served.other_title])
    assert _filter(browser, served) == both
    assert _filter(browser, served, topic="vietnam") == [served.edited_title]
    assert _filter(browser, served, kind="edited") == [served.edited_title]
    assert _filter(browser, served, kind="new", source="asean") == both
    assert _filter(browser, served, source="closed") == []
    assert _filter(browser, served, status="removed") == []
    today = datetime.now(UTC).date()
    around = {"since": str(today - timedelta(days=1)), "until": str(today + timedelta(days=1))}
    assert _filter(browser, served, **around) == both
    assert _filter(browser, served, since="2020-01-01", until="2020-12-31") == []
    browser.save_screenshot(str(tmp_path / "releases-filtered.png"))


def test_the_diff_marks_exactly_the_changed_words(
    served: Served, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    _open(browser, f"{served.base}/releases/{served.edited}")
    browser.find_element(By.LINK_TEXT, "what changed").click()
    WebDriverWait(browser, WAIT).until(
        expected_conditions.presence_of_element_located((By.ID, "diff"))
    )
    assert "from=1&to=2" in browser.current_url
    browser.save_screenshot(str(tmp_path / "diff.png"))
    diff = browser.find_element(By.ID, "diff")
    assert diff.find_element(By.CSS_SELECTOR, "p.summary").text == (
        "1 paragraph edited; 1 attachment edited; 1 figure changed: 10 → 12"
    )
    for view in ("inline", "side"):
        shown = diff.find_element(By.CSS_SELECTOR, f".diff.{view}")
        assert [d.text for d in shown.find_elements(By.TAG_NAME, "del")] == ["10", "Hue"], view
        assert [i.text for i in shown.find_elements(By.TAG_NAME, "ins")] == ["12", "Hanoi"], view
        assert "Viet Nam hosts" in shown.text and "delegations today." in shown.text
    assert _console_errors(browser) == []


def test_a_failing_source_shows_as_failing(served: Served, browser: webdriver.Chrome) -> None:
    _open(browser, f"{served.base}/sources")
    rows = {
        row.find_element(By.TAG_NAME, "th").text.split()[0]: row
        for row in browser.find_elements(By.CSS_SELECTOR, "#sources tbody tr.source")
    }
    assert sorted(rows) == ["asean", "closed"]
    assert "failing" in str(rows["closed"].get_attribute("class")).split()
    assert "failing" not in str(rows["asean"].get_attribute("class")).split()
    cells = [cell.text for cell in rows["closed"].find_elements(By.TAG_NAME, "td")]
    assert cells[0].endswith(": failed") and int(cells[3]) >= 1
    assert cells[5]  # the reason is shown
    assert rows["asean"].find_elements(By.TAG_NAME, "td")[3].text == "0"
