"""往年同期 (下对研判"快手棋") and 未诉先办.

Seasonal topics: for a coming month, the topics (a department's category, level 3 where known)
that rose in that month of earlier years — the month's daily volume at least RATIO × that of the
BASELINE_DAYS before it, with at least MIN_COUNT demands — in at least half of the earlier years
that have data. Each department gets a 工作提醒函 listing its topics with the figures.

未诉先办 tasks: a department acts on a topic before the season (or after a hotspot); the outcome is
the topic's volume in the task's window against the same window before it and a year earlier.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.analytics import hotspots
from api.analytics.counting import ticket_filters
from api.analytics.models import SourceTask, WorkReminder
from api.analytics.periods import Period, local_day
from api.core.db import utcnow
from api.tickets.models import Ticket

RATIO = 1.5
MIN_COUNT = 3
BASELINE_DAYS = 56


def month_period(year: int, month: int) -> Period:
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return Period(first, nxt - timedelta(days=1))


def _counts(db_session: Session, period: Period) -> dict[tuple, int]:
    keys = (Ticket.lead_department, Ticket.category_level1, Ticket.category_level2, Ticket.category_level3)
    rows = db_session.execute(select(*keys, func.count()).where(*ticket_filters(period=period, principal=None),
                                                               Ticket.lead_department.is_not(None)).group_by(*keys))
    return {tuple(r[:4]): r[4] for r in rows}


def seasonal_topics(*, db_session: Session, year: int, month: int, years: int = 3, ratio: float = RATIO,
                    min_count: int = MIN_COUNT) -> dict[str, list[dict[str, Any]]]:
    """department id → its seasonal topics for (year, month), from the same month of earlier years."""
    evidence: dict[tuple, dict[str, dict[str, Any]]] = defaultdict(dict)
    with_data = 0
    for back in range(1, years + 1):
        window = month_period(year - back, month)
        base = Period(window.start - timedelta(days=BASELINE_DAYS), window.start - timedelta(days=1))
        in_window, in_base = _counts(db_session, window), _counts(db_session, base)
        if not in_window:
            continue
        with_data += 1
        for key, count in in_window.items():
            before = in_base.get(key, 0)
            rise = (count / window.days) / ((before + 0.5) / base.days)
            if count >= min_count and rise >= ratio:
                evidence[key][str(year - back)] = {"count": count, "baseline": before, "ratio": round(rise, 1)}
    needed = max(1, math.ceil(with_data / 2))
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (dept, l1, l2, l3), years_seen in evidence.items():
        if len(years_seen) >= needed:
            out[dept].append({"topic": l3 or l2 or l1 or "未分类", "level1": l1, "level2": l2, "level3": l3,
                              "years": dict(sorted(years_seen.items())),
                              "average": round(sum(y["count"] for y in years_seen.values()) / len(years_seen), 1)})
    for topics in out.values():
        topics.sort(key=lambda t: -t["average"])
    return dict(out)


def generate_reminders(*, db_session: Session, year: int, month: int, actor: str,
                       now: datetime | None = None) -> list[WorkReminder]:
    """One 工作提醒函 per department with seasonal topics; running again refreshes them."""
    now = now or utcnow()
    found = seasonal_topics(db_session=db_session, year=year, month=month)
    out = []
    for dept, topics in sorted(found.items()):
        reminder = db_session.scalar(select(WorkReminder).where(
            WorkReminder.year == year, WorkReminder.month == month, WorkReminder.department_id == dept))
        if reminder is None:
            reminder = WorkReminder(year=year, month=month, department_id=dept, topics=topics, created_by=actor, created_at=now)
            db_session.add(reminder)
        else:
            reminder.topics = topics
        out.append(reminder)
    db_session.commit()
    return out


# ---- 未诉先办 ---------------------------------------------------------------------------------------

def _topic_count(db_session: Session, topic: dict[str, Any], period: Period) -> int:
    if topic.get("terms"):
        return len(hotspots.topic_matches(db_session=db_session, period=period, terms=topic["terms"],
                                          place=topic.get("place")))
    conds = ticket_filters(period=period, principal=None)
    for level in ("level1", "level2", "level3"):
        if topic.get(level):
            conds.append(getattr(Ticket, f"category_{level}") == topic[level])
    if topic.get("department_id"):
        conds.append(Ticket.lead_department == topic["department_id"])
    if topic.get("town"):
        conds.append(Ticket.location_town == topic["town"])
    return db_session.scalar(select(func.count(Ticket.id)).where(*conds)) or 0


def create_task(*, db_session: Session, actor: str, origin: str, title: str, topic: dict[str, Any],
                starts_on: date, department_id: str | None = None, window_days: int = 30, action: str | None = None,
                origin_ref: str | None = None) -> SourceTask:
    if not (topic.get("terms") or topic.get("level1") or topic.get("level3")):
        raise ValueError("未诉先办任务需要说明话题：关键词（terms）或诉求分类（level1/level3）。")
    task = SourceTask(origin=origin, origin_ref=origin_ref, title=title, topic=topic, starts_on=starts_on,
                      department_id=department_id, window_days=window_days, action=action, created_by=actor)
    db_session.add(task)
    db_session.commit()
    return task


def measure(*, db_session: Session, task: SourceTask, now: datetime | None = None) -> dict[str, Any]:
    """The topic's volume in the task window, the same window before it, and a year earlier (season control)."""
    today = local_day(now or utcnow())
    window = Period(task.starts_on, task.starts_on + timedelta(days=task.window_days - 1))
    elapsed = Period(window.start, min(window.end, today)) if today >= window.start else None
    before = Period(window.start - timedelta(days=task.window_days), window.start - timedelta(days=1))
    topic = {**task.topic, "department_id": task.topic.get("department_id")}
    after = _topic_count(db_session, topic, elapsed) if elapsed else 0
    last_year = _topic_count(db_session, topic, window.years_back(1))
    prior = _topic_count(db_session, topic, before)
    return {
        "window": window.as_dict(), "days_elapsed": elapsed.days if elapsed else 0, "after": after, "before": prior,
        "same_window_last_year": last_year,
        # 压降: how far the topic stayed under last year's season (the aim of 未诉先办), when both are known.
        "change_vs_last_year": None if not last_year or not elapsed or elapsed.days < window.days
        else round((after - last_year) / last_year, 4),
    }


def close_task(*, db_session: Session, task: SourceTask, now: datetime | None = None) -> SourceTask:
    task.outcome = measure(db_session=db_session, task=task, now=now)
    task.status, task.closed_at = "done", now or utcnow()
    db_session.commit()
    return task
