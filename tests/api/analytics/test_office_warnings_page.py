"""预警 in /office (Debian's Chromium on a real uvicorn): the department a warning was pushed to sees it
beside its tickets, opens a ticket of it and 签收 it with what it did; another department never sees it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from api.analytics import warnings
from api.core import db as core_db
from api.core.settings import get_settings
from tests.api.analytics.planted import planted_database, served
from tests.api.analytics.test_analytics import bj

pytestmark = pytest.mark.browser


@pytest.fixture
def warned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, list[str]]]]:
    url, found = planted_database(tmp_path, monkeypatch, name="office-warnings.sqlite3", password="chengban-2026",
                                  staff=[{"username": u, "full_name": u, "role": "handler", "department_id": d}
                                         for u, d in (("wangli", "zlsgs"), ("zhaoqiang", "cgj"))])
    with core_db.session_factory()() as s:
        counts = warnings.run_rules(db_session=s, now=bj(2026, 11, 22, 20))
    assert counts["village_cluster"] == 1 and counts["surge"] == 1  # both pushed to 自来水公司 (zlsgs)
    core_db.reset_engine()
    yield url, found
    get_settings.cache_clear()


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/office")
    page.fill("#username", username)
    page.fill("#password", "chengban-2026")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")


def test_department_sees_and_acknowledges_its_warnings_in_office(warned, tmp_path: Path) -> None:
    from tests.support.browser import chromium

    url, found = warned
    with served(url, tmp_path) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, base, "wangli")
        expect(page.locator("#warnings-open")).to_be_visible()
        expect(page.locator("#warnings-count")).to_have_text("2")
        page.click("#warnings-open")
        boxes = page.locator("#warning-list [data-warning]")
        expect(boxes).to_have_count(2)
        cluster = boxes.filter(has_text="同一村居相似诉求集中")
        expect(cluster).to_contain_text("冈南社区")
        expect(cluster).to_contain_text("8件")
        # A ticket of the warning opens in the same pane.
        cluster.get_by_role("button", name=found["burst"][0]).click()
        expect(page.locator("#detail .t-no")).to_have_text(found["burst"][0])
        page.click("#warnings-open")
        cluster = page.locator("#warning-list [data-warning]").filter(has_text="同一村居相似诉求集中")
        cluster.locator("textarea[name=note]").fill("已安排人员到冈南社区检测水质并冲洗管网")
        cluster.get_by_role("button", name="签收预警").click()
        expect(page.locator("#warnings-count")).to_have_text("1")
        done = page.locator("#warning-list .warning.done")
        expect(done).to_have_count(1)
        expect(done).to_contain_text("已由 wangli")
        expect(done).to_contain_text("冲洗管网")
        assert not errors

        # Recorded: the API says who signed and what they did; 城管局 sees only its own (the repeated citizen).
        client = httpx.Client(base_url=base)
        token = client.post("/api/v1/auth/token", data={"username": "zhaoqiang", "password": "chengban-2026"}).json()
        listed = client.get("/api/v1/analytics/warnings", headers={"Authorization": f"Bearer {token['access_token']}"}).json()
        assert [w["kind"] for w in listed] == ["repeat_citizen"]
        page2 = browser.new_page(viewport={"width": 1366, "height": 900})
        _login(page2, base, "zhaoqiang")
        expect(page2.locator("#warnings-count")).to_have_text("1")
        page2.click("#warnings-open")
        expect(page2.locator("#warning-list [data-warning]")).to_have_count(1)
        expect(page2.locator("#warning-list")).not_to_contain_text("冈南社区")
