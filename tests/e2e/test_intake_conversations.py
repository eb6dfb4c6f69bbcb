"""Mandarin intake conversations through the hub against the real stack (API, Rasa, actions).

Each conversation ends by reading the ticket back from the API (description, location, phone),
or by checking that no ticket exists when the citizen gave up.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Stack

TICKET_NO = re.compile(r"JH\d{8}-\d{4}")


pytestmark = pytest.mark.usefixtures("warm_stack")


TRANSCRIPTS = Path(__file__).resolve().parents[2] / "var" / "transcripts"


def _transcribe(said: str, replies: str) -> None:
    """Every turn of the e2e conversations, per test, under var/transcripts/ (to be read by people)."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "unknown").split(" ")[0].split("::")[-1]
    TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
    lines = [f"民: {said}"] + [f"机: {line}" for line in replies.splitlines()]
    name = re.sub(r"[^\w\[\]-]+", "_", test)[:120]
    with (TRANSCRIPTS / f"{name}.txt").open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


def unique_mobile() -> str:
    """A valid mobile number no other test uses (tickets are looked up by phone)."""
    return "139" + f"{uuid.uuid4().int % 10**8:08d}"


class Conversation:
    def __init__(self, stack: Stack, **extra: str) -> None:
        self.stack = stack
        self.id = stack.new_conversation() if extra.get("channel") != "voice" else stack.new_conversation_id()
        self.extra = extra
        self.replies: list[dict] = []

    def say(self, text: str, *, payload: str | None = None) -> str:
        body = self.stack.chat(self.id, text, payload=payload, **self.extra)
        assert body["mode"] == "bot", body
        self.replies = body["replies"]
        said = "\n".join(r["text"] for r in self.replies)
        _transcribe(text, said)
        return said

    def click(self, title: str) -> str:
        buttons = [b for r in self.replies for b in r.get("buttons") or []]
        [button] = [b for b in buttons if b["title"] == title]
        return self.say(title, payload=button["payload"])

    def confirm(self) -> dict:
        """Click 确认提交 on the read-back and return the filed ticket."""
        text = self.click("确认提交")
        numbers = TICKET_NO.findall(text)
        assert numbers, text
        assert "答复" in text
        return self.stack.get_ticket(numbers[0])


def tickets_for_phone(stack: Stack, phone: str) -> list[dict]:
    response = httpx.get(f"{stack.api_url}/api/v1/tickets", params={"phone": phone}, headers=stack.auth, timeout=30)
    response.raise_for_status()
    return response.json()["items"]


def question_of(text: str) -> str:
    """Which form question the bot's last message asks (the wordings of bot/replies.py)."""
    last = text.strip().splitlines()[-1] if text.strip() else ""
    if "核对" in text or "确认提交" in last:
        return "read_back"
    for kind, words in (
        ("confidential", ("保密",)),
        ("phone", ("电话", "号码")),
        ("name", ("称呼", "贵姓")),
        ("time", ("什么时候", "哪天")),
        ("detail", ("哪个村（社区）", "具体哪个村", "具体是在")),
        ("town", ("哪个镇或者街道", "哪个镇或街道")),
        ("place", ("什么地方", "哪个地方", "地点", "涉及哪个镇", "哪个镇")),
        ("description", ("具体说", "什么情况", "慢慢说", "照实际情况", "什么事情")),
    ):
        if any(w in last for w in words):
            return kind
    return "other"


def test_information_in_a_different_order(stack: Stack) -> None:
    phone = unique_mobile()
    c = Conversation(stack)
    assert "12345" in c.say("你好")
    assert "情况" in c.say("我要投诉")
    asked = c.say("我们小区门口的下水道堵了一个礼拜了，污水流得到处都是")
    assert "什么地方" in asked
    # the phone, given when the place was asked, is kept and the place asked again
    asked = c.say(f"我电话是{phone}")
    assert question_of(asked) == "place"
    asked = c.say("钟庄街道钟庄花园12号楼")
    assert "称呼" in asked and "电话" not in asked  # the phone is not asked twice
    assert "保密" in c.say("我姓王")
    read_back = c.click("不用保密")
    assert "我跟您核对一下" in read_back and "钟庄花园" in read_back
    ticket = c.confirm()
    assert "下水道堵了" in ticket["description"]
    assert "钟庄花园" in ticket["location"]
    assert ticket["location_town"] == "钟庄街道"
    assert ticket["phone"] == phone
    assert ticket["demand_type"] == "complaint"


def test_everything_in_the_first_message(stack: Stack) -> None:
    phone = unique_mobile()
    c = Conversation(stack)
    read_back = c.say(f"我是建阳镇双河村的张先生，我们村口那条路坏了好几个月了，电话{phone}，不用保密")
    # no question at all: straight to the read-back
    assert read_back.startswith("我跟您核对一下"), read_back
    assert "建阳镇双河村" in read_back and "张先生" in read_back
    ticket = c.confirm()
    assert ticket["description"] == "我们村口那条路坏了好几个月了"
    assert ticket["location"] == "建阳镇双河村"
    assert ticket["location_town"] == "建阳镇"
    assert ticket["phone"] == phone
    assert ticket["citizen_name"] == "张先生"
    assert ticket["confidential"] is False


def test_correction_after_the_read_back(stack: Stack) -> None:
    first, second = unique_mobile(), unique_mobile()
    c = Conversation(stack)
    read_back = c.say(f"我是上冈镇冈南新村的李女士，我们小区的路灯坏了半个月了，晚上很黑，手机{first}，不用保密")
    assert "上冈镇冈南新村" in read_back
    read_back = c.say("地址说错了，是建阳镇建阳新村")
    assert "改过来" in read_back and "建阳镇建阳新村" in read_back and "上冈镇" not in read_back
    read_back = c.say(f"电话错了是{second}")
    assert " ".join([second[:3], second[3:7], second[7:]]) in read_back
    asked = c.say("名字写错了")
    assert "称呼" in asked
    read_back = c.say("我姓赵，赵女士")
    assert "赵女士" in read_back and "我跟您核对一下" in read_back
    ticket = c.confirm()
    assert ticket["location_town"] == "建阳镇" and "建阳新村" in ticket["location"]
    assert ticket["phone"] == second
    assert ticket["citizen_name"] == "赵女士"
    assert "路灯坏了" in ticket["description"]
    assert tickets_for_phone(stack, first) == []


def test_invalid_phone_then_valid(stack: Stack) -> None:
    phone = unique_mobile()
    c = Conversation(stack)
    c.say("我要举报有人在我们村的河边偷偷倒建筑垃圾，都堆成山了")
    assert "什么时候" in c.say("庆丰镇新民村三组")
    c.say("上个礼拜开始的")
    asked = c.say("王先生")
    assert "电话" in asked
    asked = c.say(phone[:-1])  # one digit short
    assert "11位" in asked and "10位" in asked
    asked = c.say(f"不好意思，是{phone}")
    assert "保密" in asked
    read_back = c.click("需要保密")
    assert "需要保密" in read_back
    ticket = c.confirm()
    assert ticket["phone"] == phone
    assert ticket["demand_type"] == "report"
    assert "建筑垃圾" in ticket["description"]
    assert ticket["location"].startswith("庆丰镇新民村")
    assert ticket["confidential"] is True


def test_anonymous_citizen(stack: Stack) -> None:
    phone = unique_mobile()
    c = Conversation(stack)
    c.say("举报一下，镇上有个小作坊在生产假酒")
    c.say("在颜单镇单桥小区后面")
    c.say("不清楚")
    asked = c.say("我不想留名字")
    assert "电话" in asked
    c.say(phone)
    read_back = c.click("需要保密")
    assert "匿名" in read_back
    ticket = c.confirm()
    assert ticket["anonymous"] is True and ticket["citizen_name"] is None
    assert ticket["phone"] == phone
    assert "假酒" in ticket["description"] and "颜单镇" in ticket["location"]


def test_citizen_who_gives_up_files_nothing(stack: Stack) -> None:
    phone = unique_mobile()
    c = Conversation(stack)
    c.say(f"我要投诉物业，电梯坏了半个月了没人修，电话{phone}")
    answer = c.say("算了不说了")
    assert "不登记" in answer
    assert tickets_for_phone(stack, phone) == []
    # a later message does not pick the abandoned report up again
    assert "12345" in c.say("你好")
    messages = stack.get_conversation(c.id)["messages"]
    assert not any(TICKET_NO.search(m["text"] or "") for m in messages)


def test_chitchat_and_a_bot_challenge_mid_form(stack: Stack) -> None:
    phone = unique_mobile()
    c = Conversation(stack)
    c.say("我要求助，家里老人走丢了，早上出去到现在都没回来")
    asked = c.say("近湖街道向阳社区")
    answer = c.say("你们几点下班啊")
    pending = question_of(asked)
    assert pending != "other" and question_of(answer) == pending, "the pending question is asked again after chitchat"
    answer = c.say("你是机器人吗")
    assert "智能客服" in answer and question_of(answer) == pending
    c.say("今天早上")
    c.say("小明妈妈")
    c.say(phone)
    read_back = c.click("不用保密")
    assert "小明妈妈" in read_back
    ticket = c.confirm()
    assert ticket["demand_type"] == "help_request"
    assert ticket["phone"] == phone
    assert "向阳社区" in ticket["location"]
    assert "老人走丢" in ticket["description"]


def test_retry_of_the_same_confirmed_submission_files_one_ticket(stack: Stack) -> None:
    phone = unique_mobile()
    c = Conversation(stack)
    c.say(f"我是宝塔镇的陈先生，宝塔镇塔河路88号门口的窨井盖没了好几天了，电话{phone}，不用保密")
    buttons = [b for r in c.replies for b in r.get("buttons") or []]
    ticket = c.confirm()
    # the citizen clicks 确认提交 on the same read-back again (double click / resend)
    [confirm] = [b for b in buttons if b["title"] == "确认提交"]
    again = c.say("确认提交", payload=confirm["payload"])
    assert ticket["ticket_no"] in again and "不会重复登记" in again
    matching = tickets_for_phone(stack, phone)
    assert [t["ticket_no"] for t in matching] == [ticket["ticket_no"]]
    assert ticket["location"] == "宝塔镇塔河路88号"


def test_gibberish_gets_a_polite_reprompt(stack: Stack) -> None:
    phone = unique_mobile()
    c = Conversation(stack)
    assert "没太明白" in c.say("asdfghjkl")
    # not in the county FAQ (that one would be answered): the question is filed
    asked = c.say("我想咨询一下我们村拆迁补偿标准是怎么定的")
    assert "镇" in asked
    answer = c.say("sdkfjhsdkf")
    assert "没太明白" in answer and answer.endswith(asked.splitlines()[-1])
    c.say("没有")
    c.say("刘女士")
    c.say(phone)
    read_back = c.click("不用保密")
    assert "咨询" in read_back
    ticket = c.confirm()
    assert ticket["demand_type"] == "consultation"
    assert ticket["phone"] == phone and "拆迁" in ticket["description"]
    assert ticket["location"]


def test_human_handoff_is_recorded_on_the_conversation(stack: Stack) -> None:
    c = Conversation(stack)
    c.say("我要投诉，隔壁工地半夜还在施工")
    answer = c.say("转人工")
    assert "人工" in answer
    conversation = stack.get_conversation(c.id)
    assert conversation["handoff_requested"] is True
    assert conversation["handoff_reason"] == "citizen_request"


def test_voice_caller_number_is_offered(stack: Stack) -> None:
    caller = unique_mobile()
    c = Conversation(stack, channel="voice", caller_number=caller)
    c.say("喂 你好")
    c.say("我要反映一下我们建洋镇双和村村口的桥栏杆断了，小孩在那玩很危险")  # ASR homophones
    c.say("上个礼拜")
    asked = c.say("我姓赵")
    assert "现在这个号码" in asked
    assert "保密" in c.say("是的")
    c.say("不用保密")
    ticket = c.confirm()
    assert ticket["phone"] == caller and ticket["channel"] == "voice"
    assert ticket["location"] == "建阳镇双河村"
    assert "建阳镇双河村" in ticket["description"]


def test_api_outage_at_filing_is_queued_and_filed_later(stack: Stack) -> None:
    phone = unique_mobile()
    c = Conversation(stack)
    c.say(f"我是高作镇塘河小区的周女士，小区垃圾三天没人收了，臭得不行，电话{phone}，不用保密")
    stack.api_proxy.cut()
    try:
        answer = c.click("确认提交")
    finally:
        stack.api_proxy.resume()
    assert "系统暂时连不上" in answer and "记下了" in answer
    # the outbox retries with the same key; the API then posts the number into the conversation
    deadline = time.monotonic() + 90
    tickets: list[dict] = []
    while time.monotonic() < deadline and not tickets:
        tickets = tickets_for_phone(stack, phone)
        if not tickets:
            time.sleep(1)
    assert len(tickets) == 1, "the queued report must be filed exactly once"
    ticket = stack.get_ticket(tickets[0]["ticket_no"])
    assert "垃圾" in ticket["description"] and ticket["location"].startswith("高作镇塘河小区")
    assert ticket["phone"] == phone


@pytest.mark.parametrize("first", ["我要投诉", "我想咨询一下", "我要举报"])
def test_short_openings_ask_for_the_matter(stack: Stack, first: str) -> None:
    c = Conversation(stack)
    assert "具体" in c.say(first)


def test_emergency_gets_the_emergency_number_first(stack: Stack) -> None:
    c = Conversation(stack)
    answer = c.say("我家楼下饭店着火了，烟好大")
    assert c.replies[0]["text"].startswith("请马上拨打119") and "119" in answer
    assert "什么地方" in answer  # one question only: where


@pytest.mark.parametrize("first", ["河里有死鱼", "马路上有个大坑", "小区的健身器材坏了"])
def test_a_short_matter_starts_the_intake_whatever_the_nlu_confidence(stack: Stack, first: str) -> None:
    c = Conversation(stack)
    assert "什么地方" in c.say(first)
