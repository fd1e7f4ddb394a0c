"""The browser fixture aborts and records every request to a host outside loopback."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.support.browser import LoopbackContext, is_loopback_url
from tests.support.service import ServeProcess


def test_loopback_url_hosts() -> None:
    assert is_loopback_url("http://127.0.0.1:8000/c/abc")
    assert is_loopback_url("http://[::1]:8000/p/abc")
    assert not is_loopback_url("http://localhost:8000/")
    assert not is_loopback_url("https://cdn.example.com/app.js")
    assert not is_loopback_url("http://127.0.0.1.example.com/")


def test_outside_request_aborted_and_recorded(
    service: ServeProcess, unchecked_browser_context: LoopbackContext
) -> None:
    page = unchecked_browser_context.new_page()
    page.goto(f"{service.base_url}/healthz")
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))

    # The name is in the reserved .invalid domain, and the route aborts the
    # request before any look-up, so nothing leaves the machine.
    with page.expect_event("requestfailed"):
        page.evaluate(
            "() => { const image = document.createElement('img');"
            " image.src = 'http://pixel.example.invalid/open.gif';"
            " document.body.appendChild(image); }"
        )
    expect(page.locator("img")).to_have_count(1)

    assert unchecked_browser_context.blocked == ["http://pixel.example.invalid"]
    assert failed == ["http://pixel.example.invalid/open.gif"]
    try:
        unchecked_browser_context.assert_loopback_only()
    except AssertionError as error:
        assert "pixel.example.invalid" in str(error)
    else:
        raise AssertionError("assert_loopback_only accepted a request outside loopback")
