"""Drill-down: the tickets behind any figure of the dashboard (a group of a dimension, a measure, a hotspot)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from api.analytics.counting import TIME_UNITS, DimensionError, local_format, ticket_filters
from api.analytics.periods import Period, county_tz
from api.auth.deps import Principal
from api.callbacks.models import CallbackJob, JobStatus
from api.core.db import utcnow
from api.org.models import Department
from api.tickets.access import mask_text
from api.tickets.models import (
    CHANNEL_LABELS,
    DEMAND_TYPE_LABELS,
    AssignmentStatus,
    DemandType,
    Ticket,
    TicketAssignment,
)

MEASURES = {
    "overdue": "超期件", "late": "超期办结件", "returned": "退单件", "repeat": "重复诉求", "dissatisfied": "不满意件",
    "sign_late": "超时签收件", "enterprise": "企业诉求", "closed": "已办结",
}


def _key_clause(db_session: Session, dim: str, key: str):
    sqlite = db_session.get_bind().dialect.name == "sqlite"

    def eq_or_null(column, value: str):
        if sqlite:  # as in counting.count_rows: drive from the period's rows (created_at), not the key's index
            column = func.coalesce(column, column)
        return column.is_(None) if value == "" else column == value

    if dim == "channel":
        return eq_or_null(Ticket.channel, key)
    if dim == "demand_type":
        return eq_or_null(Ticket.demand_type, key)
    if dim in ("category1", "category2", "category3"):
        parts = (key.split("/") + ["", "", ""])[:{"category1": 1, "category2": 2, "category3": 3}[dim]]
        columns = (Ticket.category_level1, Ticket.category_level2, Ticket.category_level3)
        return and_(*[eq_or_null(c, v if v != "None" else "") for c, v in zip(columns, parts, strict=False)])
    if dim == "town":
        return eq_or_null(Ticket.location_town, key)
    if dim == "department":
        return eq_or_null(Ticket.lead_department, key)
    if dim == "hour":
        return local_format(db_session, Ticket.created_at, "hour") == f"{int(key):02d}"
    if dim == "enterprise":
        return Ticket.enterprise.is_(key == "1")
    raise DimensionError(f"不能按“{dim}”下钻。")


def bucket_period(unit: str, key: str) -> Period:
    """The days a 日/周/月/季度 key covers (keys as stats.bucket makes them)."""
    try:
        if unit == "day":
            day = date.fromisoformat(key)
            return Period(day, day)
        if unit == "week":
            monday = date.fromisoformat(key)
            return Period(monday, monday + timedelta(days=6))
        if unit == "month":
            year, month = (int(x) for x in key.split("-"))
            first = date(year, month, 1)
            nxt = date(year + (month == 12), month % 12 + 1, 1)
            return Period(first, nxt - timedelta(days=1))
        if unit == "quarter":
            year, q = key.split("-Q")
            first = date(int(year), 3 * (int(q) - 1) + 1, 1)
            last_month = first.month + 2
            nxt = date(first.year + (last_month == 12), last_month % 12 + 1, 1)
            return Period(first, nxt - timedelta(days=1))
    except ValueError:
        pass
    raise DimensionError(f"下钻的时间分组不正确：{key}")


def _measure_clause(measure: str):
    lead = aliased(TicketAssignment)
    late = exists().where(lead.ticket_id == Ticket.id, lead.role == "lead", lead.active.is_(True),
                          lead.replied_at > Ticket.complete_due_at)
    sign_late = exists().where(lead.ticket_id == Ticket.id, lead.role == "lead", lead.active.is_(True),
                               or_(lead.signed_at > lead.sign_due_at, and_(lead.signed_at.is_(None), lead.sign_due_at < utcnow())))
    clauses = {
        "overdue": Ticket.overdue.is_(True),
        "late": late,
        "returned": exists().where(TicketAssignment.ticket_id == Ticket.id, TicketAssignment.status == AssignmentStatus.returned),
        "repeat": Ticket.repeat_of_id.is_not(None),
        "dissatisfied": exists().where(CallbackJob.ticket_id == Ticket.id, CallbackJob.status == JobStatus.done,
                                       CallbackJob.rating == "不满意"),
        "sign_late": sign_late,
        "enterprise": Ticket.enterprise.is_(True),
        "closed": Ticket.status == "已办结",
    }
    if measure not in clauses:
        raise DimensionError(f"没有这个下钻指标：{measure}（可选：{'、'.join(clauses)}）")
    return clauses[measure]


def drill(*, db_session: Session, period: Period, principal: Principal | None, dim: str | None = None,
          key: str | None = None, measure: str | None = None, ticket_nos: list[str] | None = None,
          limit: int = 100, offset: int = 0) -> dict[str, Any]:
    if dim in TIME_UNITS and key:
        sub = bucket_period(dim, key)
        period = Period(max(sub.start, period.start), min(sub.end, period.end))
    conds = ticket_filters(period=period, principal=principal)
    if dim and dim not in TIME_UNITS:
        conds.append(_key_clause(db_session, dim, key or ""))
    if measure:
        conds.append(_measure_clause(measure))
    if ticket_nos:
        conds.append(Ticket.ticket_no.in_(ticket_nos[:1000]))
    total = db_session.scalar(select(func.count(Ticket.id)).where(*conds)) or 0
    # The listed columns only, not Ticket objects (the drill-down is a dashboard query: no ORM identity work).
    rows = db_session.execute(select(Ticket.ticket_no, Ticket.created_at, Ticket.channel, Ticket.demand_type,
                                     Ticket.category_level1, Ticket.category_level2, Ticket.category_level3,
                                     Ticket.location_town, Ticket.lead_department, Ticket.status, Ticket.overdue,
                                     Ticket.enterprise, Ticket.description)
                              .where(*conds).order_by(Ticket.created_at.desc(), Ticket.id.desc())
                              .limit(limit).offset(offset)).all()
    names = dict(db_session.execute(select(Department.id, Department.short)).all())
    tz = county_tz()
    items = []
    for t in rows:
        try:
            demand = DEMAND_TYPE_LABELS[DemandType(t.demand_type)]
        except ValueError:
            demand = t.demand_type
        items.append({
            "ticket_no": t.ticket_no, "created_at": t.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "channel": CHANNEL_LABELS.get(t.channel, t.channel), "demand_type": demand,
            "category": " / ".join(x for x in (t.category_level1, t.category_level2, t.category_level3) if x) or "未分类",
            "town": t.location_town or "", "department": names.get(t.lead_department or "", t.lead_department or ""),
            "status": t.status, "overdue": t.overdue, "enterprise": t.enterprise,
            # Analytics never needs the citizen's numbers: always masked, also for the service token.
            "description": (mask_text(t.description) or "")[:200],
        })
    return {**period.as_dict(), "total": total, "items": items, "measure": MEASURES.get(measure or "")}
