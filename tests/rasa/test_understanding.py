"""Understanding a turn before anything is stored (bot/understanding.py, bot/replies.py, bot/safety.py)
and what the form makes of it (actions/intake_logic.py)."""

from typing import Any

import pytest

from actions.intake_logic import Turn, next_slot, process
from actions.report import NO_CORRECTION, NO_PHONE, build_payload, filed_message, read_back
from bot import replies
from bot import understanding as u
from bot.safety import judge, urgent_help

ASKED_PLACE = {"demand_type": "complaint", "description": "下水道堵了", "correction_request": NO_CORRECTION}


def run(text: str, slots: dict[str, Any], requested: str | None, intent: str = "inform", caller: str | None = None):
    return process(Turn(text=text, intent=intent, confidence=0.9, requested_slot=requested, slots=slots,
                        caller_number=caller, activating=requested is None))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("没事了，不说了，再见", u.LEAVING),
        ("算了拜拜", u.LEAVING),
        ("不说了", u.LEAVING),
        ("拜拜", u.LEAVING),
        ("挂了", u.LEAVING),
        ("算了", u.LEAVING),
        ("那我自己去问问村里吧 再见", u.LEAVING),
        ("你是不是机器人啊 我要找真人", u.PERSON),
        ("转人工", u.PERSON),
        ("我就问问啊 不是要反映什么", u.NOT_A_REPORT),
        ("人呢 怎么没人理我", u.BOT_COMPLAINT),
        ("我刚才不是说过了吗", u.BOT_COMPLAINT),
        ("你是机器人吗", u.BOT_CHALLENGE),
        ("为什么要留电话", u.QUESTION),
        ("要多久才能处理啊", u.QUESTION),
        ("另外还有一件事 我们村的桥也坏了", u.NEW_MATTER),
        ("就卫深院后面那排房子 我姓吴 电话15005151234", u.ANSWER),
        ("建阳镇双河村", u.ANSWER),
        ("好的 拜拜 电话13912345678", u.ANSWER),
    ],
)
def test_kinds_of_turn_when_the_place_was_asked(text: str, kind: str) -> None:
    assert u.classify(text, requested_slot="location").kind == kind


def test_no_thanks_to_a_yes_no_question_is_an_answer_not_leaving() -> None:
    assert u.classify("不用了", requested_slot="confidential").kind == u.ANSWER
    assert u.classify("不用了", requested_slot="location").kind == u.LEAVING


def test_a_turn_is_split_into_the_fields_it_answers() -> None:
    parts = u.split_parts("就卫深院后面那排房子 我姓吴 电话幺五零零五一五一二三四")
    assert parts.rest == "就卫深院后面那排房子"
    assert parts.name_clauses == ("我姓吴",) and len(parts.phone_clauses) == 1
    parts = u.split_parts("庆丰镇我叫钱丽")
    assert parts.rest == "庆丰镇" and parts.name_clauses == ("我叫钱丽",)
    parts = u.split_parts("昨天晚上 在建阳镇双河村村口")
    assert parts.time_clauses == ("昨天晚上",) and parts.rest == "在建阳镇双河村村口"


def test_place_name_and_phone_each_get_their_own_part() -> None:
    out = run("就卫深院后面那排房子 我姓吴 电话幺五零零五一五一二三四", ASKED_PLACE, "location")
    up = out.updates
    assert up["location"] == "卫深院后面那排房子"
    assert up["citizen_name"] == "吴" and up["phone"] == "15005151234"


def test_a_name_given_for_the_place_fills_the_name_only() -> None:
    out = run("庆丰镇我叫钱丽", ASKED_PLACE, "location")
    assert out.updates["location"] == "庆丰镇" and out.updates["citizen_name"] == "钱丽"
    out = run("我叫钱丽", ASKED_PLACE, "location")
    assert "location" not in out.updates and out.updates["citizen_name"] == "钱丽"
    assert out.messages[-1]["text"] == "好的，称呼我记下了。"
    assert next_slot({**ASKED_PLACE, **out.updates}) == "location"


@pytest.mark.parametrize(
    ("text", "requested"),
    [
        ("你是不是机器人啊 我要找真人", "incident_time"),
        ("我就问问啊 不是要反映什么", "location"),
        ("人呢 怎么没人理我", "location"),
        ("为什么要留电话", "phone"),
        ("你是机器人吗", "citizen_name"),
    ],
)
def test_non_answers_fill_nothing(text: str, requested: str) -> None:
    slots = {**ASKED_PLACE, "location": None if requested == "location" else "建阳镇双河村"}
    out = run(text, slots, requested)
    assert requested not in out.updates
    assert not {"location", "incident_time", "citizen_name", "phone"} & set(out.updates)


def test_leaving_ends_the_form_at_every_step() -> None:
    for requested in ("description", "location", "location_detail", "incident_time", "citizen_name", "phone",
                      "confidential", "report_confirmed"):
        assert run("没事了，不说了，再见", ASKED_PLACE, requested).exit == u.LEAVING, requested
    assert next_slot({"form_exit": u.LEAVING}) is None


def test_a_question_is_worded_differently_the_second_time() -> None:
    for slot in ("description", "location", "location_town", "location_detail", "incident_time", "citizen_name",
                 "phone", "confidential", "correction_request"):
        slots = {"demand_type": "complaint", "location_town": "建阳镇"}
        assert replies.question(slot, slots, 0) != replies.question(slot, slots, 1), slot


def test_question_back_gets_an_answer() -> None:
    assert "回复" in replies.non_answer_reply(u.QUESTION, "为什么要留电话", requested_slot="phone")
    assert "免费" in replies.non_answer_reply(u.QUESTION, "要收费吗", requested_slot="location")
    assert "在的" in replies.non_answer_reply(u.BOT_COMPLAINT, "人呢 怎么没人理我", requested_slot="location")


def test_emergencies_say_the_number_first_and_ask_only_where() -> None:
    out = run("菜市场门口有个人拿着刀在追人", {}, None, intent="report")
    assert out.messages[0]["text"].startswith("请马上拨打110")
    merged = out.updates
    assert merged["urgency"] == "特急" and next_slot(merged) == "location"
    out2 = run("就在人民路菜市场", merged, "location")
    assert next_slot({**merged, **out2.updates}) is None  # filed now: no name, phone or read-back
    out3 = run("快点来人啊", merged, "location")
    assert next_slot({**merged, **out3.updates}) is None  # whatever is said to "where" is kept


@pytest.mark.parametrize(
    ("text", "number"),
    [("我家楼下饭店着火了", "119"), ("厨房里好大一股煤气味", "119"), ("有人晕倒了在路边", "120"),
     ("他们在打架还拿着刀", "110"), ("桥上有个人要跳河", "110")],
)
def test_the_emergency_number(text: str, number: str) -> None:
    alarm = judge(text)
    assert alarm is not None and alarm.number == number and number in alarm.first_words


def test_self_harm_is_left_to_the_action_that_knows_who_is_on_duty() -> None:
    out = run("我不想活了", ASKED_PLACE, "location")
    assert out.alarm is not None and out.alarm.kind == "self_harm" and out.updates["risk_kind"] == "self_harm"
    assert next_slot({**ASKED_PLACE, "risk": "after_hours"}) == "phone"
    assert next_slot({**ASKED_PLACE, "risk": "after_hours", "asked": {"risk_phone": 1}}) is None
    assert next_slot({**ASKED_PLACE, "risk": "agent"}) is None


def test_urgent_help_advice() -> None:
    assert "总水阀" in urgent_help("家里水管爆了 水喷得到处都是").advice
    assert "110" in urgent_help("老人一个人在家 打电话一直联系不上").advice
    assert urgent_help("我被锁在门外了 钥匙丢了").kind == "locked_out"
    assert urgent_help("小区路灯坏了") is None


def test_single_character_surname_and_honorifics_read_back_naturally() -> None:
    slots = {**ASKED_PLACE, "location": "建阳镇", "incident_time": "昨天"}
    assert run("李", slots, "citizen_name").updates["citizen_name"] == "李"
    assert run("姓陈", slots, "citizen_name").updates["citizen_name"] == "陈"
    assert run("陈先生", slots, "citizen_name").updates["citizen_name"] == "陈先生"
    assert "称呼：姓李" in read_back({**slots, "citizen_name": "李", "phone": "13912345678"})
    assert "称呼：陈先生" in read_back({**slots, "citizen_name": "陈先生", "phone": "13912345678"})


def test_a_second_matter_reuses_the_phone_on_request() -> None:
    slots = {**ASKED_PLACE, "location": "建阳镇", "incident_time": "昨天", "citizen_name": "王",
             "previous_contact": {"citizen_name": "王先生", "phone": "13912345678"}}
    out = run("还是刚才那个号", slots, "phone", caller="13912345678")
    assert out.updates["phone"] == "13912345678"
    out = run("还是我", {**slots, "citizen_name": None}, "citizen_name")
    assert out.updates["citizen_name"] == "王先生"


def test_anonymous_report_without_a_phone() -> None:
    slots = {"demand_type": "report", "description": "有人卖假酒", "location": "建阳镇", "incident_time": "不清楚",
             "citizen_name": "匿名", "correction_request": NO_CORRECTION}
    out = run("不留", slots, "phone")
    assert out.updates["phone"] == NO_PHONE
    merged = {**slots, **out.updates, "confidential": True}
    assert build_payload(merged, conversation_id="c", channel="chat")["phone"] == ""
    assert "办理结果没法回复您" in read_back(merged)
    complaint = {**slots, "demand_type": "complaint"}
    assert run("不留", complaint, "phone").failed == "phone"


def test_unchanged_confidentiality_at_the_read_back_is_not_a_change() -> None:
    slots = {**ASKED_PLACE, "location": "建阳镇", "location_town": "建阳镇", "location_detail": "不清楚",
             "incident_time": "昨天", "citizen_name": "王", "phone": "13912345678", "confidential": False}
    out = run("不用保密", slots, "report_confirmed")
    assert all("改过来" not in m["text"] for m in out.messages)
    assert any("不用改" in m["text"] for m in out.messages)


def test_how_each_demand_type_ends() -> None:
    base = {"ticket_no": "JH20261203-0001", "reply_due_at": "2026-12-04T17:30:00+08:00"}
    praise = filed_message({**base, "demand_type": "praise", "urgency": "普通"})
    assert "谢谢您的表扬" in praise and "电话畅通" not in praise
    assert "谢谢您的建议" in filed_message({**base, "demand_type": "suggestion", "urgency": "普通"})
    urgent = filed_message({**base, "demand_type": "help_request", "urgency": "紧急"})
    assert "紧急件" in urgent and "17:30" in urgent
    emergency = filed_message({**base, "demand_type": "help_request", "urgency": "特急"}, emergency=True,
                              call_first="119")
    assert emergency.startswith("请您一定先拨打119") and "答复" not in emergency and "明天" not in emergency
    anonymous = filed_message({**base, "demand_type": "report", "urgency": "普通"}, no_phone=True)
    assert "没有留电话" in anonymous and "电话畅通" not in anonymous
