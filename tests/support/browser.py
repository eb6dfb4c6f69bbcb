"""Debian's Chromium driven by Python Playwright (no browser download: executable_path)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot_path(name: str) -> str:
    """Where a page test saves its screenshot: var/screenshots/ during `make test`, docs/ under
    `make screenshots` (MINSHENG_SCREENSHOTS=docs), so a test run never rewrites tracked files."""
    root = Path(__file__).resolve().parents[2]
    folder = root / "docs" if os.environ.get("MINSHENG_SCREENSHOTS") == "docs" else root / "var" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / name)
