from datetime import date

from actions.report import (
    ANONYMOUS,
    NOT_APPLICABLE,
    UNKNOWN,
    build_payload,
    filed_message,
    format_due,
    idempotency_key,
    read_back,
)

SLOTS = {
    "demand_type": "complaint",
    "description": "我们村口那条路坏了好几个月了",
    "location": "建阳镇双河村",
    "location_town": "建阳镇",
    "location_detail": "双河村",
    "incident_time": "好几个月了",
    "citizen_name": "张先生",
    "phone": "13812345678",
    "confidential": False,
}


def test_payload_matches_the_api_contract() -> None:
    payload = build_payload(SLOTS, conversation_id="c-1", channel="chat")
    assert payload == {
        "conversation_id": "c-1",
        "channel": "chat",
        "demand_type": "complaint",
        "description": "我们村口那条路坏了好几个月了",
        "location": "建阳镇双河村",
        "location_town": "建阳镇",
        "location_detail": "双河村",
        "incident_time": "好几个月了",
        "incident_date": None,
        "citizen_name": "张先生",
        "anonymous": False,
        "phone": "13812345678",
        "confidential": False,
        "urgency": "普通",
        "notify_conversation": False,
    }


def test_sentinels_become_nulls_and_anonymous_flag() -> None:
    slots = {**SLOTS, "citizen_name": ANONYMOUS, "incident_time": UNKNOWN, "location_detail": UNKNOWN}
    payload = build_payload(slots, conversation_id="c-1", channel="voice")
    assert payload["anonymous"] is True and payload["citizen_name"] is None
    assert payload["incident_time"] is None and payload["location_detail"] is None
    assert payload["channel"] == "voice"
    assert (
        build_payload({**SLOTS, "incident_time": NOT_APPLICABLE}, conversation_id="c", channel="chat")["incident_time"]
        is None
    )


def test_idempotency_key_is_stable_per_content_and_ignores_notify_flag() -> None:
    payload = build_payload(SLOTS, conversation_id="c-1", channel="chat")
    key = idempotency_key(payload)
    assert key == idempotency_key(dict(payload))
    assert key == idempotency_key({**payload, "notify_conversation": True})
    assert key != idempotency_key({**payload, "phone": "13912345678"})
    assert key != idempotency_key({**payload, "conversation_id": "c-2"})
    assert len(key) <= 128


def test_read_back_names_every_part() -> None:
    text = read_back(SLOTS)
    assert text.startswith("我跟您核对一下")
    for part in (
        "投诉",
        "我们村口那条路坏了好几个月了",
        "建阳镇双河村",
        "好几个月了",
        "张先生",
        "138 1234 5678",
        "不需要保密",
    ):
        assert part in text
    assert "时间" not in read_back({**SLOTS, "demand_type": "consultation", "incident_time": NOT_APPLICABLE})
    assert "咨询的问题" in read_back({**SLOTS, "demand_type": "consultation"})


def test_due_date_in_mandarin() -> None:
    today = date(2026, 11, 27)
    assert format_due("2026-12-02T17:30:00+08:00", today=today) == "12月2日（星期三）"
    assert format_due("2026-11-27T17:30:00+08:00", today=today) == "今天（11月27日）"
    # UTC late evening is already the next day in China
    assert format_due("2026-11-27T20:00:00+00:00", today=today) == "明天（11月28日）"
    assert format_due(None) is None and format_due("not a date") is None


def test_filed_message() -> None:
    ticket = {"ticket_no": "JH20261127-0001", "reply_due_at": "2026-12-02T17:30:00+08:00"}
    assert "JH20261127-0001" in filed_message(ticket)
    assert "答复" in filed_message(ticket)
    assert "不会重复登记" in filed_message(ticket, replay=True)
