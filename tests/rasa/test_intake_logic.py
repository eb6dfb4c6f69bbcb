from typing import Any

from actions.intake_logic import Outcome, Turn, next_slot, plausible_name, process
from actions.report import ANONYMOUS, NO_CORRECTION, NOT_APPLICABLE, UNKNOWN


def run(
    text: str,
    slots: dict[str, Any] | None = None,
    *,
    intent: str = "inform",
    confidence: float = 0.9,
    requested: str | None = None,
    caller: str | None = None,
) -> Outcome:
    return process(
        Turn(
            text=text,
            intent=intent,
            confidence=confidence,
            requested_slot=requested,
            slots=slots or {},
            caller_number=caller,
            activating=requested is None,
        )
    )


def filled(**extra: Any) -> dict[str, Any]:
    base = {
        "demand_type": "complaint",
        "description": "路灯坏了",
        "location": "建阳镇双河村",
        "location_town": "建阳镇",
        "location_detail": "双河村",
        "incident_time": "昨天",
        "citizen_name": "张先生",
        "phone": "13812345678",
        "confidential": False,
        "correction_request": NO_CORRECTION,
    }
    base.update(extra)
    return base


def test_everything_in_the_first_message_leaves_only_the_read_back() -> None:
    out = run("我是建阳镇双河村的张先生，我们村口那条路坏了好几个月了，电话13812345678，不用保密", intent="complaint")
    up = out.updates
    assert up["demand_type"] == "complaint"
    assert up["description"] == "我们村口那条路坏了好几个月了"
    assert (up["location"], up["location_town"], up["location_detail"]) == ("建阳镇双河村", "建阳镇", "双河村")
    assert up["incident_time"] == "好几个月了"
    assert up["citizen_name"] == "张先生" and up["phone"] == "13812345678" and up["confidential"] is False
    assert next_slot(up) == "report_confirmed"


def test_demand_type_from_ranking_when_the_first_message_reads_as_inform() -> None:
    turn = Turn(
        text="建阳镇双河村村口的路灯坏了一个月了",
        intent="inform",
        confidence=0.8,
        requested_slot=None,
        slots={},
        activating=True,
        ranking=[("inform", 0.8), ("complaint", 0.1), ("report", 0.05)],
    )
    assert process(turn).updates["demand_type"] == "complaint"


def test_a_phone_given_when_asked_for_the_place_fills_the_phone() -> None:
    slots = {"demand_type": "complaint", "description": "下水道堵了", "correction_request": NO_CORRECTION}
    out = run("电话是13912345678", slots, requested="location")
    assert out.updates["phone"] == "13912345678"
    assert "location" not in out.updates and out.failed is None
    assert next_slot({**slots, **out.updates}) == "location"


def test_town_only_asks_once_for_the_village_and_accepts_dont_know() -> None:
    slots = {"demand_type": "complaint", "description": "下水道堵了", "correction_request": NO_CORRECTION}
    out = run("上冈镇", slots, requested="location")
    merged = {**slots, **out.updates}
    assert merged["location_town"] == "上冈镇" and next_slot(merged) == "location_detail"
    out2 = run("不清楚", merged, requested="location_detail")
    merged2 = {**merged, **out2.updates}
    assert merged2["location_detail"] == UNKNOWN and next_slot(merged2) == "incident_time"


def test_detail_answer_builds_the_full_location() -> None:
    slots = {"description": "路灯坏了", "location": "上冈镇", "location_town": "上冈镇"}
    out = run("冈南新村3号楼那边", slots, requested="location_detail")
    assert out.updates["location"].startswith("上冈镇冈南新村3号楼")


def test_invalid_phone_is_refused_with_the_reason() -> None:
    out = run("1381234567", filled(phone=None), requested="phone")
    assert out.failed == "phone" and "11位" in out.reason and "10位" in out.reason
    assert "phone" not in out.updates


def test_voice_caller_number_is_offered_and_accepted() -> None:
    out = run("是的", filled(phone=None), intent="affirm", requested="phone", caller="13655151234")
    assert out.updates["phone"] == "13655151234"
    out2 = run("换一个", filled(phone=None), intent="deny", requested="phone", caller="13655151234")
    assert out2.updates["phone_use_caller"] is False and out2.failed is None


def test_anonymous_citizen() -> None:
    out = run("我不想留名字", filled(citizen_name=None), requested="citizen_name")
    assert out.updates["citizen_name"] == ANONYMOUS


def test_chitchat_is_left_to_the_rules_and_leaving_ends_the_form() -> None:
    assert run("你们几点下班", filled(phone=None), intent="chitchat", requested="phone").skip
    assert run("算了不说了", filled(phone=None), intent="stop", requested="phone").exit == "leaving"
    assert run("转人工", filled(), intent="human_handoff", requested="report_confirmed").exit == "person"
    # ...unless the message answers the question
    assert not run("好的13812345678", filled(phone=None), intent="chitchat", requested="phone").skip


def test_consultation_has_no_time_question() -> None:
    out = run("孩子上小学要什么材料", {}, intent="consultation")
    assert out.updates["incident_time"] == NOT_APPLICABLE
    assert "location" not in out.updates  # 小学 is not an address


def test_confirmation_at_read_back() -> None:
    assert run("确认提交", filled(), intent="affirm", requested="report_confirmed").updates == {
        "report_confirmed": True
    }


def test_correction_with_the_new_value_updates_that_slot_only() -> None:
    out = run("地址说错了，是钟庄街道钟庄花园", filled(), intent="correct", requested="report_confirmed")
    assert out.updates["location"] == "钟庄街道钟庄花园" and out.updates["location_town"] == "钟庄街道"
    assert out.updates["report_confirmed"] is None and "phone" not in out.updates
    out = run("电话错了是13912345678", filled(), intent="correct", requested="report_confirmed")
    assert out.updates["phone"] == "13912345678"
    out = run("不是投诉，是建议", filled(), intent="correct", requested="report_confirmed")
    assert out.updates["demand_type"] == "suggestion"


def test_correction_without_a_value_asks_again_for_that_slot() -> None:
    out = run("名字写错了", filled(), intent="correct", requested="report_confirmed")
    merged = {**filled(), **out.updates}
    assert merged["citizen_name"] is None and next_slot(merged) == "citizen_name"


def test_correction_without_a_field_asks_which_part() -> None:
    out = run("/correct", filled(), intent="correct", requested="report_confirmed")
    merged = {**filled(), **out.updates}
    assert next_slot(merged) == "correction_request"
    out2 = run("电话要改", merged, requested="correction_request")
    merged2 = {**merged, **out2.updates}
    assert next_slot(merged2) == "phone" and merged2["correction_request"] == NO_CORRECTION


def test_unusable_answers_fail_with_a_reason() -> None:
    out = run("嗯？", filled(confidential=None), requested="confidential")
    assert out.failed == "confidential" and out.reason
    out = run("确认提交", filled(incident_time=None), intent="affirm", requested="incident_time")
    assert out.failed == "incident_time"


def test_plausible_names() -> None:
    assert plausible_name("王小明") and plausible_name("小明妈妈") and plausible_name("老李")
    assert not plausible_name("今天早上") and not plausible_name("育才小区") and not plausible_name("不用了")


def test_mid_form_correction_without_a_field_is_noted_with_the_matter() -> None:
    slots = {"demand_type": "complaint", "description": "楼下烧烤店油烟太大", "correction_request": NO_CORRECTION}
    out = run("刚才说错了，不是油烟，是噪音", slots, intent="correct", requested="location")
    assert out.updates["description"] == "楼下烧烤店油烟太大（更正：不是油烟，是噪音）"
    assert "correction_pending" not in out.updates


def test_more_about_the_matter_at_the_read_back_is_added() -> None:
    out = run("还有就是晚上十点以后特别吵", filled(), requested="report_confirmed")
    assert out.updates["description"] == "路灯坏了；晚上十点以后特别吵"


def test_house_number_said_later_completes_the_address() -> None:
    slots = filled(location="近湖街道香榭丽都", location_detail="香榭丽都", incident_time=None)
    out = run("5栋", slots, requested="incident_time")
    assert out.updates["location"] == "近湖街道香榭丽都5栋"
    assert "incident_time" not in out.updates and out.failed is None


def test_time_said_is_resolved_to_a_date_once() -> None:
    from datetime import timedelta

    from bot.timeparse import today_in_china

    out = run("昨天晚上", filled(incident_time=None), requested="incident_time")
    assert out.updates["incident_time"] == "昨天晚上"
    assert out.updates["incident_date"] == (today_in_china() - timedelta(days=1)).isoformat()


def test_a_town_is_enough_for_a_consultation() -> None:
    out = run("我想问下公积金怎么提取 我在开发区上班 电话15005151234", {}, intent="consultation")
    merged = out.updates
    assert merged["location_town"] == "建湖经济开发区" and merged["location_detail"] == UNKNOWN
    assert merged["phone"] == "15005151234" and next_slot(merged) == "citizen_name"


def test_description_without_punctuation_drops_the_asides() -> None:
    out = run(
        "你好 我是钟庄街道城东新苑的居民 姓吴 我们小区门口的路灯坏了快一个月了 我电话是18951512345 麻烦保密一下",
        {},
        intent="complaint",
    )
    up = out.updates
    assert up["description"] == "我们小区门口的路灯坏了快一个月了"
    assert up["citizen_name"] == "吴" and up["confidential"] is True and up["location"] == "钟庄街道城东新苑"


def test_low_confidence_words_that_started_the_intake_are_the_description() -> None:
    out = run("河里有死鱼", {}, intent="nlu_fallback", confidence=1.0)
    assert not out.skip and out.updates["description"] == "河里有死鱼"
    assert run("sdfsdf", filled(phone=None), intent="nlu_fallback", confidence=1.0, requested="phone").skip
