"""The staff page in Debian's Chromium: login, start and pause a campaign, live progress, results, Excel."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from api.callbacks import campaigns, queue
from api.callbacks.policy import Outcome, current_policy
from api.core import db as core_db
from tests.callbacks.conftest import api_server, make_ticket

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@contextmanager
def served_page(tmp_path: Path) -> Iterator[Page]:
    """The API under uvicorn on this test's database, and the page signed in as 张丽 (坐席)."""
    from api.auth.models import User
    from api.auth.security import hash_password
    from tests.support.browser import chromium

    with core_db.session_factory()() as s:
        s.add(User(username="zhangli", full_name="张丽", role="agent", password_hash=hash_password("huifang-2026")))
        s.commit()
    with api_server(tmp_path) as url, chromium() as browser:
        page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 1100}, locale="en-US")
        page.goto(f"{url}/callbacks")
        page.fill("#username", "zhangli")
        page.fill("#password", "huifang-2026")
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#app:not([hidden])")
        yield page


def test_staff_page(database: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from tests.support.browser import screenshot_path

    with core_db.session_factory()() as s:
        good = make_ticket(s, phone="13805150101")
        bad = make_ticket(s, phone="13805150102", department="scjgj")
        campaigns.start_campaign(db_session=s, actor="zhangli")
        for _ in (good, bad):
            claim = queue.claim(db_session=s, worker="gw-1")
            assert claim is not None
            rating = "满意" if claim.job.ticket_id == good.id else "不满意"
            queue.report(db_session=s, job_id=claim.job.id, token=claim.job.lease_token or "", result=queue.Result(
                outcome=Outcome.completed, solved=rating == "满意", rating=rating,
                reason=None if rating == "满意" else "噪音还是很大"))
        campaigns.set_campaign_status(db_session=s, campaign_id=campaigns.list_campaigns(db_session=s)[0].id, status="paused")
        make_ticket(s, phone="13805150103")  # still to call today
    with served_page(tmp_path) as page:
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


def test_page_is_honest_about_later_jobs_reads_chinese_dates_and_names_departments(database: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from api.auth.deps import Principal
    from api.auth.models import Role
    from api.callbacks.models import CallbackJob
    from api.tickets import transitions
    from api.tickets.models import Ticket
    from api.tickets.schemas import TransitionIn
    from tests.support.browser import screenshot_path

    with core_db.session_factory()() as s:
        tomorrow = make_ticket(s, phone="13805150201")
        manual = make_ticket(s, phone="13805150202", department="scjgj")
        queue.sync(db_session=s)
        job = s.scalar(select(CallbackJob).where(CallbackJob.ticket_id == tomorrow.id))
        job.next_attempt_at = datetime.now(UTC) + timedelta(days=1, hours=1)  # queued for tomorrow
        s.commit()
        # An agent rang this citizen and recorded 基本满意 on the ticket by hand.
        transitions.transition(db_session=s, ticket=s.get(Ticket, manual.id),
                                    principal=Principal(username="zhangli", role=Role.agent),
                                    body=TransitionIn(action="close", satisfaction="基本满意", note="坐席电话回访，基本满意"))
        queue.sync(db_session=s)
        later_no, manual_no = tomorrow.ticket_no, manual.ticket_no
    with served_page(tmp_path) as page:
        # Nothing to ring today, but one job is queued for tomorrow: the page says so.
        expect(page.locator("[data-k=scheduled_later]")).to_have_text("1")
        expect(page.locator("#later")).to_contain_text("另有 1 个回访已排期")
        # The manual rating is a finished follow-up that counts in 满意率.
        page.wait_for_selector("#stats tr.total")
        assert "100.0%" in page.text_content("#stats tr.total")
        expect(page.locator("#results")).to_contain_text("人工回访")
        expect(page.locator("#results")).to_contain_text("基本满意")

        # No browser date pickers (an en-US browser shows them as mm/dd/yyyy): dates are typed the Chinese way.
        assert page.locator("input[type=date]").count() == 0
        today = datetime.now(UTC).astimezone(current_policy().tz).date()
        page.fill("#filters input[name=start]", f"{today.year}-{today.month}-{today.day}")
        page.fill("#filters input[name=end]", f"{today.month}月{today.day}日")
        page.click("#filters button[type=submit]")
        expect(page.locator("#filters input[name=start]")).to_have_value(f"{today.year}年{today.month}月{today.day}日")
        expect(page.locator("#results tr")).to_have_count(2)
        page.fill("#filters input[name=end]", "12/31/2026")
        page.click("#filters button[type=submit]")
        expect(page.locator("#notice")).to_contain_text("请按“2026年12月3日”的格式填写")

        # The department filter is a list of names, not a code to remember.
        page.fill("#filters input[name=end]", "")
        assert page.locator("#filters input[name=department]").count() == 0
        page.select_option("#department", label="城管局")
        page.click("#filters button[type=submit]")
        expect(page.locator("#results tr")).to_have_count(1)
        expect(page.locator("#results")).to_contain_text(later_no)
        page.select_option("#department", label="市场监管局")
        page.click("#filters button[type=submit]")
        expect(page.locator("#results tr")).to_have_count(1)
        expect(page.locator("#results")).to_contain_text(manual_no)
        page.screenshot(path=screenshot_path("callbacks-page-scheduled.png"), full_page=True)
