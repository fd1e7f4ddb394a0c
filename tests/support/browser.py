"""Headless Chromium driven by Playwright, allowed to reach loopback only.

The browser is Debian's ``chromium`` package at /usr/bin/chromium, started
through ``executable_path``; Playwright's downloaded browsers are never
used. Each test gets its own browser context, so cookies and cache never
leak between tests. Every request the pages make goes through Playwright
routing: a request to a host other than 127.0.0.1 or ::1 is aborted and
recorded, and the context fixture fails the test if any was attempted.

Without Chromium the browser tests skip with the reason, except when the
``CI`` environment variable is ``true``: there they fail, so a CI machine
that lost its browser cannot pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})

# Playwright already turns off Chromium's background networking (updates,
# safe browsing, metrics). Resolving every other name to "not found" also
# stops any request that would bypass page routing, such as one started by
# the browser itself rather than by a page.
_CHROMIUM_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def require_chromium() -> Path:
    """Return the Chromium path, or skip the test (fail it when ``CI`` is true)."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    reason = (
        f"{CHROMIUM} not found: the browser tests need Debian's chromium package "
        "(apt-get install chromium)"
    )
    if running_in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def launch_chromium(playwright: Playwright) -> Browser:
    args = list(_CHROMIUM_ARGS)
    if os.geteuid() == 0:
        # Chromium refuses to start its sandbox as root (CI containers run as root).
        args.append("--no-sandbox")
    return playwright.chromium.launch(
        executable_path=str(require_chromium()), headless=True, args=args
    )


def is_loopback_url(url: str) -> bool:
    return urlsplit(url).hostname in LOOPBACK_HOSTS


@dataclass
class LoopbackContext:
    """A browser context whose requests outside loopback are aborted and recorded."""

    context: BrowserContext
    # Scheme and host of each aborted request, without path or query,
    # because a path may hold a signed token.
    blocked: list[str] = field(default_factory=list)

    def new_page(self) -> Page:
        return self.context.new_page()

    def route(self, route: Route) -> None:
        url = route.request.url
        if is_loopback_url(url):
            route.continue_()
            return
        parts = urlsplit(url)
        self.blocked.append(f"{parts.scheme}://{parts.hostname}")
        route.abort("blockedbyclient")

    def assert_loopback_only(self) -> None:
        assert not self.blocked, f"the pages requested hosts outside loopback: {self.blocked}"


# Module scope, not session: the sync API keeps an event loop running in the
# main thread while Playwright is started, and tests outside the browser
# modules call asyncio.run(), which fails under a running loop.
@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    require_chromium()
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def chromium(playwright_driver: Playwright) -> Iterator[Browser]:
    browser = launch_chromium(playwright_driver)
    yield browser
    browser.close()


@pytest.fixture
def unchecked_browser_context(chromium: Browser) -> Iterator[LoopbackContext]:
    """A fresh context with loopback-only routing; the test checks ``blocked`` itself."""
    context = chromium.new_context(service_workers="block")
    guarded = LoopbackContext(context)
    context.route("**/*", guarded.route)
    yield guarded
    context.close()


@pytest.fixture
def browser_context(unchecked_browser_context: LoopbackContext) -> Iterator[LoopbackContext]:
    """A fresh context that fails the test if a page requested a host outside loopback."""
    yield unchecked_browser_context
    unchecked_browser_context.assert_loopback_only()
