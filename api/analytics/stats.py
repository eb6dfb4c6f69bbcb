"""日统计、周汇总、月分析、季度: volumes and the county's rates, by any dimension, with 环比 and 同比.

Every figure is a count of tickets accepted (受理) in the period, Beijing dates; rates are computed
from additive counts, so groups roll up (day → week → month → quarter) without re-querying.
The formulas (FORMULAS) are the ones printed on the page and in the monthly report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.analytics import daily
from api.analytics.counting import COUNT_FIELDS, DIMENSIONS, TIME_UNITS, DimensionError, raw_counts
from api.analytics.periods import Period, bucket
from api.auth.deps import Principal
from api.callbacks.policy import satisfaction_rate
from api.core.db import utcnow
from api.org.models import Department
from api.tickets import access
from api.tickets.models import (
    CHANNEL_LABELS,
    DEMAND_TYPE_LABELS,
    DemandType,
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
DIMENSION_LABELS = {
    "channel": "渠道", "demand_type": "诉求类型", "category1": "一级分类", "category2": "二级分类",
    "category3": "三级分类", "town": "镇（街道）", "department": "承办单位", "hour": "时段",
    "enterprise": "企业诉求", "day": "日", "week": "周", "month": "月", "quarter": "季度",
}

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



def _names(db_session: Session) -> dict[str, str]:
    # Columns, not Department objects: building 60-odd ORM objects was a quarter of a summary request.
    return {i: short or name for i, short, name in db_session.execute(select(Department.id, Department.short, Department.name))}


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
