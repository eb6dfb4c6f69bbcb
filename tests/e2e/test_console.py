"""Agents take over: the console and the citizen's chat page in two Chromium contexts."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import Stack
from tests.support.browser import chromium, screenshot_path

pytestmark = pytest.mark.browser
PASSWORD = "staff-password-1"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def citizen_page(browser: Browser, stack: Stack, contexts: list[BrowserContext], conversation_id: str) -> Page:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    contexts.append(context)
    page = context.new_page()
    page.goto(f"{stack.api_url}/chat?c={conversation_id}")
    expect(page.locator("#status")).to_have_text("在线")
    return page


def console_page(browser: Browser, stack: Stack, contexts: list[BrowserContext], username: str) -> Page:
    stack.ensure_staff(username, "agent", PASSWORD, full_name=f"坐席{username[-1]}")
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    contexts.append(context)
    page = context.new_page()
    page.goto(f"{stack.api_url}/console")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-form button")
    expect(page.locator("#live-status")).to_have_text("实时")
    return page


def say(page: Page, text: str) -> None:
    page.fill("#input", text)
    page.click("#send")


def test_agent_takes_over_talks_and_hands_back(browser: Browser, stack: Stack, contexts: list[BrowserContext]) -> None:
    conversation_id = stack.new_conversation_id()
    citizen = citizen_page(browser, stack, contexts, conversation_id)
    agent = console_page(browser, stack, contexts, "agent1")

    say(citizen, "我要投诉，建阳镇双河村的路灯坏了半个月了")
    expect(citizen.locator(".msg.bot")).not_to_have_count(1)
    say(citizen, "转人工")
    row = agent.locator(f'#queue li[data-id="{conversation_id}"]')
    expect(row).to_be_visible(timeout=30_000)  # appears without a reload
    expect(row).to_contain_text("市民要求人工")
    row.click()
    expect(agent.locator("#detail .transcript")).to_contain_text("路灯坏了半个月")
    expect(agent.locator("#detail .transcript .nlu").first).to_contain_text("complaint")
    agent.screenshot(path=screenshot_path("console-queue.png"))

    agent.click("#detail .takeover")
    expect(citizen.locator(".msg.system").last).to_contain_text("人工坐席已经接入")
    expect(agent.locator("#detail .handback")).to_be_enabled()
    agent.fill("#detail .reply textarea", "您好，我是12345坐席，路灯的事我来帮您登记。")
    agent.click("#detail .reply button")
    expect(citizen.locator(".msg.agent").last).to_contain_text("我是12345坐席")

    bot_replies_before = citizen.locator(".msg.bot").count()
    say(citizen, "<script>document.title='pwned'</script>灯杆编号是JH-0231")
    transcript = agent.locator("#detail .transcript")
    expect(transcript).to_contain_text("<script>document.title='pwned'</script>灯杆编号是JH-0231")
    assert agent.title() != "pwned" and citizen.title() != "pwned"
    citizen.wait_for_timeout(1500)
    assert citizen.locator(".msg.bot").count() == bot_replies_before, "the bot must stay silent in agent mode"

    # A second agent cannot take the same conversation.
    other = console_page(browser, stack, contexts, "agent2")
    other.locator(f'#live li[data-id="{conversation_id}"]').click()
    other.click("#detail .takeover")
    expect(other.locator("#detail .notice")).to_contain_text("已由坐席 agent1 接管")
    headers = stack.login("agent2", PASSWORD)
    refused = httpx.post(f"{stack.api_url}/api/v1/console/conversations/{conversation_id}/takeover",
                         headers=headers, timeout=30)
    assert refused.status_code == 409
    agent.screenshot(path=screenshot_path("console-takeover.png"))

    agent.click("#detail .handback")
    expect(citizen.locator(".msg.system").last).to_contain_text("交回给智能客服")
    expect(citizen.locator(".msg.bot")).not_to_have_count(bot_replies_before, timeout=30_000)
    say(citizen, "昨天晚上发现的")
    expect(citizen.locator(".msg.bot")).not_to_have_count(bot_replies_before + 1, timeout=30_000)

    events = [e["action"] for e in stack_events(stack, conversation_id, headers=stack.login("agent1", PASSWORD))]
    assert events.count("takeover") == 1
    assert "takeover_refused" in events and "agent_message" in events and "hand_back" in events


def stack_events(stack: Stack, conversation_id: str, headers: dict[str, str]) -> list[dict]:
    response = httpx.get(f"{stack.api_url}/api/v1/console/conversations/{conversation_id}", headers=headers, timeout=30)
    response.raise_for_status()
    return response.json()["events"]


def test_console_needs_a_staff_login(stack: Stack) -> None:
    assert httpx.get(f"{stack.api_url}/api/v1/console/conversations", timeout=30).status_code == 401
    handler = stack.ensure_staff("handler-x", "handler", department_id="zjj")
    assert httpx.get(f"{stack.api_url}/api/v1/console/conversations", headers=handler, timeout=30).status_code == 403
