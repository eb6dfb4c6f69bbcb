"""日统计、周汇总、月分析、季度: volumes and the county's rates, by any dimension, with 环比 and 同比.

Every figure is a count of tickets accepted (受理) in the period, Beijing dates; rates are computed
from additive counts, so groups roll up (day → week → month → quarter) without re-querying.
The formulas (FORMULAS) are the ones printed on the page and in the monthly report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.orm import Session, aliased

from api.analytics.periods import Period, bucket, utc_offset_hours
from api.auth.deps import Principal
from api.callbacks.models import CallbackJob, JobStatus
from api.callbacks.policy import satisfaction_rate
from api.core.db import utcnow
from api.org.models import Department
from api.tickets import access
from api.tickets.models import (
    CHANNEL_LABELS,
    DEMAND_TYPE_LABELS,
    AssignmentStatus,
    DemandType,
    Ticket,
    TicketAssignment,
)

FORMULAS = {
    "response_rate": "响应率（按时签收率）= 按时签收工单数 ÷ 应签收工单数；应签收 = 已派单且已签收或签收时限已过的工单（以当前主办单位计）",
    "on_time_rate": "按时办结率 = 按时办结工单数 ÷ 应办结工单数；应办结 = 已派单且主办单位已答复或办结时限已过的工单；按时 = 主办单位答复时间不晚于办结时限",
    "resolution_rate": "解决率 = 回访“已解决”数 ÷ 回访问及是否解决的有效回访数",
    "satisfaction_rate": "满意率 =（满意 + 基本满意）÷ 有效回访数；有效回访数 = 满意 + 基本满意 + 不满意（未接通、拒访、未评价不计入）",
    "return_rate": "退单率 = 被承办单位退回过的工单数 ÷ 已派单工单数",
    "repeat_rate": "重复诉求率 = 关联为重复诉求的工单数 ÷ 受理工单数",
    "overdue": "超期件 = 目前已超过办结时限仍未办结的工单数；超期办结件 = 主办单位答复晚于办结时限的工单数",
    "score": "三率综合得分 = 响应率、按时办结率、满意率三项的平均值（无数据的项不计入）",
}
TIME_UNITS = ("day", "week", "month", "quarter")
DIMENSIONS = ("channel", "demand_type", "category1", "category2", "category3", "town", "department", "hour",
              "enterprise", *TIME_UNITS)
DIMENSION_LABELS = {
    "channel": "渠道", "demand_type": "诉求类型", "category1": "一级分类", "category2": "二级分类",
    "category3": "三级分类", "town": "镇（街道）", "department": "承办单位", "hour": "时段",
    "enterprise": "企业诉求", "day": "日", "week": "周", "month": "月", "quarter": "季度",
}
COUNT_FIELDS = ("total", "dispatched", "sign_due", "sign_on_time", "complete_due", "complete_on_time", "overdue",
                "late_replied", "returned", "repeats", "enterprise", "closed", "rated", "rated_good", "dissatisfied",
                "solved_asked", "solved")


class DimensionError(ValueError):
    pass


@dataclass
class Counts:
    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_FIELDS, 0))

    def add(self, other: dict[str, int]) -> None:
        for k in COUNT_FIELDS:
            self.values[k] += int(other.get(k) or 0)

    def figures(self) -> dict[str, Any]:
        v = self.values
        # 有效回访 = 满意 + 基本满意 + 不满意: the callbacks page's formula, on this period's tickets.
        sat = satisfaction_rate(v["rated_good"], 0, v["dissatisfied"])
        out: dict[str, Any] = dict(v)
        out.update(
            response_rate=_rate(v["sign_on_time"], v["sign_due"]),
            on_time_rate=_rate(v["complete_on_time"], v["complete_due"]),
            resolution_rate=_rate(v["solved"], v["solved_asked"]),
            satisfaction_rate=None if sat is None else round(sat, 4),
            return_rate=_rate(v["returned"], v["dispatched"]),
            repeat_rate=_rate(v["repeats"], v["total"]),
            overdue_total=v["overdue"] + v["late_replied"],
        )
        three = [out[k] for k in ("response_rate", "on_time_rate", "satisfaction_rate") if out[k] is not None]
        out["score"] = round(sum(three) / len(three), 4) if three else None
        return out


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)


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


def _names(db_session: Session) -> dict[str, str]:
    return {d.id: d.short or d.name for d in db_session.scalars(select(Department))}


def _label(dim: str, key: tuple, names: dict[str, str]) -> tuple[str, str]:
    if dim == "demand_type":
        value = key[0]
        try:
            return value, DEMAND_TYPE_LABELS[DemandType(value)]
        except ValueError:
            return str(value), str(value)
    if dim == "channel":
        return key[0], CHANNEL_LABELS.get(key[0], key[0])
    if dim in ("category1", "category2", "category3"):
        parts = [p for p in key if p]
        return "/".join(str(p) for p in key), " / ".join(parts) if parts else "未分类"
    if dim == "department":
        return key[0] or "", names.get(key[0] or "", key[0] or "未派单")
    if dim == "town":
        return key[0] or "", key[0] or "未填镇（街道）"
    if dim == "hour":
        hour = int(key[0])
        return f"{hour:02d}", f"{hour:02d}:00–{hour:02d}:59"
    if dim == "enterprise":
        return ("1", "企业诉求") if key[0] else ("0", "群众诉求")
    return str(key[0]), str(key[0])


def summarize(*, db_session: Session, period: Period, group_by: str | None = None, principal: Principal | None = None,
              now: datetime | None = None, channel: str | None = None, enterprise: bool | None = None,
              compare: bool = True) -> dict[str, Any]:
    """The summary the dashboard, the API contract and the monthly report share."""
    now = now or utcnow()
    if group_by is not None and group_by not in DIMENSIONS:
        raise DimensionError(f"不能按“{group_by}”分组；可选：{'、'.join(DIMENSIONS)}")
    if channel is None and enterprise is None and (principal is None or access.visibility_clause(principal) is None):
        from api.analytics import daily

        raw = daily.counts(db_session=db_session, period=period, dim=group_by, now=now)
    else:  # filtered or a restricted reader: straight from the rows
        raw = raw_counts(db_session=db_session, period=period, dim=group_by, principal=principal, now=now,
                         channel=channel, enterprise=enterprise)
    overall = Counts()
    for values in raw.values():
        overall.add(values)
    groups: list[dict[str, Any]] = []
    if group_by:
        names = _names(db_session) if group_by == "department" else {}
        merged: dict[str, tuple[str, Counts]] = {}
        for key, values in raw.items():
            if group_by in TIME_UNITS:
                gkey, label = bucket(date.fromisoformat(key[0]), group_by)
            else:
                gkey, label = _label(group_by, key, names)
            merged.setdefault(gkey, (label, Counts()))[1].add(values)
        groups = [{"key": k, "label": label, **counts.figures()} for k, (label, counts) in merged.items()]
        if group_by in (*TIME_UNITS, "hour"):
            groups.sort(key=lambda g: g["key"])
            if group_by == "day":
                groups = _fill_days(groups, period)
        else:
            groups.sort(key=lambda g: (-g["total"], g["key"]))
    out: dict[str, Any] = {**period.as_dict(), "group_by": group_by, **overall.figures(), "groups": groups,
                           "formulas": FORMULAS}
    if compare:
        for name, other in (("previous", period.previous()), ("same_period_last_year", period.years_back(1))):
            figures = summarize(db_session=db_session, period=other, principal=principal, now=now, channel=channel,
                                enterprise=enterprise, compare=False)
            out[name] = {**other.as_dict(), **{k: figures[k] for k in figures if k not in ("groups", "formulas", "group_by")}}
        out["change"] = {
            "previous": _change(out["total"], out["previous"]["total"]),
            "same_period_last_year": _change(out["total"], out["same_period_last_year"]["total"]),
        }
    return out


def _change(now_count: int, then_count: int) -> float | None:
    """环比/同比 growth of the volume: (本期 − 上期) ÷ 上期."""
    return None if then_count == 0 else round((now_count - then_count) / then_count, 4)


def _fill_days(groups: list[dict[str, Any]], period: Period) -> list[dict[str, Any]]:
    """Every day of the period, zeros included: charts read a continuous series."""
    from datetime import timedelta

    have = {g["key"]: g for g in groups}
    out = []
    day = period.start
    while day <= period.end:
        key, label = bucket(day, "day")
        out.append(have.get(key) or {"key": key, "label": label, **Counts().figures()})
        day += timedelta(days=1)
    return out


def ranking(*, db_session: Session, period: Period, by: str, principal: Principal | None = None,
            now: datetime | None = None) -> list[dict[str, Any]]:
    """承办单位 / 镇（街道）ranking on 三率 (响应率、按时办结率、满意率), best first."""
    if by not in ("department", "town"):
        raise DimensionError("排名只能按承办单位（department）或镇（街道）（town）。")
    data = summarize(db_session=db_session, period=period, group_by=by, principal=principal, now=now, compare=False)
    rows = [g for g in data["groups"] if g["key"]]
    rows.sort(key=lambda g: (-(g["score"] if g["score"] is not None else -1), -g["total"], g["key"]))
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return rows
