"""The page at `/` in a real headless Chromium (Debian's, driven by Playwright): a user's runs
with state, jobs done / total, facility, start time and links, updating while a run runs.

The screenshot stays in the test's tmp folder; its path is recorded as the test's property
`screenshot` (and printed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import REPO, start_service
from tests.support.wes import WesService, busybox_tool

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SLOW = busybox_tool("echo working; sleep 8; echo done")
QUICK = busybox_tool("echo quick")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    start_service(REPO / "scripts" / "services" / "browser.sh", "headless Chromium", 600)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


def test_the_page_shows_my_runs_as_they_go(docker_engine, browser, tmp_path, record_property):
    with WesService(tmp_path / "service") as wes:
        quick = wes.submit(files={"q.cwl": QUICK}, workflow_url="q.cwl", tags={"ui": "yes"})
        theirs = wes.submit("bob", files={"q.cwl": QUICK}, workflow_url="q.cwl")
        slow = wes.submit(files={"slow.cwl": SLOW}, workflow_url="slow.cwl")
        page = browser.new_page(viewport={"width": 1200, "height": 500})
        try:
            page.goto(f"{wes.url}/")
            assert page.locator("#login").is_visible()  # no token yet: the form
            page.fill("#token", "not-a-token")
            page.click("button[type=submit]")
            page.wait_for_selector("text=That token is not valid here.")

            page.goto(f"{wes.url}/#token={wes.tokens['alice']}")
            page.wait_for_selector(f"tr[data-run-id='{slow}']")
            assert page.url == f"{wes.url}/"  # the token left the address bar
            rows = page.locator("#runs tbody tr")
            assert rows.count() == 2  # alice's runs only, newest first
            assert page.locator(f"tr[data-run-id='{theirs}']").count() == 0
            first = rows.nth(0).locator("td")
            assert first.nth(0).inner_text() == slow[:12]
            assert first.nth(1).inner_text() == "slow.cwl"
            assert first.nth(4).inner_text() == "local"
            seen = set()
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                state = page.locator(f"tr[data-run-id='{slow}'] .state").inner_text()
                progress = page.locator(f"tr[data-run-id='{slow}'] td").nth(3).inner_text()
                seen.add((state, progress.strip()))
                if state == "COMPLETE":
                    break
                time.sleep(0.25)
            states = {state for state, _ in seen}
            assert "RUNNING" in states and "COMPLETE" in states  # updated without a reload
            assert ("COMPLETE", "2/2 jobs") in seen
            wes.wait(quick)
            page.wait_for_selector(f"tr[data-run-id='{quick}'] .state.COMPLETE")
            done = page.locator(f"tr[data-run-id='{quick}'] td")
            assert done.nth(2).inner_text() == "COMPLETE"
            assert done.nth(5).inner_text().count(":") == 2  # a start time, HH:MM:SS
            links = page.locator(f"tr[data-run-id='{slow}'] td a")
            assert [links.nth(i).inner_text() for i in range(links.count())] == [
                "outputs", "crate", "report", "log",
            ]  # fmt: skip
            base = f"{wes.wes}/runs/{slow}"
            assert links.nth(1).get_attribute("href") == f"{base}/crate"
            with page.expect_download() as download:
                links.nth(3).click()  # fetched with the token, saved by the browser
            saved = tmp_path / "log.txt"
            download.value.save_as(saved)
            assert "[ossrflow] COMPLETE" in saved.read_text()
            screenshot = tmp_path / "runs-page.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            page.close()
    assert screenshot.stat().st_size > 10_000
    record_property("screenshot", str(screenshot))
    print(f"screenshot: {screenshot}")
