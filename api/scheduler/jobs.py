"""In-process scheduler: overdue marking, deadline warnings and automatic 提级督办.

`run_due_jobs(now=...)` is idempotent (every notice carries a dedupe key), so it can run every
minute, after a restart, or from a test with a chosen clock.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from api.analytics.job import run_daily_if_due
from api.core.db import session_factory, utcnow
from api.org.profile import org_profile
from api.scheduler.leader import lead
from api.tickets import deadlines, flows
from api.tickets.models import (
    WORKING_STATUSES,
    AssignmentStatus,
    Ticket,
    TicketAssignment,
    TicketEvent,
)

log = logging.getLogger(__name__)


def _key(kind: str, obj_id: int, due: datetime) -> str:
    return f"{kind}:{obj_id}:{due.isoformat(timespec='minutes')}"


def run_due_jobs(*, now: datetime | None = None, db_session: Session | None = None) -> dict[str, int]:
    now = now or utcnow()
    if db_session is None:
        with session_factory()() as session:
            return run_due_jobs(now=now, db_session=session)
    warn = timedelta(hours=org_profile().sla.warn_before_hours)
    counts = {"warnings": 0, "overdue": 0, "escalations": 0}
    tickets = db_session.scalars(
        select(Ticket).where(Ticket.status.in_(list(WORKING_STATUSES)))
        .where(or_(Ticket.complete_due_at <= now + warn, Ticket.id.in_(
            select(TicketAssignment.ticket_id).where(
                TicketAssignment.active.is_(True), TicketAssignment.required.is_(True),
                TicketAssignment.status == AssignmentStatus.pending,
                TicketAssignment.sign_due_at <= now + warn,
            )
        )))
        .options(selectinload(Ticket.assignments))
    ).all()
    for ticket in tickets:
        try:
            _check_ticket(db_session=db_session, ticket=ticket, now=now, warn=warn, counts=counts)
            db_session.commit()  # one ticket at a time: a clash with a person's edit loses only this one
        except (StaleDataError, IntegrityError):
            # A person's edit, or another API worker's scheduler, got there first: next run looks again.
            db_session.rollback()
            log.info("scheduler: %s changed meanwhile, next run checks it again", ticket.ticket_no)
    return counts


def _check_ticket(*, db_session: Session, ticket: Ticket, now: datetime, warn: timedelta, counts: dict[str, int]) -> None:
    # 签收: each department that has not signed by its sign-in deadline.
    for a in ticket.active_assignments:
        if not a.required or a.status != AssignmentStatus.pending or a.sign_due_at is None:
            continue
        if a.sign_due_at <= now:
            if flows.notify(db_session=db_session, ticket=ticket, recipient_kind="department", recipient_id=a.department_id,
                            kind="超时未签收", message=f"工单 {ticket.ticket_no} 已超过签收时限（{deadlines.describe(a.sign_due_at)}），请立即签收。",
                            now=now, dedupe_key=_key("sign_overdue", a.id, a.sign_due_at)):
                counts["overdue"] += 1
                db_session.add(TicketEvent(ticket=ticket, action="sign_overdue", actor="scheduler", from_status=ticket.status,
                                           to_status=ticket.status, note=f"{a.department_id} 超时未签收", created_at=now))
        elif flows.notify(db_session=db_session, ticket=ticket, recipient_kind="department", recipient_id=a.department_id,
                          kind="临期预警", message=f"工单 {ticket.ticket_no} 即将超过签收时限，请尽快签收。",
                          now=now, dedupe_key=_key("sign_warn", a.id, a.sign_due_at)):
            counts["warnings"] += 1
    # 办结: the whole ticket against its completion deadline (extensions move it).
    due = ticket.complete_due_at
    if due is None:
        return
    if due <= now:
        if not ticket.overdue:
            ticket.overdue = True
            db_session.add(TicketEvent(ticket=ticket, action="overdue", actor="scheduler", from_status=ticket.status,
                                       to_status=ticket.status, note=f"超过办结时限（{deadlines.describe(due)}）", created_at=now))
            counts["overdue"] += 1
        marker = flows.notify(
            db_session=db_session, ticket=ticket, recipient_kind="role", recipient_id="supervisor", kind="超期",
            message=f"工单 {ticket.ticket_no} 已超期，已自动提级督办。", now=now, dedupe_key=_key("overdue", ticket.id, due),
        )
        if marker is not None:  # first run past this deadline: escalate once per deadline
            flows.escalate(db_session=db_session, ticket=ticket, reason_kind="overdue", actor="scheduler", now=now,
                           reason=f"办结时限为{deadlines.describe(due)}，至今未办结。")
            counts["escalations"] += 1
    elif due - warn <= now:
        for dept in {a.department_id for a in ticket.active_assignments if a.required and a.status != AssignmentStatus.replied}:
            if flows.notify(db_session=db_session, ticket=ticket, recipient_kind="department", recipient_id=dept, kind="临期预警",
                            message=f"工单 {ticket.ticket_no} 将于{deadlines.describe(due)}到期，请抓紧办理。",
                            now=now, dedupe_key=_key(f"warn:{dept}", ticket.id, due)):
                counts["warnings"] += 1


async def scheduler_loop(interval_seconds: float) -> None:
    while True:
        try:
            leading = await lead(job="scheduler", lease_seconds=interval_seconds * 3)
        except Exception:  # noqa: BLE001 — Redis unreachable: skip this round rather than run twice
            log.warning("scheduler: leader lease unavailable, skipping this run")
            leading = False
        if not leading:
            await asyncio.sleep(interval_seconds)
            continue
        try:
            counts = await asyncio.to_thread(run_due_jobs)
            if any(counts.values()):
                log.info("scheduler: %s", counts)
        except Exception:  # noqa: BLE001 — one failed run must not stop the next
            log.exception("scheduler run failed")
        try:  # 数据治理 daily job: once per Beijing day, the run recorded
            daily = await asyncio.to_thread(run_daily_if_due)
            if daily is not None:
                log.info("analytics daily job: %s", daily)
        except Exception:  # noqa: BLE001 — recorded as failed in analytics_job_runs, retried later
            log.exception("analytics daily job failed")
        await asyncio.sleep(interval_seconds)
