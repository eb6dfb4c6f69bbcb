"""日汇总表: the dashboard's counts per Beijing day, kept identical to the raw computation.

At county scale a month's figures cannot be aggregated from the raw tickets on every request, so the
daily job stores, per day, the additive counts (counting.COUNT_FIELDS) of each dimension. A request
reads the days whose summary still holds and computes the others (today, edited days) from the
rows, in one query, so the answer is always what the raw computation gives:

- an edit marks its day: every flush that writes a ticket, an assignment or a follow-up records the
  ticket's Beijing day in analytics_daily_changes, in the same transaction (record_changes below);
  a change on or after a day's fresh_from makes it stale. A refresh excludes writers while it reads
  (PostgreSQL: writers hold a shared advisory lock, the refresh the exclusive one; SQLite: the
  refresh takes the write lock first), so a change is either in what it read or marked after it.
  (The Core UPDATEs in api.callbacks only move follow-ups between unfinished states, which these
  counts do not read.)
- the clock: counts depend on "now" only through deadlines (签收时限, 办结时限 passed); a day holds
  until the earliest deadline that was still ahead when it was computed (valid_until).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import String, and_, bindparam, cast, delete, exists, func, insert, literal, null, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.analytics.changes import LOCK_KEY
from api.analytics.counting import (
    COUNT_FIELDS,
    TIME_UNITS,
    _lead,
    count_rows,
    dimension_columns,
    local_format,
    merge_counts,
    raw_counts,
)
from api.analytics.models import DailyChange, DailyCounts, DailyState
from api.analytics.periods import Period, local_day
from api.core.db import utcnow
from api.tickets.models import Ticket

log = logging.getLogger(__name__)

# Dimensions stored per day; category1/category2 and the time units roll up from these.
STORED = ("day", "channel", "demand_type", "category3", "town", "department", "hour", "enterprise")
CHUNK_DAYS = 92  # a quarter per pass: PostgreSQL hash-joins the assignments once per pass


def _stored(dim: str | None) -> tuple[str, int]:
    """(stored dimension, number of key columns read) for a requested group_by."""
    if dim is None or dim in TIME_UNITS:
        return "day", 0
    if dim in ("category1", "category2"):
        return "category3", 1 if dim == "category1" else 2
    if dim == "category3":
        return "category3", 3
    return dim, 1


def _valid(now: datetime):
    """The days whose summary holds at `now`."""
    return and_(
        DailyState.computed_at <= now,
        or_(DailyState.valid_until.is_(None), DailyState.valid_until > now),
        ~exists().where(DailyChange.day == DailyState.day, DailyChange.changed_at >= DailyState.fresh_from),
    )


def _key(dim: str, parts: tuple) -> tuple:
    if dim == "enterprise":
        return (parts[0] == "1",)
    return parts


@lru_cache(maxsize=32)
def _summary_statement(stored: str, width: int, by_day: bool):
    """The summary read of one shape, built once (building it costs more than running it); the period
    and the clock are bound parameters p_start, p_end, p_now."""
    keys = [cast(DailyCounts.day, String)] if by_day else [DailyCounts.k1, DailyCounts.k2, DailyCounts.k3][:width]
    shown = [k.label(f"c{i}") for i, k in enumerate(keys or [null()])]
    sums = [func.sum(getattr(DailyCounts, f)).label(f) for f in COUNT_FIELDS]
    in_period = and_(DailyCounts.day >= bindparam("p_start"), DailyCounts.day <= bindparam("p_end"))
    joined = and_(DailyState.day == DailyCounts.day, _valid(bindparam("p_now")))
    # One statement, one snapshot: the valid days and their sums cannot disagree under a refresh.
    figures = (select(literal("f").label("part"), *shown, *sums).select_from(DailyCounts).join(DailyState, joined)
               .where(DailyCounts.dim == stored, in_period))
    if keys:
        figures = figures.group_by(*keys)
    days = (select(literal("d").label("part"), cast(DailyCounts.day, String).label("c0"),
                   *[null().label(f"c{i}") for i in range(1, len(shown))], *[literal(0).label(f) for f in COUNT_FIELDS])
            .select_from(DailyCounts).join(DailyState, joined).where(DailyCounts.dim == "day", in_period))
    return figures.union_all(days)


def counts(*, db_session: Session, period: Period, dim: str | None, now: datetime) -> dict[tuple, dict[str, int]]:
    """counting.raw_counts(period, dim) for every reader who sees all tickets, from the summary where it holds."""
    stored, width = _stored(dim)
    statement = _summary_statement(stored, width, dim in TIME_UNITS)
    params = {"p_start": period.start, "p_end": period.end, "p_now": now}
    out: dict[tuple, dict[str, int]] = {}
    summarised: set[date] = set()
    for row in db_session.execute(statement, params):
        m = row._mapping
        if m["part"] == "d":
            summarised.add(date.fromisoformat(m["c0"]))
            continue
        if not m["total"] and not m["rated"]:
            continue  # no ticket of these days (an all-zero sum of empty days)
        if dim is None:
            key: tuple = ("all",)
        elif dim in TIME_UNITS:
            key = (m["c0"],)
        else:
            key = _key(stored, tuple(m[f"c{i}"] for i in range(width)))
        merge_counts(out, {key: {f: m[f] for f in COUNT_FIELDS}})
    stale = _ranges(d for d in _period_days(period) if d not in summarised)
    if stale:
        starts_ends = [Period(a, b).bounds() for a, b in stale]
        only = or_(*[and_(Ticket.created_at >= s, Ticket.created_at < e) for s, e in starts_ends])
        merge_counts(out, raw_counts(db_session=db_session, period=Period(stale[0][0], stale[-1][1]), dim=dim,
                                     principal=None, now=now, only=only))
    return out


def _period_days(period: Period) -> list[date]:
    return [period.start + timedelta(days=i) for i in range(period.days)]


def _ranges(days: Iterable[date], longest: int | None = None) -> list[tuple[date, date]]:
    """Sorted days as contiguous (first, last) runs, each at most `longest` days."""
    out: list[tuple[date, date]] = []
    for day in sorted(days):
        if out and day == out[-1][1] + timedelta(days=1) and (longest is None or (day - out[-1][0]).days < longest):
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def pending_deadlines(*, db_session: Session, conds: list, now: datetime) -> dict[str, datetime]:
    """Per Beijing day (text), the earliest deadline still ahead of `now` that a count depends on:
    an unsigned lead assignment's 签收时限, an unanswered dispatched ticket's 办结时限."""
    day = local_format(db_session, Ticket.created_at, "day").label("k0")
    lead = _lead()
    has_lead = lead.id.is_not(None)
    sign = func.min(lead.sign_due_at).filter(and_(lead.signed_at.is_(None), lead.sign_due_at > now))
    complete = func.min(Ticket.complete_due_at).filter(and_(has_lead, lead.replied_at.is_(None),
                                                            Ticket.complete_due_at > now))
    query = (select(day, sign.label("sign"), complete.label("complete")).select_from(Ticket)
             .outerjoin(lead, and_(lead.ticket_id == Ticket.id, lead.role == "lead", lead.active.is_(True)))
             .where(*conds).group_by(day))
    out: dict[str, datetime] = {}
    for row in db_session.execute(query):
        ahead = [t for t in (row.sign, row.complete) if t is not None]
        if ahead:
            out[row.k0] = min(ahead)
    return out


def stale_days(*, db_session: Session, start: date, end: date, now: datetime) -> list[date]:
    """Days in [start, end] without a summary that holds at `now`."""
    held = set(db_session.scalars(select(DailyState.day).where(DailyState.day >= start, DailyState.day <= end, _valid(now))))
    return [d for d in _period_days(Period(start, end)) if d not in held]


def refresh(*, db_session: Session, days: Iterable[date] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Recompute the summary of `days` (default: every stale day from the first ticket to yesterday)."""
    now = now or utcnow()
    if days is None:
        first = db_session.scalar(select(func.min(Ticket.created_at)))
        yesterday = local_day(now) - timedelta(days=1)
        days = [] if first is None or local_day(first) > yesterday else stale_days(
            db_session=db_session, start=local_day(first), end=yesterday, now=now)
    done = skipped = 0
    for first_day, last_day in _ranges(days, longest=CHUNK_DAYS):
        try:
            _refresh_range(db_session=db_session, first=first_day, last=last_day, now=now)
            db_session.commit()
            done += (last_day - first_day).days + 1
        except IntegrityError:  # another worker refreshed these days meanwhile: theirs stands
            db_session.rollback()
            skipped += (last_day - first_day).days + 1
    return {"days_refreshed": done, "days_skipped": skipped}


def _exclude_writers(db_session: Session) -> None:
    """Until this transaction ends, no ticket write can commit unseen (see the module docstring)."""
    if db_session.get_bind().dialect.name == "postgresql":
        db_session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))


def _refresh_range(*, db_session: Session, first: date, last: date, now: datetime) -> None:
    span = and_(DailyCounts.day >= first, DailyCounts.day <= last)
    _exclude_writers(db_session)
    # Deleting first also takes SQLite's write lock before anything is read.
    db_session.execute(delete(DailyState).where(DailyState.day >= first, DailyState.day <= last))
    db_session.execute(delete(DailyCounts).where(span))
    fresh_from = utcnow()
    start, end = Period(first, last).bounds()
    conds = [Ticket.created_at >= start, Ticket.created_at < end]
    # One pass at the finest grain (every stored dimension's columns), rolled up per dimension here:
    # the same count_rows formulas, two queries per chunk whatever the number of dimensions.
    columns: list = [local_format(db_session, Ticket.created_at, "day")]
    where: dict[str, list[int]] = {}
    for dim in STORED[1:]:
        cols = dimension_columns(db_session, dim)
        where[dim] = list(range(len(columns), len(columns) + len(cols)))
        columns += cols
    finest = count_rows(db_session=db_session, keys=columns, conds=conds, now=now)
    rolled: dict[tuple, dict[str, int]] = {}
    for key, values in finest.items():
        merge_counts(rolled, {(key[0], "day"): values})
        for dim, positions in where.items():
            merge_counts(rolled, {(key[0], dim, *(key[p] for p in positions)): values})
    rows: list[dict[str, Any]] = []
    for (day_text, dim, *parts), values in rolled.items():
        text = [None if v is None else ("1" if v else "0") if dim == "enterprise" else str(v) for v in parts]
        text += [None] * (3 - len(text))
        rows.append({"day": date.fromisoformat(day_text), "dim": dim, "k1": text[0], "k2": text[1], "k3": text[2],
                     **{f: int(values.get(f) or 0) for f in COUNT_FIELDS}})
    have = {r["day"] for r in rows if r["dim"] == "day"}
    rows += [{"day": d, "dim": "day", "k1": None, "k2": None, "k3": None, **dict.fromkeys(COUNT_FIELDS, 0)}
             for d in _period_days(Period(first, last)) if d not in have]
    ahead = pending_deadlines(db_session=db_session, conds=conds, now=now)
    db_session.execute(insert(DailyState), [
        {"day": d, "computed_at": now, "fresh_from": fresh_from, "valid_until": ahead.get(d.isoformat())}
        for d in _period_days(Period(first, last))])
    for i in range(0, len(rows), 5000):
        db_session.execute(insert(DailyCounts), rows[i:i + 5000])
    db_session.execute(delete(DailyChange).where(DailyChange.day >= first, DailyChange.day <= last,
                                                 DailyChange.changed_at < fresh_from))
