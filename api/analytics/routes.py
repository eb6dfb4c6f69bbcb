"""HTTP for 数据治理: statistics, rankings, hotspots, drill-down, Excel, 预警 rules and warnings, the page.

Staff tokens and the service token read; what a person sees is limited by their role (a 承办人 sees
their department's tickets, a 分管领导 those of the departments in their charge), and free text is
always masked. Dates are Beijing dates, YYYY-MM-DD; a bad one is a 422 with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.analytics import drill, export, hotspots, stats, warnings
from api.analytics.models import EarlyWarning, WarningRule
from api.analytics.periods import Period, PeriodError, parse_period
from api.auth.deps import Principal, PrincipalDep, require_principal
from api.auth.models import Role
from api.core.db import SessionDep
from api.core.settings import get_settings
from api.org.models import Department

STATIC = Path(__file__).parent / "static"
EDIT_ROLES = (Role.admin, Role.supervisor, Role.dispatcher)
Editor = Annotated[Principal, Depends(require_principal(*EDIT_ROLES))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
pages = APIRouter(include_in_schema=False)


def bad_request(exc: Exception) -> HTTPException:
    return HTTPException(422, detail=str(exc))


def period_of(start: Annotated[str | None, Query(description="开始日期（北京时间，YYYY-MM-DD）")] = None,
              end: Annotated[str | None, Query(description="结束日期（含当天，YYYY-MM-DD）")] = None) -> Period:
    try:
        return parse_period(start, end)
    except PeriodError as exc:
        raise bad_request(exc) from None


PeriodDep = Annotated[Period, Depends(period_of)]


def _file(body: bytes, media: str, name: str) -> Response:
    from urllib.parse import quote

    return Response(body, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.get("/summary", summary="统计：受理量与响应率、按时办结率、解决率、满意率、退单率、重复诉求率、超期件，环比与同比")
def summary(period: PeriodDep, principal: PrincipalDep, db_session: SessionDep,
            group_by: Annotated[str | None, Query(description="、".join(stats.DIMENSIONS))] = None,
            channel: Annotated[str | None, Query(max_length=16)] = None,
            enterprise: bool | None = None) -> dict[str, Any]:
    try:
        return stats.summarize(db_session=db_session, period=period, group_by=group_by or None, principal=principal,
                               channel=channel or None, enterprise=enterprise)
    except stats.DimensionError as exc:
        raise bad_request(exc) from None


@router.get("/ranking", summary="承办单位、镇（街道）三率排名")
def ranking(period: PeriodDep, principal: PrincipalDep, db_session: SessionDep,
            by: Annotated[str, Query(pattern="^(department|town)$")] = "department") -> list[dict[str, Any]]:
    return stats.ranking(db_session=db_session, period=period, by=by, principal=principal)


@router.get("/hotspots", summary="热点：相似诉求归并成话题，按各自基线判断突发，重要的在前")
def hotspot_list(period: PeriodDep, principal: PrincipalDep, db_session: SessionDep,
                 min_count: Annotated[int, Query(ge=2, le=1000)] = 3,
                 limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[dict[str, Any]]:
    return hotspots.find_hotspots(db_session=db_session, period=period, principal=principal, min_count=min_count,
                                  limit=limit)


def _drill(db_session, period: Period, principal: Principal, dim: str | None, key: str | None, measure: str | None,
           tickets: str | None, limit: int, offset: int) -> dict[str, Any]:
    nos = [x.strip() for x in (tickets or "").split(",") if x.strip()] or None
    try:
        return drill.drill(db_session=db_session, period=period, principal=principal, dim=dim or None, key=key,
                           measure=measure or None, ticket_nos=nos, limit=limit, offset=offset)
    except stats.DimensionError as exc:
        raise bad_request(exc) from None


@router.get("/tickets", summary="下钻：图表中某一项背后的工单（内容已脱敏）")
def tickets(period: PeriodDep, principal: PrincipalDep, db_session: SessionDep,
            dim: Annotated[str | None, Query(max_length=16)] = None, key: Annotated[str | None, Query(max_length=200)] = None,
            measure: Annotated[str | None, Query(max_length=16)] = None,
            tickets: Annotated[str | None, Query(max_length=40000, description="逗号分隔的工单号（热点下钻）")] = None,
            limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    return _drill(db_session, period, principal, dim, key, measure, tickets, limit, offset)


@router.get("/export.xlsx", summary="导出 Excel：统计表、排名、热点、下钻工单、预警", response_class=Response)
def export_xlsx(period: PeriodDep, principal: PrincipalDep, db_session: SessionDep,
                table: Annotated[str, Query(pattern="^(summary|ranking|hotspots|tickets|warnings)$")],
                group_by: str | None = None, by: Annotated[str, Query(pattern="^(department|town)$")] = "department",
                dim: str | None = None, key: str | None = None, measure: str | None = None,
                tickets: Annotated[str | None, Query(max_length=40000)] = None) -> Response:
    notes = export.FORMULA_NOTES
    if table == "summary":
        try:
            data = stats.summarize(db_session=db_session, period=period, group_by=group_by or None, principal=principal)
        except stats.DimensionError as exc:
            raise bad_request(exc) from None
        sheet = export.summary_sheet(data)
    elif table == "ranking":
        sheet = export.ranking_sheet(stats.ranking(db_session=db_session, period=period, by=by, principal=principal), by)
    elif table == "hotspots":
        sheet, notes = export.hotspot_sheet(hotspots.find_hotspots(db_session=db_session, period=period,
                                                                   principal=principal)), []
    elif table == "tickets":
        sheet, notes = export.tickets_sheet(_drill(db_session, period, principal, dim, key, measure, tickets, 100000, 0)["items"]), []
    else:
        sheet, notes = export.warnings_sheet([warning_out(w, _dept_names(db_session)) for w in warnings.list_warnings(
            db_session=db_session, principal=principal, limit=100000)]), []
    name = f"数据分析-{sheet[0]}-{period.start}至{period.end}.xlsx"
    return _file(export.workbook([sheet], notes), XLSX, name)


# ---- 预警 rules and warnings ---------------------------------------------------------------------------

class RuleIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    kind: str = Field(max_length=24)
    params: dict[str, Any] = Field(default_factory=dict)
    active: bool = True
    department_id: str | None = Field(default=None, max_length=64)


class AckIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


def _dept_names(db_session) -> dict[str, str]:
    return dict(db_session.execute(select(Department.id, Department.short)).all())


def rule_out(rule: WarningRule) -> dict[str, Any]:
    return {"id": rule.id, "name": rule.name, "kind": rule.kind, "kind_label": warnings.label(rule.kind),
            "params": rule.params, "active": rule.active, "department_id": rule.department_id,
            "updated_at": rule.updated_at.isoformat()}


def _local(moment) -> str | None:
    return moment.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M") if moment else None


def warning_out(w: EarlyWarning, names: dict[str, str]) -> dict[str, Any]:
    return {"id": w.id, "rule_id": w.rule_id, "kind": w.kind, "kind_label": warnings.label(w.kind), "title": w.title,
            "detail": w.detail, "department_id": w.department_id, "department": names.get(w.department_id or "", w.department_id),
            "place": w.place, "count": w.count, "ticket_nos": w.ticket_nos,
            "window": {"start": str(w.window_start), "end": str(w.window_end)}, "created_at": _local(w.created_at),
            "acknowledged_at": _local(w.acknowledged_at), "acknowledged_by": w.acknowledged_by, "ack_note": w.ack_note}


@router.get("/rules", summary="预警规则（县里可编辑）")
def rules(_: PrincipalDep, db_session: SessionDep) -> list[dict[str, Any]]:
    warnings.ensure_default_rules(db_session=db_session)
    return [rule_out(r) for r in db_session.scalars(select(WarningRule).order_by(WarningRule.id))]


@router.post("/rules", status_code=201, summary="新增预警规则（管理员、督办、派单员）")
def add_rule(body: RuleIn, principal: Editor, db_session: SessionDep) -> dict[str, Any]:
    try:
        return rule_out(warnings.save_rule(db_session=db_session, actor=principal.username, **body.model_dump()))
    except warnings.RuleError as exc:
        raise bad_request(exc) from None


@router.put("/rules/{rule_id}", summary="修改预警规则（阈值、天数、敏感词、停用）")
def edit_rule(rule_id: int, body: RuleIn, principal: Editor, db_session: SessionDep) -> dict[str, Any]:
    try:
        return rule_out(warnings.save_rule(db_session=db_session, actor=principal.username, rule_id=rule_id, **body.model_dump()))
    except warnings.RuleError as exc:
        raise HTTPException(404 if "没有预警规则" in str(exc) else 422, detail=str(exc)) from None


@router.post("/warnings/run", summary="立即运行预警规则（每日任务也会运行）")
def run_warnings(_: Annotated[Principal, Depends(require_principal(*EDIT_ROLES, Role.service))],
                 db_session: SessionDep) -> dict[str, int]:
    return warnings.run_rules(db_session=db_session)


@router.get("/warnings", summary="预警：平台看全部，承办单位看推送给本单位的")
def warning_list(principal: PrincipalDep, db_session: SessionDep, unacknowledged: bool = False) -> list[dict[str, Any]]:
    names = _dept_names(db_session)
    return [warning_out(w, names) for w in warnings.list_warnings(db_session=db_session, principal=principal,
                                                                   unacknowledged=unacknowledged)]


@router.post("/warnings/{warning_id}/ack", summary="签收预警（承办单位写明已采取的措施）")
def ack_warning(warning_id: int, body: AckIn, principal: PrincipalDep, db_session: SessionDep) -> dict[str, Any]:
    try:
        w = warnings.acknowledge(db_session=db_session, principal=principal, warning_id=warning_id, note=body.note)
    except warnings.RuleError as exc:
        raise HTTPException(409 if "已由" in str(exc) else 404, detail=str(exc)) from None
    return warning_out(w, _dept_names(db_session))


@pages.get("/analytics")
def page() -> FileResponse:
    return FileResponse(STATIC / "analytics.html", media_type="text/html; charset=utf-8")
