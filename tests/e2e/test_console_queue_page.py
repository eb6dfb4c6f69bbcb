"""The console's 待人工处理 list and its 提交工单 in Chromium (uvicorn on SQLite; no Rasa needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.core import db as core_db
from tests.callbacks.conftest import api_server, database  # noqa: F401 — `database` is the fixture
from tests.e2e.console_seed import CHATTING, FINISHED, LONGEST, QUEUE_ORDER, seed_queue

pytestmark = pytest.mark.browser
PASSWORD = "zuoxi-2026"


def test_queue_order_rows_and_one_ticket_per_conversation(database: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from api.auth.models import User
    from api.auth.security import hash_password
    from tests.support.browser import chromium, screenshot_path

    with core_db.session_factory()() as s:
        s.add(User(username="agent7", full_name="坐席七", role="agent", password_hash=hash_password(PASSWORD)))
        s.commit()
        seed_queue(s)
    with api_server(tmp_path) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page.goto(f"{url}/console")
        page.fill("#username", "agent7")
        page.fill("#password", PASSWORD)
        page.click("#login-form button")
        expect(page.locator("#live-status")).to_have_text("实时")

        queue = page.locator("#queue li")
        expect(queue).to_have_count(3)
        assert [queue.nth(i).get_attribute("data-id") for i in range(3)] == QUEUE_ORDER  # risk, then longest wait
        longest = page.locator(f'#queue li[data-id="{LONGEST}"]')
        expect(longest.locator(".place")).to_have_text("近湖街道人民路冠华路路口")
        expect(longest.locator(".summary")).to_contain_text("路灯坏了一个多星期")
        expect(longest).not_to_contain_text("13812345678")
        expect(longest).to_contain_text("意图：inform")  # the latest turn's, not the opening complaint's
        expect(page.locator(f'#live li[data-id="{CHATTING}"]')).to_be_visible()
        expect(page.locator(f'li[data-id="{FINISHED}"]')).to_have_count(0)  # its ticket is filed: it left
        page.screenshot(path=screenshot_path("console-queue-order.png"))

        # 提交工单 twice for one conversation: the second is refused with the number and what to do.
        longest.click()
        draft = page.locator("#detail .draft")
        draft.locator("textarea[name=description]").fill("人民路冠华路路口路灯坏了一个多星期，晚上很黑")
        draft.locator("input[name=location]").fill("近湖街道人民路冠华路路口")
        draft.locator("input[name=phone]").fill("13812345678")
        draft.locator("button[type=submit]").click()
        filed = page.locator("#detail .filed")
        expect(filed).to_contain_text("已提交，工单号 JH", timeout=120_000)
        first_no = filed.text_content().split("工单号 ")[1].split("（")[0].strip()
        draft.locator("textarea[name=description]").fill("人民路冠华路路口路灯坏了一个多星期，晚上很黑，老人摔了一跤")
        draft.locator("button[type=submit]").click()
        notice = page.locator("#detail .notice")
        expect(notice).to_contain_text(f"本次对话已登记工单 {first_no}")
        expect(notice).to_contain_text("另一诉求")
        # Another matter raised in the same chat is filed on purpose, as its own ticket.
        draft.locator("textarea[name=description]").fill("小区门口饭店油烟很大，熏得没法开窗")
        draft.locator("input[name=another_matter]").check()
        draft.locator("button[type=submit]").click()
        expect(filed).not_to_contain_text(first_no, timeout=120_000)
        expect(filed).to_contain_text("已提交，工单号 JH")
        page.screenshot(path=screenshot_path("console-second-ticket.png"))
