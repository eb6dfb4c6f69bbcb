"""Issue 11, third pass: what the transcripts still got wrong. Details given at the wrong question are
kept for 事情经过 (and the question asked again), a clarification reaches the ticket, "不用保密" to the
time question is not a time, the unsure opener is answered as an operator would, lead-ins such as
"你们管不管啊" stay out of the description, a past fire is no emergency for the API's linkage judge,
and a 紧急 ticket nobody has dispatched promises only what the back office does."""

from typing import Any

import pytest

from actions.intake_logic import Turn, next_slot, process
from actions.report import NO_CORRECTION, UNKNOWN, filed_message
from bot import replies
from bot import understanding as u
from county.risk import load_judge

NOISE = {"demand_type": "complaint", "description": "楼下工地晚上施工太吵", "location": "近湖街道水韵华庭",
         "location_town": "近湖街道", "location_detail": "水韵华庭", "correction_request": NO_CORRECTION}


def run(text: str, requested: str | None, slots: dict[str, Any] | None = None, intent: str = "inform",
        caller: str | None = None):
    return process(Turn(text=text, intent=intent, confidence=0.9, requested_slot=requested,
                        slots=NOISE if slots is None else slots, caller_number=caller, activating=requested is None))


# -- the API's linkage judge: a finished past is no 110 ------------------------------------------------

PAST = [
    "我要投诉 上个月小区着火那家到现在外墙还是黑的 也没人来修",
    "上周菜市场有人拿刀砍人 到现在也没个说法",
    "前几天楼下着火了 物业到现在都不管",
    "上礼拜隔壁起火 墙熏黑了一大片",
    "三天前邻居家起火了 现在墙还是黑的",
    "前些天有人在小区打架 垃圾到现在没人扫",
    "半个月前楼道里着火 消防通道到现在还堵着",
    "去年厂里爆炸以后 路一直没修",
]


@pytest.mark.parametrize("text", PAST)
def test_a_past_fire_or_fight_is_not_flagged_110(text: str) -> None:
    judged = load_judge().judge(text)
    assert "110" not in judged.partners and judged.emergency is None, judged.reasons


NOW = [
    "着火了 快来人",
    "从上个月开始楼道里一直有人持刀闹事",  # from then until now: still going on
    "这两天前面那栋楼着火了",  # 两天前面 is not 两天前
    "有个男的拿着菜刀在追人",
    "楼道里煤气泄漏了",
]


@pytest.mark.parametrize("text", NOW)
def test_what_is_happening_now_is_still_flagged(text: str) -> None:
    assert "110" in load_judge().judge(text).partners


# -- details at the wrong question -----------------------------------------------------------------------


def test_a_habit_told_at_the_time_question_goes_to_the_matter_and_the_time_is_asked_again() -> None:
    out = run("不是打架啊 就是天天在那吆喝 吵得人想死", "incident_time")
    assert "incident_time" not in out.updates and out.failed is None
    assert out.updates["description"] == "楼下工地晚上施工太吵；不是打架啊，就是天天在那吆喝，吵得人想死"
    assert "记到事情经过" in out.messages[0]["text"]
    assert next_slot({**NOISE, **out.updates}) == "incident_time"
    # asked again, in other words
    assert replies.question("incident_time", NOISE, 1) != replies.question("incident_time", NOISE, 0)


def test_a_clock_time_inside_a_detail_is_the_time_and_the_detail_is_kept() -> None:
    out = run("天天晚上十一二点还在打桩", "incident_time")
    assert out.updates["incident_time"] == "天天晚上十一二点"
    assert out.updates["description"].endswith("；天天晚上十一二点还在打桩")


def test_a_time_clause_and_a_detail_clause_each_go_to_their_field() -> None:
    out = run("昨天晚上开始的 就是天天在那吆喝", "incident_time")
    assert out.updates["incident_time"] == "昨天晚上开始的"
    assert out.updates["description"].endswith("；天天在那吆喝")


def test_hedges_around_a_time_are_not_a_detail() -> None:
    out = run("哎呀就前几天开始的吧 我也记不清了", "incident_time")
    assert out.updates["incident_time"] == "前几天" and "description" not in out.updates


@pytest.mark.parametrize(
    ("text", "requested"),
    [
        ("天天晚上十一二点还在打桩", "citizen_name"),
        ("他们天天晚上施工到半夜 震得玻璃都响", "phone"),
        ("而且工地的灯整夜开着照到我们卧室", "confidential"),
        ("晚上根本睡不着觉 孩子第二天还要上学", "citizen_name"),
    ],
)
def test_a_detail_at_a_closed_question_is_kept_and_the_question_asked_again(text: str, requested: str) -> None:
    before = {"citizen_name": {}, "phone": {"citizen_name": "王"}, "confidential": {"citizen_name": "王", "phone": "13912345678"}}
    slots = {**NOISE, "incident_time": "最近", **before[requested]}
    out = run(text, requested, slots)
    assert out.failed is None and requested not in out.updates
    assert out.updates["description"].startswith("楼下工地晚上施工太吵；")
    assert next_slot({**slots, **out.updates}) == requested


def test_a_detail_at_the_place_question_is_not_the_place() -> None:
    slots = {"demand_type": "complaint", "description": "楼下工地晚上施工太吵", "correction_request": NO_CORRECTION}
    out = run("天天晚上十一二点还在打桩", "location", slots)
    assert "location" not in out.updates
    assert out.updates["description"] == "楼下工地晚上施工太吵；天天晚上十一二点还在打桩"


def test_a_clarification_of_what_is_wanted_reaches_the_ticket() -> None:
    slots = {**NOISE, "description": "我们小区门口那个井盖没了", "incident_time": "前天"}
    out = run("不是 我不是要投诉物业 是要你们来把井盖补上", "citizen_name", slots)
    assert out.exit is None and out.failed is None
    assert out.updates["description"] == "我们小区门口那个井盖没了；我不是要投诉物业，是要你们来把井盖补上"
    assert out.messages[0]["text"] == "明白了，您是要把井盖补上，这个我写进工单里了。"


def test_the_same_detail_twice_is_written_once() -> None:
    slots = {**NOISE, "description": "楼下工地晚上施工太吵；天天晚上十一二点还在打桩", "incident_time": "最近"}
    out = run("天天晚上十一二点还在打桩", "citizen_name", slots)
    assert "description" not in out.updates


@pytest.mark.parametrize(
    ("text", "requested"),
    [("还是刚才那个号", "phone"), ("你们几点下班", "phone"), ("要多久啊", "citizen_name"), ("我姓王", "citizen_name"),
     ("王小明", "citizen_name"), ("不用保密", "confidential"), ("就用这个号码", "phone_use_caller")],
)
def test_answers_and_questions_are_not_details(text: str, requested: str) -> None:
    assert u.classify(text, requested_slot=requested).kind != u.DETAIL


def test_chitchat_at_a_question_is_still_left_to_the_rules() -> None:
    assert run("你们几点下班", "phone", {**NOISE, "incident_time": "最近", "citizen_name": "王"}, intent="chitchat").skip


# -- "不用保密" at the time question, and fear at the confidential question ------------------------------


@pytest.mark.parametrize("text", ["不用保密", "要保密的", "那就保密吧"])
def test_a_confidentiality_answer_at_the_time_question_is_not_a_time(text: str) -> None:
    out = run(text, "incident_time", intent="deny")
    assert out.updates.get("incident_time") not in (UNKNOWN, text)
    assert next_slot({**NOISE, **out.updates}) == "incident_time"


def test_no_confidentiality_said_early_is_kept_and_acknowledged() -> None:
    out = run("不用保密", "incident_time", intent="deny")
    assert out.updates["confidential"] is False and "保密这一项我记下了" in out.messages[-1]["text"]


@pytest.mark.parametrize("text", ["我怕他报复我", "就怕他们知道是我说的", "担心村里找我麻烦"])
def test_fear_of_retaliation_is_yes_to_confidentiality(text: str) -> None:
    out = run(text, "confidential", {**NOISE, "incident_time": "最近", "citizen_name": "王", "phone": "13912345678"})
    assert out.updates["confidential"] is True and "description" not in out.updates


# -- the opener and the lead-ins ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["喂 是12345吗 我也不知道该找谁", "你好 请问是12345热线吗", "我也不晓得找谁 就打过来了"])
def test_an_unsure_opener_is_told_yes_and_asked_gently(text: str) -> None:
    out = run(text, None, {"demand_type": "help_request"}, intent="help_request")
    assert out.messages[0]["text"].startswith("是的，这里是12345热线")
    assert out.updates["demand_type"] is None and "description" not in out.updates
    asked = replies.question("description", {}, out.updates["asked"]["description"])
    assert asked.startswith("您慢慢说")


def test_an_opener_with_the_matter_in_it_is_the_matter() -> None:
    out = run("喂 是12345吗 我们村的路灯坏了一个月了", None, {}, intent="complaint")
    assert out.updates["description"] == "我们村的路灯坏了一个月了" and not out.messages


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("你们管不管啊 我家楼下那个工地天天晚上施工到十二点", "我家楼下那个工地天天晚上施工到十二点"),
        ("有没有人管啊，小区门口的垃圾堆了一个礼拜了", "小区门口的垃圾堆了一个礼拜了"),
        ("我跟你说啊 我们村的自来水又停了", "我们村的自来水又停了"),
        ("气死我了 楼上天天往下扔垃圾", "楼上天天往下扔垃圾"),
    ],
)
def test_lead_ins_stay_out_of_the_description(said: str, kept: str) -> None:
    out = run(said, None, {}, intent="complaint")
    assert out.updates["description"] == kept


def test_a_short_matter_is_not_cut_to_nothing() -> None:
    assert u.drop_lead_ins("管不管") == "管不管"


# -- 紧急 with no department -------------------------------------------------------------------------------


def test_urgent_help_nobody_dispatched_says_what_the_back_office_does() -> None:
    ticket = {"ticket_no": "JH20261207-0009", "demand_type": "help_request", "urgency": "紧急",
              "created_at": "2026-12-07T23:10:00+08:00", "reply_due_at": "2026-12-08T12:00:00+08:00", "assignments": []}
    text = filed_message(ticket)
    assert "待派单里排在最前面" in text and "下班时间要等上班后第一时间派出" in text
    assert "30分钟内签收" in text and "拨打110" in text and "马上安排人" not in text


def test_urgent_help_dispatched_at_night_names_the_department_and_the_clock() -> None:
    ticket = {"ticket_no": "JH20261207-0010", "demand_type": "help_request", "urgency": "紧急",
              "dispatched_at": "2026-12-07T23:10:00+08:00", "sign_due_at": "2026-12-07T23:40:00+08:00",
              "reply_due_at": "2026-12-08T12:00:00+08:00",
              "assignments": [{"role": "lead", "department": "自来水公司", "sign_due_at": "2026-12-07T23:40:00+08:00"}]}
    text = filed_message(ticket)
    assert "已经直接派给自来水公司" in text and "30分钟内（23:40前）" in text
