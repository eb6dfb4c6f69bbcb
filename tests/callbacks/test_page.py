"""The staff page in Debian's Chromium: login, start and pause a campaign, live progress, results, Excel."""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

from api.callbacks import service
from api.callbacks.policy import Outcome
from api.core import db as core_db
from tests.callbacks.conftest import SERVICE_TOKEN, make_ticket
from tests.support.processes import ROOT, Service, free_port

pytestmark = pytest.mark.browser


def test_staff_page(database: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from api.auth.models import User
    from api.auth.security import hash_password
    from tests.support.browser import chromium, screenshot_path

    with core_db.session_factory()() as s:
        s.add(User(username="zhangli", full_name="张丽", role="agent", password_hash=hash_password("huifang-2026")))
        s.commit()
        good = make_ticket(s, phone="13805150101")
        bad = make_ticket(s, phone="13805150102", department="scjgj")
        service.start_campaign(db_session=s, actor="zhangli")
        for _ in (good, bad):
            claim = service.claim(db_session=s, worker="gw-1")
            assert claim is not None
            rating = "满意" if claim.job.ticket_id == good.id else "不满意"
            service.report(db_session=s, job_id=claim.job.id, token=claim.job.lease_token or "", result=service.Result(
                outcome=Outcome.completed, solved=rating == "满意", rating=rating,
                reason=None if rating == "满意" else "噪音还是很大"))
        service.set_campaign_status(db_session=s, campaign_id=service.list_campaigns(db_session=s)[0].id, status="paused")
        make_ticket(s, phone="13805150103")  # still to call today
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.startswith("MINSHENG_")}
    env.update({"MINSHENG_SERVICE_TOKEN": SERVICE_TOKEN, "MINSHENG_SCHEDULER_INTERVAL_SECONDS": "0"})
    api = Service("api", [str(ROOT / ".venv/bin/uvicorn"), "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
                  env, tmp_path)
    try:
        api.wait_http(f"http://127.0.0.1:{port}/health", timeout=120)
        with chromium() as browser:
            page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 1100})
            page.goto(f"http://127.0.0.1:{port}/callbacks")
            page.fill("#username", "zhangli")
            page.fill("#password", "huifang-2026")
            page.click("#login-form button[type=submit]")
            page.wait_for_selector("#app:not([hidden])")
            expect(page.locator("[data-k=done]")).to_have_text("2")
            assert "已暂停" in page.text_content("#campaign")
            page.click("#resume")
            expect(page.locator("#campaign")).to_contain_text("进行中")
            expect(page.locator("#queue")).to_contain_text("待拨打")
            page.wait_for_selector("#stats tr.total")
            assert "50.0%" in page.text_content("#stats tr.total")
            page.select_option("#filters select[name=rating]", "不满意")
            page.click("#filters button[type=submit]")
            expect(page.locator("#results tr")).to_have_count(1)
            assert "噪音还是很大" in page.text_content("#results")
            with page.expect_download() as download:
                page.click("#export")
            book = load_workbook(BytesIO(Path(download.value.path()).read_bytes()))
            rows = list(book["回访结果"].iter_rows(values_only=True))
            assert len(rows) == 2 and rows[1][6] == "不满意"
            page.screenshot(path=screenshot_path("callbacks-page.png"), full_page=True)
    finally:
        api.stop()
