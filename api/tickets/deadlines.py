"""Deadlines in Chinese working days: national holidays and 调休 make-up days count correctly."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from api.core.settings import get_settings

END_OF_DAY = time(17, 30)


def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # beyond the package's published calendar: weekdays only
        return day.weekday() < 5


def add_working_days(start: datetime, days: int) -> datetime:
    """End of the n-th working day after `start` (a request at the weekend starts on Monday)."""
    tz = ZoneInfo(get_settings().timezone)
    day = start.astimezone(tz).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    return datetime.combine(day, END_OF_DAY, tzinfo=tz)


WEEKDAYS = "一二三四五六日"


def describe(moment: datetime) -> str:
    """How an operator says a deadline: 12月2日（星期三）."""
    local = moment.astimezone(ZoneInfo(get_settings().timezone))
    return f"{local.month}月{local.day}日（星期{WEEKDAYS[local.weekday()]}）"


# ---- SLA policy (county/<name>/sla.yml): sign-in, reply and completion deadlines -------------

START_OF_DAY = time(8, 30)
WORKDAY_HOURS = 9.0  # 08:30–17:30: a county office day as the SLA counts it


def _local(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(get_settings().timezone))


def add_working_days_fraction(start: datetime, days: float) -> datetime:
    """Whole working days as add_working_days; under one day (0.5 in sla.yml) = by the end of this working day.

    A same-day deadline asked for after 17:30 or on a rest day falls at the end of the next working day.
    """
    if days >= 1:
        return add_working_days(start, int(round(days)))
    local = _local(start)
    if is_workday(local.date()) and local.time() < END_OF_DAY:
        return datetime.combine(local.date(), END_OF_DAY, tzinfo=local.tzinfo)
    return add_working_days(start, 1)


def add_working_hours(start: datetime, hours: float) -> datetime:
    """`hours` of office time (08:30–17:30 on working days), skipping nights, weekends and holidays."""
    local = _local(start)
    tz = local.tzinfo
    remaining = timedelta(hours=hours)
    day = local.date()
    cursor = local
    while True:
        if is_workday(day):
            open_at = datetime.combine(day, START_OF_DAY, tzinfo=tz)
            close_at = datetime.combine(day, END_OF_DAY, tzinfo=tz)
            begin = max(cursor, open_at)
            if begin < close_at:
                available = close_at - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
        cursor = datetime.combine(day, time(0, 0), tzinfo=tz)


def sign_due(dispatched_at: datetime, urgency: str, sign_in_hours: dict[str, float]) -> datetime:
    hours = sign_in_hours.get(urgency, 2.0)
    if urgency == "普通":
        return add_working_hours(dispatched_at, hours)
    # 紧急/特急 run on the clock: safety matters do not wait for office hours.
    return dispatched_at + timedelta(hours=hours)


def policy_deadlines(*, start: datetime, demand_type: str, urgency: str, policy) -> tuple[datetime, datetime]:
    """(reply_due, complete_due) from the county SLA policy (api.county.models.SlaPolicy)."""
    reply_days, complete_days = policy.days(demand_type, urgency)
    return add_working_days_fraction(start, reply_days), add_working_days_fraction(start, complete_days)
