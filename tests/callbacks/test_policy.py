"""The calling policy as pure functions: window edges, rest days and 调休, deadline, back-off."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.callbacks.policy import (
    CallbackPolicy,
    ConfidentialMode,
    Outcome,
    Window,
    add_window_hours,
    in_window,
    next_window_start,
    plan_first,
    retry_at,
    satisfaction_rate,
)

CST = ZoneInfo("Asia/Shanghai")
POLICY = CallbackPolicy()


def at(y: int, m: int, d: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=CST)


@pytest.mark.parametrize(("moment", "allowed"), [
    (at(2026, 11, 27, 8, 59, 59), False),
    (at(2026, 11, 27, 9, 0), True),
    (at(2026, 11, 27, 11, 59, 59), True),
    (at(2026, 11, 27, 12, 0), False),  # the end of a window is exclusive
    (at(2026, 11, 27, 13, 59), False),
    (at(2026, 11, 27, 14, 0), True),
    (at(2026, 11, 27, 19, 59), True),
    (at(2026, 11, 27, 20, 0), False),
    (at(2026, 11, 28, 10, 0), False),  # Saturday
    (at(2026, 10, 1, 10, 0), False),  # National Day
])
def test_window_edges_and_rest_days(moment: datetime, allowed: bool) -> None:
    assert in_window(moment, POLICY) is allowed


def test_window_is_read_in_local_time() -> None:
    # 01:30 UTC is 09:30 in Jianhu.
    assert in_window(datetime(2026, 11, 27, 1, 30, tzinfo=ZoneInfo("UTC")), POLICY)
    assert not in_window(datetime(2026, 11, 27, 0, 30, tzinfo=ZoneInfo("UTC")), POLICY)


def test_make_up_working_day_is_a_calling_day() -> None:
    # A weekend 调休 day is a working day in the calendar, so the bot calls on it.
    import chinese_calendar

    makeups = [d for d in (date(2026, 1, 4) + timedelta(days=i) for i in range(360))
               if d.weekday() >= 5 and chinese_calendar.is_workday(d)]
    assert makeups, "the calendar package should know 2026's make-up working days"
    day = makeups[0]
    assert in_window(datetime.combine(day, time(10), tzinfo=CST), POLICY)


def test_rest_days_allowed_when_configured() -> None:
    policy = CallbackPolicy(call_on_rest_days=True)
    assert in_window(at(2026, 11, 28, 10, 0), policy)
    assert in_window(at(2026, 10, 1, 10, 0), policy)


def test_next_window_start() -> None:
    assert next_window_start(at(2026, 11, 27, 10, 15), POLICY) == at(2026, 11, 27, 10, 15)
    assert next_window_start(at(2026, 11, 27, 12, 0), POLICY) == at(2026, 11, 27, 14, 0)
    assert next_window_start(at(2026, 11, 27, 7, 0), POLICY) == at(2026, 11, 27, 9, 0)
    # Friday evening → Monday morning.
    assert next_window_start(at(2026, 11, 27, 20, 0), POLICY) == at(2026, 11, 30, 9, 0)
    # The National Day holiday week (1–7 Oct 2026) is skipped.
    start = next_window_start(at(2026, 9, 30, 21, 0), POLICY)
    assert start.date() > date(2026, 10, 7) or start.date() == date(2026, 10, 8)
    assert start.time() == time(9, 0)


def test_deadline_counts_only_calling_hours() -> None:
    # 9 calling hours a day (3 + 6): 24 hours from Friday 10:00 → Wednesday.
    due = add_window_hours(at(2026, 11, 27, 10, 0), 24, POLICY)
    # Fri 10–12 + 14–20 = 8 h; Sat/Sun skipped; Mon 9 h (17); Tue 9–12 (20) and 14–18 (24).
    assert due == at(2026, 12, 1, 18, 0)
    assert add_window_hours(at(2026, 11, 27, 11, 0), 1, POLICY) == at(2026, 11, 27, 12, 0)
    assert add_window_hours(at(2026, 11, 27, 11, 30), 1, POLICY) == at(2026, 11, 27, 14, 30)


def test_backoff_and_attempt_cap() -> None:
    end = at(2026, 11, 27, 10, 0)
    assert retry_at(attempt_no=1, outcome=Outcome.no_answer, ended_at=end, policy=POLICY) == at(2026, 11, 27, 10, 30)
    assert retry_at(attempt_no=2, outcome=Outcome.busy, ended_at=end, policy=POLICY) == at(2026, 11, 27, 14, 0)
    assert retry_at(attempt_no=3, outcome=Outcome.no_answer, ended_at=end, policy=POLICY) is None
    # Back-off that lands outside a window moves to the next one.
    assert retry_at(attempt_no=1, outcome=Outcome.no_answer, ended_at=at(2026, 11, 27, 19, 45), policy=POLICY) \
        == at(2026, 11, 30, 9, 0)
    # 现在不方便: no sooner than the reschedule delay.
    assert retry_at(attempt_no=1, outcome=Outcome.reschedule, ended_at=end, policy=POLICY) == at(2026, 11, 27, 11, 0)
    # Outcomes that end the follow-up are not retried.
    for outcome in (Outcome.completed, Outcome.wrong_person, Outcome.refused):
        assert retry_at(attempt_no=1, outcome=outcome, ended_at=end, policy=POLICY) is None


def test_plan_first() -> None:
    ready = at(2026, 11, 27, 21, 0)
    common = dict(ready_at=ready, phone="13805151234", conversation_id=None, ticket_channel="voice",
                  confidential=False, opted_out=False, policy=POLICY)
    plan = plan_first(**common)
    assert plan.channel == "phone" and plan.first_attempt_at == at(2026, 11, 30, 9, 0)
    assert plan.due_at is not None and plan.due_at > plan.first_attempt_at
    assert plan_first(**{**common, "opted_out": True}).channel is None
    assert plan_first(**{**common, "phone": None}).skip_reason == "没有联系电话，无法回访"
    assert plan_first(**{**common, "confidential": True}).channel is None  # default: staff call confidential ones
    relaxed = CallbackPolicy(confidential=ConfidentialMode.no_summary)
    assert plan_first(**{**common, "confidential": True, "policy": relaxed}).channel == "phone"
    chat = plan_first(**{**common, "ticket_channel": "chat", "conversation_id": "c-1"})
    assert chat.channel == "chat"
    assert plan_first(**{**common, "ticket_channel": "chat", "conversation_id": "c-1", "phone": None}).channel == "chat"


def test_window_parse() -> None:
    assert str(Window.parse("9:00-12:00")) == "09:00-12:00"
    assert Window.parse("00:00-24:00").contains(time(23, 59))
    with pytest.raises(ValueError):
        Window.parse("14:00-12:00")


def test_satisfaction_rate_formula() -> None:
    assert satisfaction_rate(6, 2, 2) == pytest.approx(0.8)
    assert satisfaction_rate(0, 0, 0) is None
