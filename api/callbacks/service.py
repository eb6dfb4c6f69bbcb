"""智能回访's own records: do-not-call entries, the day's campaign, the matter a follow-up may
mention, and the errors the callback routes turn into HTTP answers. Keyword-only functions, no HTTP.

The jobs themselves move in queue.py (the phone queue), chat.py (the follow-up in a chat) and
ticket_result.py (results onto the ticket); campaigns.py starts the day's calling and
statistics.py reads the results.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from api.auth.deps import Principal
from api.auth.models import Role
from api.callbacks.models import CallbackCampaign, CallbackJob, CallbackOptOut, JobStatus
from api.callbacks.policy import CallbackPolicy, ConfidentialMode
from api.callbacks.survey import Matter, safe_summary
from api.core.db import utcnow
from api.core.settings import get_settings
from api.org.models import Department
from api.tickets.models import Ticket

BOT = Principal(username="callback-bot", role=Role.service)
GOOD = ("满意", "基本满意")


class CallbackError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def is_opted_out(*, db_session: Session, ticket: Ticket) -> bool:
    conds = [CallbackOptOut.ticket_id == ticket.id]
    if ticket.phone:
        conds.append(CallbackOptOut.phone == ticket.phone)
    return db_session.scalar(select(CallbackOptOut.id).where(or_(*conds)).limit(1)) is not None


def running_campaign(*, db_session: Session, day: date) -> CallbackCampaign | None:
    return db_session.scalar(
        select(CallbackCampaign).where(CallbackCampaign.day == day, CallbackCampaign.status.in_(("running", "paused")))
        .order_by(CallbackCampaign.id.desc()).limit(1)
    )


def local_day(moment: datetime, policy: CallbackPolicy) -> date:
    return moment.astimezone(policy.tz).date()


def day_bounds(day: date, policy: CallbackPolicy) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=policy.tz)
    return start, start + timedelta(days=1)


def matter_for(ticket: Ticket, policy: CallbackPolicy) -> Matter:
    summary: str | None
    if ticket.confidential and policy.confidential != ConfidentialMode.normal:
        summary = None
    else:
        summary = safe_summary(ticket.category_level3 or ticket.category_level2 or ticket.description)
    name = None if ticket.anonymous else (ticket.citizen_name or None)
    tail = ticket.phone[-4:] if ticket.phone and len(ticket.phone) >= 4 else None
    return Matter(citizen_name=name, phone_tail=tail, accepted_on=local_day(ticket.created_at, policy),
                  summary=summary, hotline=get_settings().callbacks.hotline_name)


def department_names(db_session: Session) -> dict[str, str]:
    return {d.id: d.short or d.name for d in db_session.scalars(select(Department))}



# ---- do-not-call --------------------------------------------------------------------------------

def add_optout(*, db_session: Session, actor: str, reason: str, phone: str | None = None,
               ticket_no: str | None = None, now: datetime | None = None) -> CallbackOptOut:
    now = now or utcnow()
    ticket_id = None
    if ticket_no:
        ticket = db_session.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))
        if ticket is None:
            raise CallbackError(404, f"没有找到工单 {ticket_no}。")
        ticket_id = ticket.id
    if not phone and ticket_id is None:
        raise CallbackError(422, "请填写电话号码或工单号。")
    optout = CallbackOptOut(phone=phone, ticket_id=ticket_id, reason=reason, created_by=actor, created_at=now)
    db_session.add(optout)
    # Jobs not yet dialled for this number or ticket are withdrawn at once.
    conds = []
    if phone:
        conds.append(CallbackJob.phone == phone)
    if ticket_id is not None:
        conds.append(CallbackJob.ticket_id == ticket_id)
    db_session.execute(update(CallbackJob).where(
        or_(*conds), CallbackJob.status.in_((JobStatus.queued, JobStatus.retry, JobStatus.chat_waiting)),
    ).values(status=JobStatus.skipped, skip_reason=f"群众要求不回访：{reason}", completed_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    db_session.commit()
    return optout


def list_optouts(*, db_session: Session) -> list[CallbackOptOut]:
    return list(db_session.scalars(select(CallbackOptOut).order_by(CallbackOptOut.id.desc())))


def remove_optout(*, db_session: Session, optout_id: int) -> None:
    optout = db_session.get(CallbackOptOut, optout_id)
    if optout is None:
        raise CallbackError(404, f"没有找到不回访登记 {optout_id}。")
    db_session.delete(optout)
    db_session.commit()
