"""Knowledge answers, ticket status and 催办 through the real stack (hub → Rasa → actions → API).

- a consultation in the FAQ is answered with its source and date, then "解决了吗"; 没解决 → intake
- status lookup: a wrong phone is refused with the same words as an unknown number; the right
  phone gets the status; 催办 is recorded on the ticket (its events, as staff see them)
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_intake_conversations import Conversation, unique_mobile

pytestmark = pytest.mark.usefixtures("warm_stack")


def file_ticket(stack: Stack, phone: str) -> str:
    body = {
        "demand_type": "complaint",
        "description": "冠华路上的路灯坏了一个多星期，晚上很黑",
        "location": "近湖街道冠华路",
        "location_town": "近湖街道",
        "phone": phone,
        "citizen_name": "王建华",
    }
    r = httpx.post(f"{stack.api_url}/api/v1/tickets", json=body,
                   headers={**stack.auth, "Idempotency-Key": uuid.uuid4().hex}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["ticket_no"]


def test_a_consultation_in_the_faq_is_answered_with_its_source(stack: Stack) -> None:
    c = Conversation(stack)
    text = c.say("请问社保卡丢了怎么补办")
    assert "以上信息来自" in text and "更新于" in text and "这个回答解决您的问题了吗" in text
    assert "社保卡" in text
    assert [b["title"] for r in c.replies for b in r.get("buttons") or []] == ["解决了", "没解决"]
    assert "帮上" in c.click("解决了")


def test_not_resolved_files_the_question_through_the_intake(stack: Stack) -> None:
    phone = unique_mobile()
    c = Conversation(stack)
    assert "以上信息来自" in c.say("身份证丢了怎么补办")
    asked = c.say("没解决")  # typed, not the button
    assert "登记" in asked and "哪个镇" in asked  # the question is kept; the form asks on
    c.say("没有")
    asked = c.say("我姓李")
    assert "电话" in asked
    c.say(phone)
    asked = c.click("不用保密")
    assert "身份证丢了怎么补办" in asked and "咨询" in asked
    ticket = c.confirm()
    assert ticket["demand_type"] == "consultation" and "身份证" in ticket["description"]
    assert ticket["phone"] == phone


def test_status_lookup_refuses_a_wrong_phone_and_answers_the_right_one(stack: Stack) -> None:
    phone = unique_mobile()
    ticket_no = file_ticket(stack, phone)
    c = Conversation(stack)
    asked = c.say("我想查一下工单进度")
    assert "工单号" in asked
    asked = c.say(ticket_no)
    assert "后四位" in asked
    wrong = str((int(phone[-4:]) + 1) % 10000).zfill(4)
    refused = c.say(wrong)
    assert "没有查到" in refused
    assert ticket_no not in refused and "王建华" not in refused and "路灯" not in refused
    # an unknown number gets exactly the same words
    other = Conversation(stack)
    other.say("我想查一下工单进度")
    other.say("JH20000101-0001")
    assert other.say(phone[-4:]) == refused

    asked = c.say(f"工单号{ticket_no}")
    assert "后四位" in asked
    answer = c.say(phone[-4:])
    assert ticket_no in answer and "没有查到" not in answer
    assert re.search(r"(受理|派给|办理|答复|办结)", answer)
    assert "催" in answer

    # 催办: recorded on the ticket as staff see it
    urged = c.click("帮我催一下")
    assert "已经帮您催办" in urged and "第1次" in urged
    events = [e for e in stack.get_ticket(ticket_no)["events"] if e["action"] == "urge"]
    assert len(events) == 1 and events[0]["actor"] == "citizen"


def test_urge_with_the_number_in_the_first_message(stack: Stack) -> None:
    phone = unique_mobile()
    ticket_no = file_ticket(stack, phone)
    c = Conversation(stack)
    asked = c.say(f"工单{ticket_no}一直没人管，帮我催一下")
    assert "后四位" in asked
    urged = c.say(f"尾号{phone[-4:]}")
    assert "已经帮您催办" in urged
    events = [e for e in stack.get_ticket(ticket_no)["events"] if e["action"] == "urge"]
    assert len(events) == 1 and "没人管" in (events[0]["note"] or "")
