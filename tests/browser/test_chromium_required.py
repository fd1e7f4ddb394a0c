"""Without Chromium the browser tests skip locally and fail in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import browser


def test_missing_chromium_fails_in_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        browser.require_chromium()


def test_missing_chromium_skips_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium package"):
        browser.require_chromium()


def test_installed_chromium_found() -> None:
    # Runs only where the browser tests run; elsewhere it skips like them.
    assert browser.require_chromium() == Path("/usr/bin/chromium")
