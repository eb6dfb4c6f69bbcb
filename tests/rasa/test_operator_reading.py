"""How an operator reads a turn (issue 11, second pass): a time word in the description is not the
answer to "when", leaving words at every question, yes-and-goodbye at the read-back, emergencies
read in context (hyperbole, negation, a finished past, news) without losing real ones, the other
matter brought back after filing, and the honest promise of a 紧急 ticket at night."""

from __future__ import annotations

import pytest

from actions.intake_logic import Turn, process
from actions.report import filed_message
from bot import understanding as u
from bot.safety import FIRE, GAS, MEDICAL, SELF_HARM, SOMEONE_AT_RISK, VIOLENCE, judge

FILLED = {
    "description": "村口路灯坏了", "demand_type": "complaint", "location": "建阳镇双河村", "location_town": "建阳镇",
    "location_detail": "双河村", "incident_time": "昨天", "citizen_name": "王", "phone": "13912345678",
    "confidential": False, "correction_request": "不需要修改",
}
ORDER = ("description", "location", "incident_time", "citizen_name", "phone", "confidential", "report_confirmed")


def slots_at(step: str, **extra) -> dict:
    """The slots of a report whose next question is `step`."""
    slots = dict(FILLED)
    for name in ORDER[ORDER.index(step):]:
        slots[name] = None
    if step == "report_confirmed":
        slots["confidential"] = False
    return {**slots, **extra}


def turn(text: str, step: str, *, intent: str = "inform", caller: str | None = None, **extra) -> Turn:
    return Turn(text=text, intent=intent, confidence=0.9, requested_slot=step, slots=slots_at(step, **extra),
                caller_number=caller)


# -- 1. a time word in the description is the condition, not the answer to "when" -------------------


@pytest.mark.parametrize("said", ["路灯坏了 晚上一片黑", "楼下烧烤店晚上油烟特别大", "村口路灯坏了 晚上走路都看不见",
                                  "邻居家狗晚上一直叫", "一到晚上就吵得睡不着"])
def test_part_of_the_day_in_the_description_is_not_the_time(said: str) -> None:
    assert u.time_answer(said, asked=False) is None
    out = process(Turn(text="我要投诉 " + said, intent="complaint", confidence=0.9, requested_slot=None, slots={},
                       activating=True))
    assert "incident_time" not in out.updates


@pytest.mark.parametrize(("said", "when"), [("昨天晚上开始的", "昨天晚上"), ("每天晚上十点以后", "每天晚上十点"),
                                            ("晚上十点以后特别吵", "晚上十点"), ("早上上班路上看到的", "早上"),
                                            ("从晚上八点开始停水", "晚上八点"), ("路灯坏了一个月了 晚上一片黑", "一个月了"),
                                            ("天天晚上打麻将吵得很", "天天晚上")])
def test_real_time_words_still_say_when(said: str, when: str) -> None:
    assert u.time_answer(said, asked=False) == when


def test_asked_for_the_time_a_part_of_the_day_is_the_answer() -> None:
    assert process(turn("晚上", "incident_time")).updates["incident_time"] == "晚上"
    assert process(turn("每天晚上十点以后", "incident_time")).updates["incident_time"] == "每天晚上十点以后"


# -- 2. leaving at every step, without breaking answers that say "不用" --------------------------------


@pytest.mark.parametrize("step", ORDER)
@pytest.mark.parametrize("words", ["算了", "不说了", "算了 太麻烦了", "不说了 我还有事", "那我不说了 我去忙了",
                                   "唉 算了 说了也没用", "我再考虑考虑", "先不登记了", "等会儿再打"])
def test_leaving_words_end_the_form_at_every_step(step: str, words: str) -> None:
    assert process(turn(words, step, intent="stop")).exit == u.LEAVING


@pytest.mark.parametrize("step", ("description", "location", "incident_time", "citizen_name", "phone"))
def test_bare_no_need_is_leaving_where_it_answers_nothing(step: str) -> None:
    assert process(turn("不用了", step, intent="stop")).exit == u.LEAVING


@pytest.mark.parametrize("said", ["不用了", "不用了 谢谢你", "不用保密", "那就不用了"])
def test_no_need_at_the_confidential_question_is_the_answer(said: str) -> None:
    out = process(turn(said, "confidential", intent="stop"))
    assert out.exit is None and not out.skip and out.updates["confidential"] is False


def test_no_need_to_the_offered_number_asks_for_another() -> None:
    out = process(turn("不用了", "phone", intent="stop", caller="13800001111"))
    assert out.exit is None and not out.skip and out.updates["phone_use_caller"] is False


def test_declining_the_name_is_anonymous_not_leaving() -> None:
    out = process(turn("算了吧 名字不说了", "citizen_name", intent="stop"))
    assert out.exit is None and out.updates["citizen_name"] == "匿名"


def test_declining_the_phone_of_an_anonymous_report() -> None:
    out = process(turn("电话就不留了 算了", "phone", intent="stop", demand_type="report"))
    assert out.exit is None and out.updates["phone"] == "不留"


def test_declining_the_phone_of_a_complaint_is_explained() -> None:
    out = process(turn("不用了 我不想留", "phone", intent="stop"))
    assert out.exit is None and out.failed == "phone" and "说“算了”" in out.reason


def test_bare_no_need_at_the_read_back_is_asked_back() -> None:
    out = process(turn("不用了", "report_confirmed", intent="deny"))
    assert out.exit is None and "report_confirmed" not in out.updates
    assert "不用改了吗" in out.messages[0]["text"]


# -- 3. yes and goodbye at the read-back --------------------------------------------------------------


@pytest.mark.parametrize("said", ["好的 拜拜", "没问题 挂了啊", "嗯嗯 就这样吧", "确认 再见"])
def test_yes_and_goodbye_files(said: str) -> None:
    assert process(turn(said, "report_confirmed", intent="goodbye")).updates == {"report_confirmed": True}
    assert u.says_goodbye(said)


@pytest.mark.parametrize("said", ["好的 算了", "行 不登记了", "嗯 算了吧 不弄了"])
def test_yes_then_never_mind_does_not_file(said: str) -> None:
    out = process(turn(said, "report_confirmed", intent="affirm"))
    assert out.exit == u.LEAVING and "report_confirmed" not in out.updates


def test_a_plain_yes_is_no_goodbye() -> None:
    assert not u.says_goodbye("确认提交") and not u.says_goodbye("/affirm")


# -- 4. emergencies read in context -------------------------------------------------------------------


@pytest.mark.parametrize(("said", "kind"), [
    ("着火了 快来人", FIRE), ("小区发生火灾了", FIRE), ("厨房烧起来了 救命", FIRE),
    ("一个男的拿着菜刀在追他老婆", VIOLENCE), ("菜市场门口有个人拿着刀在追人", VIOLENCE),
    ("我今晚就从楼上跳下去", SELF_HARM), ("我被逼得想跳河了", SELF_HARM),
    ("前面出车祸了 有个人躺在路上不动", MEDICAL), ("路边有个老人晕倒了", MEDICAL),
    ("哎 现在楼道里好大一股煤气味", GAS), ("昨天晚上开始就有煤气味 现在越来越浓", GAS), ("家里漏气了", GAS),
    ("他喝了农药 快不行了", SOMEONE_AT_RISK), ("有人在河边要跳河", SOMEONE_AT_RISK),
])  # fmt: skip
def test_real_emergencies_are_kept(said: str, kind: str) -> None:
    alarm = judge(said)
    assert alarm is not None and alarm.kind == kind


@pytest.mark.parametrize("said", [
    "热得跟着火了一样", "没有着火 就是烟有点大", "不是打架 是他们在吵架", "新闻上说有人拿刀砍人 我们这安全吗",
    "上个月小区着火那家到现在外墙还是黑的没人修", "去年我家被人打了 到现在没赔钱", "熏得我都想跳楼了", "吵得我想死",
    "担心煤气泄漏 管道老化了", "万一着火了怎么办 消防通道被堵了", "昨天菜市场有人打架 派出所处理了",
    "前年出过车祸 那个路口要装红绿灯", "出车祸了 没人受伤 就是堵得厉害", "气得我想杀了他", "这家店的烧烤火很大 油烟熏人",
    "他们说要“炸了”这个楼 是开玩笑的",
])  # fmt: skip
def test_hyperbole_negation_past_and_news_are_no_emergency(said: str) -> None:
    assert judge(said) is None


def test_hyperbole_mid_form_keeps_the_form_going() -> None:
    out = process(turn("热得跟着火了一样 空调也不修", "location"))
    assert out.alarm is None and "emergency" not in out.updates


# -- 5. the other matter, said mid-form ---------------------------------------------------------------


@pytest.mark.parametrize(("said", "words"), [("对了还有个事 我家门口路灯也坏了", "我家门口路灯也坏了"),
                                             ("另外还有一件事 我们村的桥栏杆也断了", "我们村的桥栏杆也断了"),
                                             ("哦对了，我还要反映一个 门口路灯坏了", "反映一个 门口路灯坏了")])
def test_the_other_matter_is_noted_without_its_lead_in(said: str, words: str) -> None:
    out = process(turn(said, "citizen_name"))
    assert out.updates["next_matter"] == said and u.new_matter_words(said) == words
    assert "citizen_name" not in out.updates


def test_a_name_said_when_the_nlu_hears_a_correction_is_the_name() -> None:
    out = process(turn("我姓王", "incident_time", intent="correct"))
    assert out.updates["citizen_name"] == "王" and not out.corrected


# -- 6. 紧急 at night: the promise the SLA keeps ------------------------------------------------------


def test_urgent_ticket_at_night_is_dispatched_with_the_sign_in_deadline_in_minutes() -> None:
    ticket = {
        "ticket_no": "JH20261203-0002", "demand_type": "help_request", "urgency": "紧急",
        "created_at": "2026-12-03T22:00:00+08:00", "dispatched_at": "2026-12-03T22:00:00+08:00",
        "sign_due_at": "2026-12-03T22:30:00+08:00", "reply_due_at": "2026-12-04T17:30:00+08:00",
        "assignments": [{"role": "lead", "department": "自来水公司", "sign_due_at": "2026-12-03T22:30:00+08:00"}],
    }
    text = filed_message(ticket)
    assert "已经直接派给自来水公司" in text and "30分钟内（22:30前）" in text and "不分白天晚上" in text
    assert text.index("22:30") < text.index("17:30")  # the hours first, the office-day reply deadline after


def test_urgent_ticket_waiting_for_a_dispatcher_promises_no_department() -> None:
    ticket = {"ticket_no": "JH20261203-0003", "demand_type": "help_request", "urgency": "紧急",
              "created_at": "2026-12-03T22:00:00+08:00", "reply_due_at": "2026-12-04T17:30:00+08:00", "assignments": []}
    text = filed_message(ticket)
    # what the back office really does: it waits in 待派单 (紧急 first); nobody dispatches after hours
    assert "派单员确定由哪个单位来办" in text and "下班时间要等上班后第一时间派出" in text and "派给自来水" not in text
    assert "30分钟内签收" in text and "不分白天晚上" not in text


@pytest.mark.parametrize("said", ["就用这个号码", "不用保密"])
def test_an_answer_to_another_question_is_not_the_place(said: str) -> None:
    out = process(turn(said, "location"))
    assert "location" not in out.updates


# -- found by talking to the bot as a confused, impatient or angry citizen ------------------------------


def test_not_knowing_whom_to_call_is_no_matter_yet() -> None:
    from bot.parsing import has_substance

    assert not has_substance("喂 是12345吗 我也不知道该找谁") and not has_substance("是12345吗")
    assert has_substance("我家自来水放出来是黄的")


def test_what_confidential_means_is_explained_not_taken_as_yes() -> None:
    out = process(turn("啥叫保密啊", "confidential"))
    assert "confidential" not in out.updates and "不让被反映的一方知道" in out.messages[0]["text"]


def test_an_answer_to_another_question_is_never_the_time() -> None:
    out = process(turn("那就保密吧", "incident_time", confidential=True))
    assert "incident_time" not in out.updates and out.failed == "incident_time"


def test_a_few_days_ago_is_a_time_not_a_question() -> None:
    out = process(turn("哎呀就前几天开始的吧 我也记不清了", "incident_time"))
    assert out.updates["incident_time"] == "前几天" and not out.messages


def test_venting_at_the_place_question_is_heard_not_stored() -> None:
    out = process(turn("气得我想把食堂炸了", "location"))
    assert "location" not in out.updates and out.alarm is None
    assert "我理解您的心情" in out.messages[0]["text"]


def test_a_time_word_before_an_estate_word_is_no_estate() -> None:
    from bot.gazetteer import match_address

    assert not match_address("上个月小区着火那家到现在外墙还是黑的", strict=True).found
    assert not match_address("这个月小区停水三次了", strict=True).found


def test_a_landmark_with_more_words_at_the_detail_question_is_kept_as_said() -> None:
    slots = {"description": "食堂饭菜难吃", "demand_type": "complaint", "location": "高作镇", "location_town": "高作镇"}
    out = process(Turn(text="高作镇政府食堂", intent="inform", confidence=0.9, requested_slot="location_detail", slots=slots))
    assert out.updates["location"] == "高作镇政府食堂"  # not "高作镇高作镇政府"


def test_a_hurried_citizen_is_told_it_is_nearly_done() -> None:
    out = process(turn("你们能不能快点啊 我还要上班", "location"))
    assert "location" not in out.updates and "很快就好" in out.messages[0]["text"]


def test_not_a_complaint_but_a_repair_goes_on() -> None:
    assert u.classify("不是 我不是要投诉物业 是要你们来把井盖补上", requested_slot="citizen_name").kind != u.NOT_A_REPORT
    assert u.classify("我就问问啊 不是要反映什么", requested_slot="location").kind == u.NOT_A_REPORT


def test_a_question_about_the_matter_goes_into_the_ticket() -> None:
    slots = {"description": "我家孩子上学的事 户口不在这边能不能上", "demand_type": "consultation"}
    out = process(Turn(text="那我要准备什么材料呢", intent="consultation", confidence=0.9, requested_slot="location", slots=slots))
    assert out.updates["description"].endswith("那我要准备什么材料呢") and "一并答复" in out.messages[0]["text"]


def test_a_child_alone_for_hours_is_urgent_help() -> None:
    from bot.safety import urgent_help

    advice = urgent_help("我邻居家小孩一直哭 大人好像不在 好几个小时了")
    assert advice is not None and advice.urgency == "紧急" and "110" in advice.advice
    assert urgent_help("我家孩子上学的事 户口不在这边能不能上") is None
