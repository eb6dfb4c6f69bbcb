"""What the 回访 page and the export show: today's queue and progress, filtered results, 满意率
per department and the Excel export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from api.callbacks.models import JOB_STATUS_LABELS, OPEN_JOB_STATUSES, CallbackJob, JobStatus
from api.callbacks.policy import (
    OUTCOME_LABELS,
    CallbackPolicy,
    Outcome,
    current_policy,
    in_window,
    next_window_start,
    satisfaction_rate,
)
from api.callbacks.service import day_bounds, department_names, local_day, running_campaign
from api.core.db import utcnow


def _aware(moment: datetime) -> datetime:
    # SQLite hands aggregates back without the zone the column was written with (UTC).
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def today_queue(*, db_session: Session, now: datetime | None = None, policy: CallbackPolicy | None = None) -> list[CallbackJob]:
    """Jobs for today: open ones due by tonight, and those finished today."""
    now = now or utcnow()
    policy = policy or current_policy()
    start, end = day_bounds(local_day(now, policy), policy)
    return list(db_session.scalars(select(CallbackJob).where(or_(
        and_(CallbackJob.status.in_(OPEN_JOB_STATUSES), CallbackJob.next_attempt_at < end),
        and_(CallbackJob.completed_at >= start, CallbackJob.completed_at < end),
        and_(CallbackJob.updated_at >= start, CallbackJob.status == JobStatus.retry),
    )).order_by(CallbackJob.next_attempt_at, CallbackJob.id)))


def progress(*, db_session: Session, now: datetime | None = None, policy: CallbackPolicy | None = None) -> dict[str, Any]:
    now = now or utcnow()
    policy = policy or current_policy()
    counts = {s.value: 0 for s in JobStatus}
    for job in today_queue(db_session=db_session, now=now, policy=policy):
        status = job.status
        if status == JobStatus.claimed and job.lease_expires_at and job.lease_expires_at <= now:
            status = JobStatus.retry  # a dead worker's job: it will be offered again
        counts[status] += 1
    day = local_day(now, policy)
    campaign = running_campaign(db_session=db_session, day=day)
    # Jobs already queued for a later day (a reply approved after today's window, a retry tomorrow):
    # not 待拨打 today, but not nothing either.
    later = db_session.execute(select(func.count(), func.min(CallbackJob.next_attempt_at)).where(
        CallbackJob.status.in_((JobStatus.queued, JobStatus.retry)),
        CallbackJob.next_attempt_at >= day_bounds(day, policy)[1])).one()
    return {
        "day": day.isoformat(), "in_window": in_window(now, policy),
        "scheduled_later": later[0] or 0, "next_scheduled_at": _aware(later[1]).isoformat() if later[1] else None,
        "next_window": next_window_start(now, policy).isoformat(),
        "campaign": None if campaign is None else {"id": campaign.id, "name": campaign.name, "status": campaign.status},
        "calling": counts[JobStatus.claimed], "chat": counts[JobStatus.chat_waiting], "queued": counts[JobStatus.queued],
        "retry_later": counts[JobStatus.retry], "done": counts[JobStatus.done], "failed": counts[JobStatus.failed],
        "skipped": counts[JobStatus.skipped], "cancelled": counts[JobStatus.cancelled],
    }


@dataclass
class ResultFilter:
    start: date | None = None
    end: date | None = None  # inclusive
    rating: str | None = None
    status: str | None = None
    department_id: str | None = None
    outcome: str | None = None
    ticket_no: str | None = None


def results(*, db_session: Session, filters: ResultFilter, policy: CallbackPolicy | None = None,
            limit: int = 500, offset: int = 0) -> list[CallbackJob]:
    policy = policy or current_policy()
    query = select(CallbackJob)
    if filters.start:
        query = query.where(CallbackJob.updated_at >= day_bounds(filters.start, policy)[0])
    if filters.end:
        query = query.where(CallbackJob.updated_at < day_bounds(filters.end, policy)[1])
    if filters.rating:
        query = query.where(CallbackJob.rating == filters.rating)
    if filters.status:
        query = query.where(CallbackJob.status == filters.status)
    if filters.department_id:
        query = query.where(CallbackJob.department_id == filters.department_id)
    if filters.outcome:
        query = query.where(CallbackJob.outcome == filters.outcome)
    if filters.ticket_no:
        query = query.where(CallbackJob.ticket_no == filters.ticket_no)
    return list(db_session.scalars(query.order_by(CallbackJob.updated_at.desc(), CallbackJob.id.desc()).offset(offset).limit(limit)))


def stats(*, db_session: Session, start: date | None = None, end: date | None = None,
          policy: CallbackPolicy | None = None) -> dict[str, Any]:
    """满意率 = (满意 + 基本满意) / 有效回访数 per department and overall. 有效回访 = a job finished in the
    period with one of the three ratings; unreachable, refused and unrated follow-ups are not in it."""
    policy = policy or current_policy()
    query = select(CallbackJob.department_id, CallbackJob.rating, func.count()).where(
        CallbackJob.status == JobStatus.done, CallbackJob.rating.is_not(None)).group_by(
        CallbackJob.department_id, CallbackJob.rating)
    if start:
        query = query.where(CallbackJob.completed_at >= day_bounds(start, policy)[0])
    if end:
        query = query.where(CallbackJob.completed_at < day_bounds(end, policy)[1])
    per: dict[str | None, dict[str, int]] = {}
    for dept, rating, n in db_session.execute(query):
        per.setdefault(dept, {"满意": 0, "基本满意": 0, "不满意": 0})[rating] = n
    names = department_names(db_session)

    def row(counts: dict[str, int]) -> dict[str, Any]:
        rate = satisfaction_rate(counts["满意"], counts["基本满意"], counts["不满意"])
        return {"satisfied": counts["满意"], "basically_satisfied": counts["基本满意"], "dissatisfied": counts["不满意"],
                "valid": sum(counts.values()), "rate": None if rate is None else round(rate, 4)}

    total = {"满意": 0, "基本满意": 0, "不满意": 0}
    departments = []
    for dept, counts in sorted(per.items(), key=lambda kv: kv[0] or ""):
        for k in total:
            total[k] += counts[k]
        departments.append({"department_id": dept, "department": names.get(dept or "", dept or "未分派"), **row(counts)})
    attempted = select(func.count()).select_from(CallbackJob).where(CallbackJob.status.in_((JobStatus.done, JobStatus.failed)))
    if start:
        attempted = attempted.where(CallbackJob.completed_at >= day_bounds(start, policy)[0])
    if end:
        attempted = attempted.where(CallbackJob.completed_at < day_bounds(end, policy)[1])
    return {
        "formula": "满意率 = (满意 + 基本满意) / 有效回访数；有效回访数 = 满意 + 基本满意 + 不满意（未接通、拒访、未评价不计入）",
        "start": start.isoformat() if start else None, "end": end.isoformat() if end else None,
        "overall": row(total), "finished_followups": db_session.scalar(attempted) or 0,
        "departments": departments,
    }


EXPORT_COLUMNS = ["工单号", "承办单位", "渠道", "状态", "结果", "是否解决", "满意度", "不满意原因", "回访次数",
                  "最近更新", "完成时间", "备注"]


def export_xlsx(*, db_session: Session, filters: ResultFilter, policy: CallbackPolicy | None = None) -> bytes:
    policy = policy or current_policy()
    names = department_names(db_session)
    book = Workbook()
    sheet = book.active
    sheet.title = "回访结果"
    sheet.append(EXPORT_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M") if moment else ""

    for job in results(db_session=db_session, filters=filters, policy=policy, limit=100000):
        sheet.append([
            job.ticket_no, names.get(job.department_id or "", job.department_id or ""),
            "对话" if job.channel == "chat" else "电话", JOB_STATUS_LABELS.get(JobStatus(job.status), job.status),
            OUTCOME_LABELS.get(Outcome(job.outcome), job.outcome) if job.outcome else "",
            {True: "已解决", False: "未解决", None: ""}[job.solved], job.rating or "", job.reason or "", job.attempts,
            local(job.updated_at), local(job.completed_at), job.skip_reason or "",
        ])
    for column, width in zip("ABCDEFGHIJKL", (18, 16, 6, 10, 12, 8, 10, 40, 8, 17, 17, 30), strict=True):
        sheet.column_dimensions[column].width = width
    summary = book.create_sheet("满意率")
    data = stats(db_session=db_session, start=filters.start, end=filters.end, policy=policy)
    summary.append(["承办单位", "满意", "基本满意", "不满意", "有效回访数", "满意率"])
    for cell in summary[1]:
        cell.font = Font(bold=True)
    for d in [*data["departments"], {"department": "全县合计", **data["overall"]}]:
        rate = d["rate"]
        summary.append([d["department"], d["satisfied"], d["basically_satisfied"], d["dissatisfied"], d["valid"],
                        f"{rate * 100:.1f}%" if rate is not None else "—"])
    summary.append([])
    summary.append([data["formula"]])
    out = BytesIO()
    book.save(out)
    return out.getvalue()
