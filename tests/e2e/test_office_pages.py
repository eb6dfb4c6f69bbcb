"""The 工单工作台 (/office) in Debian's Chromium, several staff signed in at once, each in their own context.

A real uvicorn on a temp SQLite database with its scheduler running (overdue marking, 提级督办);
tickets arrive as the bot files them (service token), everything after that is done on the pages.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import httpx
import pytest

from tests.support.processes import ROOT, Service, free_port

pytestmark = pytest.mark.browser

SERVICE_TOKEN = "office-e2e-service-token"
ADMIN_PASSWORD = "office-e2e-admin"
PASSWORD = "staff-pass-2026"
STAFF = {
    "zhao_pd": {"role": "dispatcher", "full_name": "赵敏"},
    "li_cg": {"role": "handler", "department_id": "cgj", "full_name": "李强"},
    "wang_ga": {"role": "handler", "department_id": "gaj", "full_name": "王磊"},
    "sun_db": {"role": "supervisor", "full_name": "孙红"},
    "liu_ld": {"role": "leader", "leader_id": "deputy_urban", "full_name": "刘志强"},
    "zhou_hf": {"role": "agent", "full_name": "周婷"},
}


@dataclass
class Office:
    url: str
    db_url: str
    browser: object

    def file(self, **fields) -> str:
        body = {"demand_type": "complaint", "description": "人民路和冠华路路口的路灯坏了一个多星期，晚上很黑，走路不安全",
                "location": "近湖街道人民路冠华路路口", "location_town": "近湖街道", "phone": "13812345678",
                "citizen_name": "王建华", **fields}
        r = httpx.post(f"{self.url}/api/v1/tickets", json=body, timeout=180,
                       headers={"Authorization": f"Bearer {SERVICE_TOKEN}", "Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 201, r.text
        return r.json()["ticket_no"]

    def ticket(self, ticket_no: str) -> dict:
        r = httpx.get(f"{self.url}/api/v1/tickets/{ticket_no}", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}, timeout=30)
        return r.json()

    def signed_in(self, username: str, viewport: dict | None = None):
        from playwright.sync_api import expect

        context = self.browser.new_context(viewport=viewport or {"width": 1366, "height": 768}, accept_downloads=True,
                                           locale="zh-CN")
        page = context.new_page()
        page.goto(f"{self.url}/office")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        expect(page.locator("body[data-live=on]")).to_have_count(1, timeout=20_000)
        return page

    def past_deadline(self, ticket_no: str) -> None:
        """The county clock moved past the 办结时限 (the scheduler then does what it does every minute)."""
        from sqlalchemy import create_engine, select
        from sqlalchemy.orm import Session

        from api.core.db import utcnow
        from api.tickets.models import Ticket

        engine = create_engine(self.db_url)
        with Session(engine) as s:
            t = s.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))
            t.complete_due_at = utcnow() - timedelta(hours=2)
            s.commit()
        engine.dispose()


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x30\x90\x30" * 8 for _ in range(8))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    from tests.support.browser import chromium

    work = tmp_path_factory.mktemp("office")
    port = free_port()
    db_url = f"sqlite:///{work / 'office.sqlite3'}"
    env = {"MINSHENG_ENV": "development", "MINSHENG_DATABASE_URL": db_url, "MINSHENG_SERVICE_TOKEN": SERVICE_TOKEN,
           "MINSHENG_FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD, "MINSHENG_RASA_URL": "http://127.0.0.1:9",
           "MINSHENG_AUTO_DISPATCH": "false", "MINSHENG_SCHEDULER_INTERVAL_SECONDS": "1", "MINSHENG_BCRYPT_ROUNDS": "4",
           "MINSHENG_OFFICE_ATTACHMENTS_DIR": str(work / "attachments"), "MINSHENG_OFFICE_LIVE_POLL_SECONDS": "0.5"}
    api = Service("api", [str(ROOT / ".venv/bin/uvicorn"), "api.main:app", "--host", "127.0.0.1", "--port", str(port)], env, work)
    try:
        url = f"http://127.0.0.1:{port}"
        api.wait_http(f"{url}/health", timeout=180)
        admin = httpx.post(f"{url}/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}, timeout=30).json()
        for username, spec in STAFF.items():
            r = httpx.post(f"{url}/api/v1/users", json={"username": username, "password": PASSWORD, **spec}, timeout=30,
                           headers={"Authorization": f"Bearer {admin['access_token']}"})
            assert r.status_code == 201, r.text
        with chromium() as browser:
            yield Office(url=url, db_url=db_url, browser=browser)
    finally:
        api.stop()


def _open(page, ticket_no: str) -> None:
    from playwright.sync_api import expect

    before = page.locator("#detail").get_attribute("data-rendered") or "0"
    page.click(f"#list tr[data-no='{ticket_no}']")
    expect(page.locator("#detail")).not_to_have_attribute("data-rendered", before)  # this click's view, not the last one
    expect(page.locator("#detail .t-no")).to_have_text(ticket_no)


def _dispatch(page, ticket_no: str, department: str) -> None:
    """The dispatcher opens the ticket and sends it to one department."""
    from playwright.sync_api import expect

    _open(page, ticket_no)
    page.select_option("#detail .dispatch select[name=department]", department)
    page.click("#detail .do-dispatch")
    expect(page.locator("#detail .notice")).to_have_text("已派单")


def test_dispatch_sign_reply_review_follow_up_all_on_the_pages(office: Office, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from tests.support.browser import screenshot_path

    no = office.file()
    office.file(description="我想反映个事情，具体的我也说不清楚", location=None, location_town=None, phone="13900001234")
    dispatcher = office.signed_in("zhao_pd")
    unit = office.signed_in("li_cg")
    reviewer = office.signed_in("sun_db")
    follow_up = office.signed_in("zhou_hf")

    # 派单员: the queue, the suggestion with its reasons; keyboard: J to the ticket, D to dispatch.
    expect(dispatcher.locator(f"#list tr[data-no='{no}']")).to_have_count(1)
    _open(dispatcher, no)
    expect(dispatcher.locator("#detail .suggestion .reasons li").first).to_be_visible()
    dispatcher.select_option("#detail .dispatch select[name=department]", "cgj")
    dispatcher.screenshot(path=screenshot_path("office-dispatcher.png"))
    dispatcher.locator("#detail .t-no").click()  # focus out of the form: D is a shortcut, not a letter typed
    dispatcher.keyboard.press("d")
    expect(dispatcher.locator("#detail .notice")).to_have_text("已派单")

    # 承办单位: the new ticket arrives without a reload; sign, start, reply with an attachment.
    expect(unit.locator(f"#list tr[data-no='{no}']")).to_have_count(1, timeout=15_000)
    expect(unit.locator("#toast")).to_contain_text(no)
    _open(unit, no)
    assert "13812345678" not in unit.content() and "138****5678" in unit.locator("#detail .facts").inner_text()
    unit.click("#detail .do-sign")
    expect(unit.locator("#detail .notice")).to_have_text("已签收")
    unit.click("#detail .do-start")
    expect(unit.locator("#detail .notice")).to_have_text("已开始办理")
    unit.fill("#detail .reply textarea", "经现场核查，人民路冠华路路口路灯线路老化，已于今日更换灯具并恢复照明。")
    photo = tmp_path / "路灯已修复.png"
    photo.write_bytes(_png())
    unit.set_input_files("#detail .reply input[type=file]", str(photo))
    unit.click("#detail .do-reply")
    expect(unit.locator("#detail .notice")).to_have_text("已答复")
    expect(unit.locator("#detail .attachments")).to_contain_text("路灯已修复.png")
    unit.screenshot(path=screenshot_path("office-unit.png"))

    # 审核: the reply appears by itself; the citizen's words and the reply side by side; one decision.
    expect(reviewer.locator(f"#list tr[data-no='{no}']")).to_have_count(1, timeout=15_000)
    _open(reviewer, no)
    sides = reviewer.locator("#detail .review .sides")
    expect(sides).to_contain_text("路灯坏了一个多星期")
    expect(sides).to_contain_text("已于今日更换灯具")
    expect(sides).to_contain_text("路灯已修复.png")
    reviewer.screenshot(path=screenshot_path("office-review.png"))
    reviewer.click("#detail .do-approve")
    expect(reviewer.locator("#detail .notice")).to_have_text("审核通过，转入回访")

    # 回访: the follow-up records 满意 and the ticket is closed.
    follow_up.reload()
    expect(follow_up.locator(f"#list tr[data-no='{no}']")).to_have_count(1, timeout=15_000)
    _open(follow_up, no)
    follow_up.select_option("#detail .callback select[name=satisfaction]", "满意")
    follow_up.click("#detail .do-close")
    expect(follow_up.locator("#detail .notice")).to_have_text("回访结果已记录")
    ticket = office.ticket(no)
    assert ticket["status"] == "已办结" and ticket["satisfaction"] == "满意"
    # The whole timeline is on the ticket page: intake, dispatch, sign, reply, the attachment, review, close.
    timeline = follow_up.locator("#detail ol.timeline").inner_text()
    for label in ("受理", "派单", "签收", "答复", "上传附件", "审核通过", "回访办结"):
        assert label in timeline, label
    # Excel of the list on screen.
    follow_up.click("#views [data-view=search]")
    with follow_up.expect_download() as download:
        follow_up.click("#export")
    from openpyxl import load_workbook

    assert download.value.suggested_filename.endswith(".xlsx")
    rows = list(load_workbook(BytesIO(Path(download.value.path()).read_bytes())).active.iter_rows(values_only=True))
    assert rows[0][0] == "工单号" and no in [r[0] for r in rows[1:]] and "13812345678" not in repr(rows)
    for page in (dispatcher, unit, reviewer, follow_up):
        page.context.close()


def test_return_then_reassign(office: Office) -> None:
    from playwright.sync_api import expect

    no = office.file(description="小区门口的路灯不亮了，已经三天了")
    dispatcher = office.signed_in("zhao_pd")
    wrong = office.signed_in("wang_ga")
    right = office.signed_in("li_cg")
    _dispatch(dispatcher, no, "gaj")

    expect(wrong.locator(f"#list tr[data-no='{no}']")).to_have_count(1, timeout=15_000)
    _open(wrong, no)
    wrong.fill("#detail .return textarea", "路灯维护属城管局职责，不属于公安局，请改派城管局。")
    wrong.click("#detail .do-return")
    expect(wrong.locator("#detail .notice")).to_have_text("已退单")
    expect(wrong.locator(f"#list tr[data-no='{no}']")).to_have_count(0)

    # Back in the dispatcher's queue (live), marked 已退单; 改派 with a reason.
    row = dispatcher.locator(f"#list tr[data-no='{no}']")
    expect(row).to_contain_text("已退单", timeout=15_000)
    _open(dispatcher, no)
    expect(dispatcher.locator("#detail .tag.status")).to_have_text("已退单")
    expect(dispatcher.locator("#detail ol.timeline")).to_contain_text("不属于公安局")
    dispatcher.select_option("#detail .dispatch select[name=department]", "cgj")
    dispatcher.fill("#detail .dispatch textarea", "按退单意见改派城管局")
    dispatcher.click("#detail .do-dispatch")
    expect(dispatcher.locator("#detail .notice")).to_have_text("已改派")
    expect(right.locator(f"#list tr[data-no='{no}']")).to_have_count(1, timeout=15_000)
    assert office.ticket(no)["lead_department"] == "cgj"
    for page in (dispatcher, wrong, right):
        page.context.close()


def test_overdue_turns_red_and_reaches_the_supervision_list(office: Office) -> None:
    from playwright.sync_api import expect

    from tests.support.browser import screenshot_path

    no = office.file(description="冠华路排水沟堵塞，下雨就积水，门面房都进水了", phone="13855556666")
    dispatcher = office.signed_in("zhao_pd")
    _dispatch(dispatcher, no, "cgj")
    dispatcher.context.close()
    unit = office.signed_in("li_cg")
    supervisor = office.signed_in("sun_db")
    leader = office.signed_in("liu_ld")
    row = unit.locator(f"#list tr[data-no='{no}']")
    expect(row).not_to_have_class("overdue")

    office.past_deadline(no)
    # The scheduler marks it overdue and escalates; the unit's row turns red without a reload.
    expect(row).to_have_class("overdue", timeout=20_000)
    expect(row.locator("td.due")).to_have_css("color", "rgb(200, 16, 46)")
    expect(row).to_contain_text("已超期")
    unit.screenshot(path=screenshot_path("office-unit-overdue.png"))

    supervisor.click("#views [data-view=escalated]")
    expect(supervisor.locator("#list-title")).to_have_text("提级督办")
    escalated = supervisor.locator(f"#list tr[data-no='{no}']")
    expect(escalated).to_have_count(1, timeout=15_000)
    expect(escalated).to_have_class("overdue")
    _open(supervisor, no)
    supervisor.click("#detail .supervisions .do-preview")
    letter = supervisor.locator("#detail .letter")
    expect(letter).to_contain_text("督 办 函")
    expect(letter).to_contain_text(no)
    assert "13855556666" not in letter.inner_text()
    with supervisor.expect_download() as download:
        supervisor.click("#detail .supervisions button:has-text('下载 .docx')")
    assert Path(download.value.path()).read_bytes()[:2] == b"PK"
    supervisor.screenshot(path=screenshot_path("office-supervisor.png"))

    # 分管领导: the 双交办 copy and the overdue list.
    expect(leader.locator(f"#list tr[data-no='{no}']")).to_have_count(1, timeout=15_000)
    leader.click("#views [data-view=overdue]")
    expect(leader.locator("#list-title")).to_have_text("已超期")
    expect(leader.locator(f"#list tr[data-no='{no}']")).to_have_class("overdue", timeout=15_000)
    leader.screenshot(path=screenshot_path("office-leader.png"))
    for page in (unit, supervisor, leader):
        page.context.close()


def test_a_department_sees_neither_another_departments_ticket_nor_a_full_number(office: Office) -> None:
    from playwright.sync_api import expect

    from tests.support.browser import screenshot_path

    theirs = office.file(description="有人在我们小区偷电动车，我电话13877778888", phone="13877778888")
    dispatcher = office.signed_in("zhao_pd")
    _dispatch(dispatcher, theirs, "gaj")
    dispatcher.context.close()

    other = office.signed_in("li_cg")
    other.fill("#search [name=ticket_no]", theirs)
    other.click("#search button[type=submit]")
    expect(other.locator("#list-total")).to_have_text("共 0 件")
    other.fill("#search [name=ticket_no]", "")
    other.fill("#search [name=phone_last4]", "8888")
    other.click("#search button[type=submit]")
    expect(other.locator("#list-total")).to_have_text("共 0 件")
    assert theirs not in other.content()

    owner = office.signed_in("wang_ga", viewport={"width": 390, "height": 844})  # a phone
    expect(owner.locator(f"#list tr[data-no='{theirs}']")).to_have_count(1)
    owner.screenshot(path=screenshot_path("office-phone.png"))
    _open(owner, theirs)
    expect(owner.locator("#detail .facts")).to_contain_text("138****8888")
    assert "13877778888" not in owner.content()
    expect(owner.locator(".list-pane")).to_be_hidden()  # the ticket takes the phone's screen
    owner.click("#detail .back")
    expect(owner.locator(".list-pane")).to_be_visible()
    for page in (other, owner):
        page.context.close()
