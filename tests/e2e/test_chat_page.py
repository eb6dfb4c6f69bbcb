"""The citizen chat page in Debian's Chromium: Mandarin, phone-sized, buttons, reconnect without loss."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Stack
from tests.support.browser import chromium, screenshot_path

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def phone_page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{stack.web_proxy.port}/chat?c={stack.new_conversation_id()}")
    yield page
    context.close()


def say(page: Page, text: str) -> None:
    page.fill("#input", text)
    page.click("#send")


def test_chat_page_is_mandarin_and_fits_a_phone(phone_page: Page) -> None:
    expect(phone_page.locator(".msg.bot").first).to_contain_text("12345")
    expect(phone_page.locator("#status")).to_have_text("在线")
    assert phone_page.evaluate("document.documentElement.lang") == "zh-CN"
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390


def test_conversation_with_buttons_and_markup_shown_as_text(phone_page: Page, stack: Stack) -> None:
    say(phone_page, "<b>你好</b><script>window.pwned=1</script>")
    expect(phone_page.locator(".msg.citizen").first).to_have_text("<b>你好</b><script>window.pwned=1</script>")
    assert phone_page.evaluate("window.pwned") is None
    expect(phone_page.locator(".msg.bot")).not_to_have_count(1)  # a bot reply arrived after the greeting
    say(phone_page, "我要投诉，建阳镇双河村村口的路灯坏了半个月了，晚上一片漆黑")
    # Sooner or later the bot offers buttons (e.g. 确认/修改, 是/否); clicking one sends it.
    for answer in ["昨天晚上", "我姓王", "13912345678", "不用保密"]:
        if phone_page.locator(".buttons button:enabled").count():
            break
        say(phone_page, answer)
        phone_page.wait_for_timeout(1500)
    buttons = phone_page.locator(".buttons button:enabled")
    expect(buttons.first).to_be_visible(timeout=60_000)
    before = phone_page.locator(".msg").count()
    title = buttons.first.inner_text()
    buttons.first.click()
    expect(phone_page.locator(".msg.citizen").last).to_have_text(title)
    expect(phone_page.locator(".msg")).not_to_have_count(before + 1, timeout=60_000)
    phone_page.screenshot(path=screenshot_path("chat-page.png"), full_page=True)


def test_reconnects_after_a_network_drop_without_losing_anything(phone_page: Page, stack: Stack) -> None:
    say(phone_page, "你好")
    expect(phone_page.locator(".msg.bot")).not_to_have_count(1, timeout=60_000)
    stack.web_proxy.cut()
    try:
        expect(phone_page.locator("#status")).to_contain_text("断开", timeout=30_000)
        say(phone_page, "我要反映噪音扰民的问题")  # typed while offline: waits in the outbox
        expect(phone_page.locator(".msg.citizen.queued")).to_have_count(1)
    finally:
        stack.web_proxy.resume()
    expect(phone_page.locator("#status")).to_have_text("在线", timeout=30_000)
    expect(phone_page.locator(".msg.citizen.queued")).to_have_count(0, timeout=60_000)
    expect(phone_page.locator(".msg.citizen")).to_have_count(2)
    conversation_id = phone_page.evaluate("window.minsheng.conversationId")
    citizen = [m["text"] for m in stack.get_conversation(conversation_id)["messages"] if m["role"] == "citizen"]
    assert citizen == ["你好", "我要反映噪音扰民的问题"]
    # A reload (or a new tab) shows the same conversation.
    phone_page.reload()
    expect(phone_page.locator(".msg.citizen")).to_have_count(2)
