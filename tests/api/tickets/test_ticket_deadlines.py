"""Deadlines in Chinese working days: national holidays and 调休 make-up days."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from backoffice_helpers import act, new_ticket

from api.tickets import deadlines

CST = ZoneInfo("Asia/Shanghai")


def test_completion_spans_national_day_2026():
    # Wed 30 Sep; 1–7 Oct 国庆 holiday; Sat 10 Oct is a 调休 working day.
    start = datetime(2026, 9, 30, 10, 0, tzinfo=CST)
    assert deadlines.add_working_days(start, 5) == datetime(2026, 10, 13, 17, 30, tzinfo=CST)
    assert deadlines.add_working_days(start, 3) == datetime(2026, 10, 10, 17, 30, tzinfo=CST)  # Saturday, 调休


def test_spring_festival_2026_and_make_up_saturday():
    start = datetime(2026, 2, 13, 9, 0, tzinfo=CST)  # Fri; Sat 14 Feb is 调休; 15–23 Feb 春节
    assert deadlines.add_working_days(start, 1) == datetime(2026, 2, 14, 17, 30, tzinfo=CST)
    assert deadlines.add_working_days(start, 2) == datetime(2026, 2, 24, 17, 30, tzinfo=CST)


def test_same_day_and_working_hours():
    assert deadlines.add_working_days_fraction(datetime(2026, 9, 30, 10, 0, tzinfo=CST), 0.5) == datetime(2026, 9, 30, 17, 30, tzinfo=CST)
    # After hours on the eve of the holiday: the end of the next working day.
    assert deadlines.add_working_days_fraction(datetime(2026, 9, 30, 18, 0, tzinfo=CST), 0.5) == datetime(2026, 10, 8, 17, 30, tzinfo=CST)
    # 2 office hours from 16:30 on 30 Sep: one hour that day, one hour after the holiday.
    assert deadlines.add_working_hours(datetime(2026, 9, 30, 16, 30, tzinfo=CST), 2) == datetime(2026, 10, 8, 9, 30, tzinfo=CST)
    # 紧急 runs on the clock.
    assert deadlines.sign_due(datetime(2026, 10, 1, 12, 0, tzinfo=CST), "紧急", {"紧急": 0.5}) == datetime(2026, 10, 1, 12, 30, tzinfo=CST)


def test_ticket_deadlines_from_the_county_sla_over_the_holiday(client, staff, monkeypatch):
    from api.tickets import intake, transitions

    moment = datetime(2026, 9, 30, 16, 30, tzinfo=CST)
    monkeypatch.setattr(intake, "utcnow", lambda: moment)
    monkeypatch.setattr(transitions, "utcnow", lambda: moment)
    t = new_ticket(client)  # complaint 普通: reply 1 day, complete 5 days, sign-in 2 office hours
    assert t["reply_due_at"] == "2026-10-08T17:30:00+08:00"
    assert t["complete_due_at"] == "2026-10-13T17:30:00+08:00"
    dispatched = act(client, staff["dispatcher"], t["ticket_no"], "dispatch", department="cgj")
    assert dispatched["sign_due_at"] == "2026-10-08T09:30:00+08:00"
    assert dispatched["assignments"][0]["sign_due_at"] == "2026-10-08T09:30:00+08:00"


@pytest.mark.parametrize(("demand_type", "urgency", "complete"), [
    ("consultation", "普通", "2026-10-08T17:30:00+08:00"),
    ("report", "普通", "2026-10-20T17:30:00+08:00"),
    ("complaint", "特急", "2026-10-08T17:30:00+08:00"),
])
def test_deadline_by_type_and_urgency(client, monkeypatch, demand_type, urgency, complete):
    from api.tickets import intake

    monkeypatch.setattr(intake, "utcnow", lambda: datetime(2026, 9, 30, 18, 0, tzinfo=CST))
    t = new_ticket(client, demand_type=demand_type, urgency=urgency, description="县城某处需要处理的问题描述")
    assert t["complete_due_at"] == complete
