"""The additive ticket counts every analytics figure is built from: one GROUP BY over the tickets of a
period (+ their lead assignment and finished follow-ups), keyed by any dimension. Shared by the raw
path (stats) and the daily summary (daily), which must give the same numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.orm import Session, aliased

from api.analytics.periods import Period, utc_offset_hours
from api.auth.deps import Principal
from api.callbacks.models import CallbackJob, JobStatus
from api.tickets import access
from api.tickets.models import (
    AssignmentStatus,
    Ticket,
    TicketAssignment,
)

TIME_UNITS = ("day", "week", "month", "quarter")
DIMENSIONS = ("channel", "demand_type", "category1", "category2", "category3", "town", "department", "hour",
              "enterprise", *TIME_UNITS)

COUNT_FIELDS = ("total", "dispatched", "sign_due", "sign_on_time", "complete_due", "complete_on_time", "overdue",
                "late_replied", "returned", "repeats", "enterprise", "closed", "rated", "rated_good", "dissatisfied",
                "solved_asked", "solved")


class DimensionError(ValueError):
    pass


def _dialect(db_session: Session) -> str:
    return db_session.get_bind().dialect.name


def local_format(db_session: Session, column, fmt: str):
    """Beijing-time text of a UTC timestamp column: fmt is 'day' (YYYY-MM-DD) or 'hour' (HH)."""
    if _dialect(db_session) == "postgresql":
        from api.core.settings import get_settings

        return func.to_char(func.timezone(get_settings().timezone, column), "YYYY-MM-DD" if fmt == "day" else "HH24")
    return func.strftime("%Y-%m-%d" if fmt == "day" else "%H", column, f"{utc_offset_hours():+g} hours")


def dimension_columns(db_session: Session, dim: str) -> list:
    if dim in TIME_UNITS:
        return [local_format(db_session, Ticket.created_at, "day")]
    columns = {
        "channel": [Ticket.channel], "demand_type": [Ticket.demand_type], "category1": [Ticket.category_level1],
        "category2": [Ticket.category_level1, Ticket.category_level2],
        "category3": [Ticket.category_level1, Ticket.category_level2, Ticket.category_level3],
        "town": [Ticket.location_town], "department": [Ticket.lead_department],
        "hour": [local_format(db_session, Ticket.created_at, "hour")], "enterprise": [Ticket.enterprise],
    }
    if dim not in columns:
        raise DimensionError(f"不能按“{dim}”分组；可选：{'、'.join(DIMENSIONS)}")
    return columns[dim]


def ticket_filters(*, period: Period, principal: Principal | None, channel: str | None = None,
                   enterprise: bool | None = None) -> list:
    start, end = period.bounds()
    conds: list = [Ticket.created_at >= start, Ticket.created_at < end]
    if channel:
        conds.append(Ticket.channel == channel)
    if enterprise is not None:
        conds.append(Ticket.enterprise.is_(enterprise))
    if principal is not None:
        clause = access.visibility_clause(principal)
        if clause is not None:
            conds.append(clause)
    return conds


def _lead():
    return aliased(TicketAssignment, name="lead")


def count_rows(*, db_session: Session, keys: list, conds: list, now: datetime) -> dict[tuple, dict[str, int]]:
    """The additive counts per key: one GROUP BY over tickets (+ the active lead assignment) matching
    conds, and one over their finished follow-ups. The clock enters only through deadlines "due by now"
    (analytics.daily.pending_deadlines lists when that changes)."""
    if _dialect(db_session) == "sqlite":
        # coalesce(x, x) is x, but no index matches it: SQLite would otherwise walk the GROUP BY column's
        # index over the whole table instead of the period's rows by created_at.
        keys = [func.coalesce(c, c) for c in keys]
    keys = [c.label(f"k{i}") for i, c in enumerate(keys)]
    lead = _lead()
    returned = exists().where(TicketAssignment.ticket_id == Ticket.id, TicketAssignment.status == AssignmentStatus.returned)
    one = literal(1)

    def when(cond) -> Any:
        return func.coalesce(func.sum(case((cond, one), else_=0)), 0)

    has_lead = lead.id.is_not(None)
    query = (
        select(
            *keys,
            func.count(Ticket.id).label("total"),
            when(Ticket.dispatched_at.is_not(None)).label("dispatched"),
            when(and_(has_lead, (lead.signed_at.is_not(None)) | (lead.sign_due_at <= now))).label("sign_due"),
            when(and_(lead.signed_at.is_not(None), lead.signed_at <= lead.sign_due_at)).label("sign_on_time"),
            when(and_(has_lead, (lead.replied_at.is_not(None)) | (Ticket.complete_due_at <= now))).label("complete_due"),
            when(and_(lead.replied_at.is_not(None), lead.replied_at <= Ticket.complete_due_at)).label("complete_on_time"),
            when(Ticket.overdue.is_(True)).label("overdue"),
            when(and_(lead.replied_at.is_not(None), lead.replied_at > Ticket.complete_due_at)).label("late_replied"),
            when(returned).label("returned"),
            when(Ticket.repeat_of_id.is_not(None)).label("repeats"),
            when(Ticket.enterprise.is_(True)).label("enterprise"),
            when(Ticket.status == "已办结").label("closed"),
        )
        .select_from(Ticket)
        .outerjoin(lead, and_(lead.ticket_id == Ticket.id, lead.role == "lead", lead.active.is_(True)))
        .where(*conds)
        .group_by(*keys)
    )
    out: dict[tuple, dict[str, int]] = {}
    n = len(keys)
    for row in db_session.execute(query):
        out[tuple(row[:n])] = dict(row._mapping)
    good = CallbackJob.rating.in_(("满意", "基本满意"))
    status = CallbackJob.status
    if _dialect(db_session) == "sqlite":
        # Drive from the period's tickets, not from every finished follow-up (status index) ever.
        status = func.coalesce(status, status)
    rated = (
        select(
            *keys,
            func.count(CallbackJob.rating).label("rated"),
            when(good).label("rated_good"),
            when(CallbackJob.rating == "不满意").label("dissatisfied"),
            func.count(CallbackJob.solved).label("solved_asked"),
            when(CallbackJob.solved.is_(True)).label("solved"),
        )
        .select_from(CallbackJob).join(Ticket, Ticket.id == CallbackJob.ticket_id)
        .where(status == JobStatus.done, *conds)
        .group_by(*keys)
    )
    for row in db_session.execute(rated):
        out.setdefault(tuple(row[:n]), {}).update(dict(row._mapping))
    return out


def raw_counts(*, db_session: Session, period: Period, dim: str | None, principal: Principal | None, now: datetime,
               channel: str | None = None, enterprise: bool | None = None, only=None) -> dict[tuple, dict[str, int]]:
    """Counts per key of `dim` straight from the ticket rows (`only`: an extra condition on them)."""
    keys = dimension_columns(db_session, dim) if dim else [literal("all")]
    conds = ticket_filters(period=period, principal=principal, channel=channel, enterprise=enterprise)
    return count_rows(db_session=db_session, keys=keys, conds=conds if only is None else [*conds, only], now=now)


def merge_counts(into: dict[tuple, dict[str, int]], more: dict[tuple, dict[str, int]]) -> dict[tuple, dict[str, int]]:
    for key, values in more.items():
        have = into.setdefault(key, dict.fromkeys(COUNT_FIELDS, 0))
        for k in COUNT_FIELDS:
            have[k] = int(have.get(k) or 0) + int(values.get(k) or 0)
    return into
