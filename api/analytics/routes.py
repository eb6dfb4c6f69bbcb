"""HTTP for 数据治理: statistics, rankings, hotspots, drill-down, Excel, 预警 rules and warnings, the page.

Staff tokens and the service token read; what a person sees is limited by their role (a 承办人 sees
their department's tickets, a 分管领导 those of the departments in their charge), and free text is
always masked. Dates are Beijing dates, YYYY-MM-DD; a bad one is a 422 with the reason.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.analytics import documents, drill, export, hotspots, seasonal, stats, warnings
from api.analytics.models import EarlyWarning, SourceTask, WarningRule, WorkReminder
from api.analytics.periods import Period, PeriodError, parse_period
from api.auth.deps import Principal, PrincipalDep, get_principal, require_principal
from api.auth.models import Role
from api.core.db import SessionDep
from api.core.settings import get_settings
from api.org.models import Department

STATIC = Path(__file__).parent / "static"
EDIT_ROLES = (Role.admin, Role.supervisor, Role.dispatcher)
Editor = Annotated[Principal, Depends(require_principal(*EDIT_ROLES))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# Sign-in is checked before the query is validated, so an anonymous caller gets 401, never a 422.
router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], dependencies=[Depends(get_principal)])
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


# ---- 往年同期, 工作提醒函, 未诉先办, reports ---------------------------------------------------------------

class RemindersIn(BaseModel):
    year: int = Field(ge=2000, le=2100)
    month: int = Field(ge=1, le=12)


class TaskIn(BaseModel):
    origin: str = Field(pattern="^(hotspot|reminder|warning)$")
    origin_ref: str | None = Field(default=None, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    department_id: str | None = Field(default=None, max_length=64)
    topic: dict[str, Any]
    starts_on: date
    window_days: int = Field(default=30, ge=1, le=366)
    action: str | None = Field(default=None, max_length=4000)


def reminder_out(r: WorkReminder, names: dict[str, str]) -> dict[str, Any]:
    return {"id": r.id, "letter_no": r.letter_no, "year": r.year, "month": r.month, "department_id": r.department_id,
            "department": names.get(r.department_id, r.department_id), "topics": r.topics,
            "letter_url": f"/api/v1/analytics/reminders/{r.id}/letter.docx"}


def task_out(db_session, t: SourceTask, names: dict[str, str]) -> dict[str, Any]:
    return {"id": t.id, "origin": t.origin, "origin_ref": t.origin_ref, "title": t.title, "department_id": t.department_id,
            "department": names.get(t.department_id or "", t.department_id), "topic": t.topic, "action": t.action,
            "starts_on": t.starts_on.isoformat(), "window_days": t.window_days, "status": t.status,
            "outcome": t.outcome or seasonal.measure(db_session=db_session, task=t)}


@router.get("/seasonal", summary="往年同期：某月往年明显高发的诉求，按承办单位")
def seasonal_topics(_: PrincipalDep, db_session: SessionDep, year: Annotated[int, Query(ge=2000, le=2100)],
                    month: Annotated[int, Query(ge=1, le=12)]) -> dict[str, Any]:
    return seasonal.seasonal_topics(db_session=db_session, year=year, month=month)


@router.post("/reminders", summary="生成工作提醒函（每个有往年同期高发诉求的承办单位一份）")
def make_reminders(body: RemindersIn, principal: Editor, db_session: SessionDep) -> list[dict[str, Any]]:
    names = _dept_names(db_session)
    return [reminder_out(r, names) for r in seasonal.generate_reminders(
        db_session=db_session, year=body.year, month=body.month, actor=principal.username)]


@router.get("/reminders", summary="工作提醒函")
def reminders(principal: PrincipalDep, db_session: SessionDep) -> list[dict[str, Any]]:
    query = select(WorkReminder).order_by(WorkReminder.id.desc())
    if principal.role == Role.handler:
        query = query.where(WorkReminder.department_id == (principal.department_id or ""))
    names = _dept_names(db_session)
    return [reminder_out(r, names) for r in db_session.scalars(query.limit(500))]


@router.get("/reminders/{reminder_id}/letter.docx", response_class=Response, summary="下载工作提醒函（.docx）")
def reminder_letter(reminder_id: int, principal: PrincipalDep, db_session: SessionDep) -> Response:
    reminder = db_session.get(WorkReminder, reminder_id)
    if reminder is None or (principal.role == Role.handler and reminder.department_id != principal.department_id):
        raise HTTPException(404, detail=f"没有工作提醒函 {reminder_id}。")
    dept = db_session.get(Department, reminder.department_id)
    body = documents.reminder_letter(reminder=reminder, department_name=dept.name if dept else reminder.department_id)
    return _file(body, DOCX, f"工作提醒函-{reminder.year}年{reminder.month}月-{dept.short if dept else reminder.department_id}.docx")


@router.get("/tasks", summary="未诉先办任务及成效（任务期内该话题的诉求量，对比此前和去年同期）")
def tasks(principal: PrincipalDep, db_session: SessionDep) -> list[dict[str, Any]]:
    query = select(SourceTask).order_by(SourceTask.id.desc())
    if principal.role == Role.handler:
        query = query.where(SourceTask.department_id == (principal.department_id or ""))
    names = _dept_names(db_session)
    return [task_out(db_session, t, names) for t in db_session.scalars(query.limit(500))]


@router.post("/tasks", status_code=201, summary="从热点或提醒函建立未诉先办任务")
def add_task(body: TaskIn, principal: Editor, db_session: SessionDep) -> dict[str, Any]:
    try:
        task = seasonal.create_task(db_session=db_session, actor=principal.username, **body.model_dump())
    except ValueError as exc:
        raise bad_request(exc) from None
    return task_out(db_session, task, _dept_names(db_session))


@router.post("/tasks/{task_id}/close", summary="结束任务并记录成效")
def close_task(task_id: int, _: Editor, db_session: SessionDep) -> dict[str, Any]:
    task = db_session.get(SourceTask, task_id)
    if task is None:
        raise HTTPException(404, detail=f"没有任务 {task_id}。")
    return task_out(db_session, seasonal.close_task(db_session=db_session, task=task), _dept_names(db_session))


@router.get("/reports/monthly.docx", response_class=Response, summary="月度诉求分析报告（.docx，含图表）")
def monthly_report(principal: PrincipalDep, db_session: SessionDep,
                   month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]) -> Response:
    year, mon = (int(x) for x in month.split("-"))
    if not 1 <= mon <= 12:
        raise HTTPException(422, detail=f"月份不正确：{month}")
    period = seasonal.month_period(year, mon)

    def summary_by(group_by: str | None, **kw) -> dict[str, Any]:
        return stats.summarize(db_session=db_session, period=period, group_by=group_by, principal=principal,
                               compare=group_by is None, **kw)

    body = documents.monthly_report(
        title=f"{documents.HOTLINE}\n{year}年{mon}月群众诉求分析报告", summary=summary_by(None),
        by_category=summary_by("category1"), by_town=summary_by("town"), by_day=summary_by("day"),
        ranking=stats.ranking(db_session=db_session, period=period, by="department", principal=principal),
        spots=hotspots.find_hotspots(db_session=db_session, period=period, principal=principal, limit=5),
        enterprise=summary_by("category1", enterprise=True))
    return _file(body, DOCX, f"{year}年{mon}月诉求分析报告.docx")


@router.get("/reports/hotspot.docx", response_class=Response, summary="热点分析专报（.docx）：选定话题和期间")
def hotspot_report(period: PeriodDep, principal: PrincipalDep, db_session: SessionDep,
                   terms: Annotated[str, Query(min_length=1, max_length=200, description="话题关键词，空格或逗号分隔")],
                   place: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    from collections import Counter
    from datetime import timedelta

    words = [w for w in terms.replace("，", " ").replace(",", " ").split() if w]
    docs = hotspots.topic_matches(db_session=db_session, period=period, terms=words, place=place, principal=principal)
    last_year = hotspots.topic_matches(db_session=db_session, period=period.years_back(1), terms=words, place=place,
                                       principal=principal)
    per_day = Counter(d.day for d in docs)
    series = [((period.start + timedelta(days=i)).strftime("%m-%d"), per_day[period.start + timedelta(days=i)])
              for i in range(period.days)]
    names = _dept_names(db_session)
    from api.tickets.access import mask_text

    body = documents.hotspot_report(
        topic=" ".join(words) if not place else f"{place}{' '.join(words)}", period=period, docs=docs, series=series,
        places=Counter(d.place for d in docs if d.place).most_common(5),
        departments=[(names.get(k, k), n) for k, n in Counter(d.department for d in docs if d.department).most_common(5)],
        samples=[f"{d.ticket_no}：{(mask_text(d.text) or '')[:120]}" for d in docs[:5]], last_year=len(last_year))
    return _file(body, DOCX, f"热点分析专报-{words[0]}-{period.start}至{period.end}.docx")


@pages.get("/analytics")
def page() -> FileResponse:
    return FileResponse(STATIC / "analytics.html", media_type="text/html; charset=utf-8")
