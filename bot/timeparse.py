"""Relative time expressions ("昨天晚上", "上周三", "三天前", "11月20号") to a calendar date.

The ticket keeps the words as said (incident_time) and, when they name a day, the date
(incident_date) so staff can sort and filter. Vague spans ("好几个月了", "一直") give None.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from bot.numbers import chinese_to_int

CHINA_TZ = timezone(timedelta(hours=8))
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_NUM = r"[0-9一二三四五六七八九十两]{1,3}"


def today_in_china() -> date:
    return datetime.now(CHINA_TZ).date()


def incident_date(phrase: str | None, today: date | None = None) -> date | None:
    """The day a time phrase refers to, or None when it does not name one day."""
    if not phrase:
        return None
    today = today or today_in_china()
    t = phrase.strip()
    for word, days in (("大前天", 3), ("前天", 2), ("昨天", 1), ("昨晚", 1), ("昨夜", 1), ("今天", 0), ("今早", 0),
                       ("今晚", 0), ("刚才", 0), ("刚刚", 0)):  # fmt: skip
        if word in t:
            return today - timedelta(days=days)
    m = re.search(rf"({_NUM})\s*(?:个)?(天|周|星期|礼拜)(?:(?:之|以)?前|了)", t)
    if m:
        n = chinese_to_int(m.group(1).replace("两", "二"))
        if n is not None:
            return today - timedelta(days=n * (1 if m.group(2) == "天" else 7))
    m = re.search(r"(上上|上|这|本)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天])", t)
    if m:
        monday = today - timedelta(days=today.weekday())
        weeks_back = {"上上": 2, "上": 1}.get(m.group(1) or "", 0)
        return monday - timedelta(weeks=weeks_back) + timedelta(days=_WEEKDAY[m.group(2)])
    m = re.search(rf"(?:(\d{{4}})年)?({_NUM})月({_NUM})(?:日|号)", t)
    if m:
        month, day = chinese_to_int(m.group(2)), chinese_to_int(m.group(3))
        year = int(m.group(1)) if m.group(1) else today.year
        return _safe_date(year, month, day, today, year_given=bool(m.group(1)))
    m = re.search(rf"上(?:个)?月({_NUM})(?:日|号)", t)
    if m:
        day = chinese_to_int(m.group(1))
        first = today.replace(day=1) - timedelta(days=1)
        return _safe_date(first.year, first.month, day, today, year_given=True)
    m = re.search(rf"(?:^|[^月\d])({_NUM})(?:日|号)(?!楼)", t)
    if m and not re.search(r"(栋|单元|室)", t):
        day = chinese_to_int(m.group(1))
        if day and day > today.day:  # "20号" said on the 5th means last month
            prev = today.replace(day=1) - timedelta(days=1)
            return _safe_date(prev.year, prev.month, day, today, year_given=True)
        return _safe_date(today.year, today.month, day, today, year_given=True)
    return None


def _safe_date(year: int, month: int | None, day: int | None, today: date, *, year_given: bool) -> date | None:
    if not month or not day:
        return None
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    if not year_given and value > today:
        value = date(year - 1, month, day)  # "12月20号" said in January: last year
    return value if value <= today else None
