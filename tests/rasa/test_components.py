import asyncio
from typing import Any

from rasa.shared.nlu.training_data.message import Message
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.intake import ValidateIntakeForm
from actions.validation_base import FAILURES_SLOT, MAX_FAILURES
from bot.components import GibberishFilter, HotlineEntityExtractor, extract_ticket_numbers


def test_entities_from_a_messy_message() -> None:
    entities = HotlineEntityExtractor.extract("我住建洋镇双和村 电话幺三八 幺二三四 五六七八")
    values = {(e["entity"], e["value"]) for e in entities}
    assert ("phone", "13812345678") in values
    assert ("town", "建阳镇") in values
    assert ("place", "双河村") in values


def test_invalid_phone_entity_carries_the_reason() -> None:
    [entity] = [e for e in HotlineEntityExtractor.extract("电话1381234567") if e["entity"] == "phone"]
    assert "10位" in entity["invalid_reason"]


def test_ticket_numbers() -> None:
    assert [t["value"] for t in extract_ticket_numbers("工单号jh 20261127 0001")] == ["JH20261127-0001"]
    assert [t["value"] for t in extract_ticket_numbers("JH二零二六幺幺二七-零零零幺")] == ["JH20261127-0001"]


def test_gibberish_filter_overrides_the_intent() -> None:
    message = Message(data={"text": "asdfgh", "intent": {"name": "complaint", "confidence": 0.9}})
    words = Message(data={"text": "路灯坏了", "intent": {"name": "complaint", "confidence": 0.9}})
    GibberishFilter().process([message, words])
    assert message.get("intent")["name"] == "nlu_fallback"
    assert words.get("intent")["name"] == "complaint"


def _tracker(text: str, slots: dict[str, Any], intent: str = "inform") -> Tracker:
    return Tracker(
        sender_id="c-1",
        slots=slots,
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "intent_ranking": []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": "intake_form"},
        latest_action_name="action_listen",
    )


def _run(text: str, slots: dict[str, Any]) -> tuple[list[dict[str, Any]], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateIntakeForm().run(dispatcher, _tracker(text, slots), {}))
    return events, dispatcher


def test_failures_are_capped_then_a_human_is_offered() -> None:
    slots: dict[str, Any] = {
        "description": "路灯坏了",
        "location": "建阳镇双河村",
        "location_town": "建阳镇",
        "location_detail": "双河村",
        "incident_time": "昨天",
        "citizen_name": "张先生",
        "requested_slot": "phone",
        FAILURES_SLOT: {},
    }
    for attempt in range(1, MAX_FAILURES + 1):
        events, dispatcher = _run("1381234", slots)
        updates = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
        assert updates[FAILURES_SLOT]["phone"] == attempt
        assert updates["requested_slot"] == "phone"
        assert "11位" in dispatcher.messages[-1]["text"]
        slots = {**slots, **updates}
    assert "转人工" in dispatcher.messages[-1]["text"]
    assert dispatcher.messages[-1]["buttons"][0]["payload"] == "/human_handoff"
    assert slots["handoff_reason"] == "form_failures"
    events, _ = _run("13812345678", slots)
    updates = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert updates["phone"] == "13812345678" and "phone" not in updates[FAILURES_SLOT]


def test_rule_intents_make_the_form_reject() -> None:
    dispatcher = CollectingDispatcher()
    tracker = _tracker("你们几点下班", {"description": "x", "requested_slot": "phone"}, intent="chitchat")
    assert asyncio.run(ValidateIntakeForm().run(dispatcher, tracker, {})) == []


def test_leaving_ends_the_form_politely_and_keeps_the_draft() -> None:
    events, dispatcher = _run("没事了，不说了，再见", {"description": "路灯坏了", "requested_slot": "phone", FAILURES_SLOT: {}})
    updates = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert updates["requested_slot"] is None and updates["form_exit"] == "leaving"
    assert updates["description"] is None and updates["abandoned_draft"]["description"] == "路灯坏了"
    assert "不登记" in dispatcher.messages[0]["text"] and "再见" in dispatcher.messages[0]["text"]


def test_emergency_advice_comes_first_and_only_once() -> None:
    slots: dict[str, Any] = {"requested_slot": "description", FAILURES_SLOT: {}}
    events, dispatcher = _run("楼下饭店着火了，烟很大", slots)
    assert "119" in dispatcher.messages[0]["text"]
    updates = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert updates["description"] == "楼下饭店着火了，烟很大"
    _, dispatcher = _run("还在着火，在人民路上", {**slots, **updates, "requested_slot": "location"})
    assert not any("119" in m["text"] for m in dispatcher.messages)


def _slot(events: list[dict[str, Any]], name: str) -> Any:
    return next(e["value"] for e in events if e.get("event") == "slot" and e["name"] == name)


def test_triage_confirms_a_described_matter_then_starts_the_intake() -> None:
    from actions.triage import ActionConfirmIntent, ActionTriage

    tracker = _tracker("河里怎么都是死鱼", {}, intent="nlu_fallback")
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 1.0},
        {"name": "greet", "confidence": 0.2},
        {"name": "report", "confidence": 0.15},
        {"name": "consultation", "confidence": 0.1},
    ]
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionTriage().run(dispatcher, tracker, {}))
    assert "举报" in dispatcher.messages[0]["text"] and "对吗" in dispatcher.messages[0]["text"]
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/affirm", "/consultation", "/deny"]
    assert _slot(events, "pending_text") == "河里怎么都是死鱼" and _slot(events, "confirm_pending") is True
    # 是 -> the intake starts as a report
    yes = _tracker("/affirm", {"triage_guess": "report", "pending_text": "河里怎么都是死鱼", "confirm_pending": True},
                   intent="affirm")
    events = asyncio.run(ActionConfirmIntent().run(CollectingDispatcher(), yes, {}))
    assert _slot(events, "demand_type") == "report"
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "intake_form"


def test_between_two_intake_types_the_read_back_confirms() -> None:
    from actions.triage import ActionTriage

    tracker = _tracker("马路上有个大坑", {}, intent="nlu_fallback")
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 1.0},
        {"name": "complaint", "confidence": 0.3},
        {"name": "report", "confidence": 0.2},
    ]
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionTriage().run(dispatcher, tracker, {}))
    assert not dispatcher.messages
    assert _slot(events, "demand_type") == "complaint" and events[-1]["name"] == "intake_form"


def test_two_failures_offer_a_human() -> None:
    from actions.triage import ActionConfirmIntent, ActionTriage

    gibberish = CollectingDispatcher()
    events = asyncio.run(ActionTriage().run(gibberish, _tracker("sdfsdf", {}, intent="nlu_fallback"), {}))
    assert "换个说法" in gibberish.messages[0]["text"] and _slot(events, "low_confidence_failures") == 1
    no = _tracker("都不是", {"triage_guess": "report", "confirm_pending": True, "low_confidence_failures": 1}, intent="deny")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionConfirmIntent().run(dispatcher, no, {}))
    assert "转人工" in dispatcher.messages[0]["text"]
    assert dispatcher.messages[0]["buttons"] == [{"title": "转人工", "payload": "/human_handoff"}]
    assert _slot(events, "handoff_reason") == "low_confidence"
