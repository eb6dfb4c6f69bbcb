"""/docs (Swagger UI) renders in Chromium from the project's own files, under the CSP, with no other host."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.callbacks.conftest import api_server, database  # noqa: F401 — `database` is the fixture

pytestmark = pytest.mark.browser


def test_api_reference_renders_offline(database: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from tests.support.browser import chromium

    with api_server(tmp_path) as url, chromium() as browser:
        page = browser.new_page()
        hosts: set[str] = set()
        page.on("request", lambda request: hosts.add(urlparse(request.url).netloc))
        refused: list[str] = []
        page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
        page.goto(f"{url}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Minsheng", timeout=60_000)  # the schema is built on first use
        expect(page.locator(".opblock-tag-section").first).to_be_visible()
        assert hosts == {urlparse(url).netloc}, hosts
        assert refused == [], refused
