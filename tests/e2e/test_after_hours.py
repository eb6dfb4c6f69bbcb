"""After hours with nobody on duty: the bot says when agents are back and offers a callback, which
lands in the agents' morning queue with the filed ticket. (No console is connected in these tests,
so nobody is on duty whatever the clock says.)"""

from __future__ import annotations

import re
import uuid

import httpx

from tests.e2e.conftest import Stack
from tests.e2e.test_intake_conversations import TICKET_NO, Conversation


def answer_until_read_back(c: Conversation, phone: str) -> str:
    """Answer whatever the intake form asks, the way a citizen would, until the read-back."""
    answers = {"什么地方": "建阳镇双河村村口", "哪个镇": "建阳镇", "具体": "双河村村口那条路", "什么时候": "昨天晚上",
               "称呼": "我姓王", "电话": phone, "号码": phone, "保密": "不用保密"}
    text = "\n".join(r["text"] for r in c.replies)
    for _ in range(10):
        if "核对" in text:
            return text
        reply = next((a for q, a in answers.items() if q in text), None)
        assert reply, f"unexpected question: {text}"
        text = c.say(reply)
    raise AssertionError(f"no read-back: {text}")


def test_after_hours_callback_is_offered_filed_and_queued(stack: Stack) -> None:
    phone = "139" + f"{uuid.uuid4().int % 10**8:08d}"
    c = Conversation(stack)
    c.say("我要投诉，我们村口的路灯坏了半个多月了，晚上一片漆黑")
    offered = c.say("转人工")
    assert "下班时间" in offered and "回电" in offered
    assert re.search(r"\d{1,2}:\d{2}", offered), offered  # says when agents are back
    assert [b["title"] for r in c.replies for b in r.get("buttons") or []] == ["需要回电", "不用了"]
    c.click("需要回电")
    read_back = answer_until_read_back(c, phone)
    assert phone[-4:] in read_back.replace(" ", "")
    filed = c.click("确认提交")
    assert TICKET_NO.search(filed) and "回电也帮您登记好了" in filed

    agent = stack.ensure_staff("agent-morning", "agent")
    queue = httpx.get(f"{stack.api_url}/api/v1/console/callback-requests", headers=agent, timeout=30).json()
    mine = [r for r in queue if r["conversation_id"] == c.id]
    assert len(mine) == 1
    assert mine[0]["phone_masked"] == phone[:3] + "****" + phone[-4:]  # masked in the list
    assert TICKET_NO.search(mine[0]["note"])


def test_declining_the_callback_carries_on_with_the_report(stack: Stack) -> None:
    c = Conversation(stack)
    c.say("我要反映我们小区的垃圾好几天没人清运了")
    assert "下班时间" in c.say("转人工")
    carried_on = c.click("不用了")
    assert "接着帮您" in carried_on
    assert "?" in carried_on or "？" in carried_on  # the form asks its next question
