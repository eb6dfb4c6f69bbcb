"""Are agents on duty? Shift hours on Chinese working days, and at least one console connected."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.core.settings import get_settings
from api.tickets.deadlines import WEEKDAYS, is_workday


def _shift() -> tuple[time, time]:
    settings = get_settings()
    return time.fromisoformat(settings.agent_shift_start), time.fromisoformat(settings.agent_shift_end)


def in_shift(now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(get_settings().timezone))
    start, end = _shift()
    return is_workday(local.date()) and start <= local.time() < end


def next_shift_start(now: datetime) -> datetime:
    tz = ZoneInfo(get_settings().timezone)
    local = now.astimezone(tz)
    start, _ = _shift()
    day = local.date()
    if is_workday(day) and local.time() < start:
        return datetime.combine(day, start, tzinfo=tz)
    day += timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    return datetime.combine(day, start, tzinfo=tz)


def describe_return(now: datetime, back: datetime) -> str:
    """How an operator says when colleagues are back: 明天（11月28日，星期六）上午8:30."""
    local_now = now.astimezone(back.tzinfo)
    days = (back.date() - local_now.date()).days
    when = {0: "今天", 1: "明天", 2: "后天"}.get(days, "")
    date_text = f"{back.month}月{back.day}日，星期{WEEKDAYS[back.weekday()]}"
    clock = f"{'上午' if back.hour < 12 else '下午'}{back.hour if back.hour <= 12 else back.hour - 12}:{back.minute:02d}"
    return f"{when}（{date_text}）{clock}" if when else f"{date_text}{clock}"
