"""The browser harness: the portal served over HTTP, Debian's Chromium driven by Playwright,
a phone-sized viewport, and axe-core checking each page a journey visits."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.servers import ThreadedServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def live_portal(app, provider) -> Iterator[str]:
    server = ThreadedServer(app, provider.live_portal_port).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Steps:
    """Screenshots of a journey's steps, numbered, in the test's own tmp dir."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def shot(self, page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        self.count += 1
        page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png", full_page=True)


@pytest.fixture
def steps(tmp_path: Path) -> Steps:
    return Steps(tmp_path)


@pytest.fixture
def desk(browser: Browser) -> Iterator[Page]:
    """A clerk's desktop, beside the resident's phone."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    yield page
    context.close()


class Accessibility:
    """Runs axe-core on every page it is shown and remembers the violations."""

    def __init__(self) -> None:
        self.axe = Axe()
        self.violations: dict[str, list[str]] = {}

    def check(self, page: Page) -> None:
        # A click that navigates returns once the next page is committed, before it
        # has parsed: axe run then would find no document to check.
        page.wait_for_load_state("load")
        results = self.axe.run(page)
        if results.violations_count:
            self.violations[page.url] = [
                f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
                for v in results.response["violations"]
            ]


@pytest.fixture
def axe() -> Iterator[Accessibility]:
    checker = Accessibility()
    yield checker
    assert checker.violations == {}, checker.violations
