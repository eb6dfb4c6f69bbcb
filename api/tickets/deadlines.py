"""Deadlines in Chinese working days: national holidays and 调休 make-up days count correctly."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from api.core.settings import get_settings

# Working days to the department's reply, by demand type (overridden by the county SLA policy).
DEFAULT_REPLY_DAYS = {
    "consultation": 1,
    "help_request": 3,
    "complaint": 5,
    "report": 5,
    "suggestion": 5,
    "praise": 3,
}
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


def reply_due(created_at: datetime, demand_type: str, reply_days: dict[str, int] | None = None) -> datetime:
    days = (reply_days or DEFAULT_REPLY_DAYS).get(demand_type, 5)
    return add_working_days(created_at, days)


WEEKDAYS = "一二三四五六日"


def describe(moment: datetime) -> str:
    """How an operator says a deadline: 12月2日（星期三）."""
    local = moment.astimezone(ZoneInfo(get_settings().timezone))
    return f"{local.month}月{local.day}日（星期{WEEKDAYS[local.weekday()]}）"
