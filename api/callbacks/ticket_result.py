"""A follow-up's result onto its 工单, through the ticket's own transitions: 满意/基本满意 and
solved close it (回访办结); 不满意 or unsolved send it back (退回重办, with 提级督办)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.callbacks.models import CallbackJob
from api.callbacks.service import BOT, GOOD
from api.tickets import transitions
from api.tickets.models import Ticket, TicketStatus
from api.tickets.schemas import TransitionIn
from api.tickets.service import record_event
from api.tickets.transitions import WorkflowError

log = logging.getLogger(__name__)


def _transition(db_session: Session, ticket: Ticket, now: datetime, **body: Any) -> bool:
    if ticket.status != TicketStatus.awaiting_callback:
        return False
    db_session.commit()  # our own rows are safe before the ticket moves (the workflow commits on its own)
    try:
        transitions.transition(db_session=db_session, ticket=ticket, principal=BOT, body=TransitionIn(**body), now=now)
    except WorkflowError as exc:
        log.warning("callback result for %s not applied: %s", ticket.ticket_no, exc.detail)
        db_session.rollback()
        return False
    return True


def close_unrated(db_session: Session, ticket: Ticket, note: str, now: datetime) -> None:
    _transition(db_session, ticket, now, action="close", satisfaction="未回访", note=note)


def describe_result(job: CallbackJob) -> str:
    solved = {True: "已解决", False: "未解决", None: "未答"}[job.solved]
    text = f"智能回访（第{job.attempts}次{'对话' if job.channel == 'chat' else '电话'}）：{solved}，{job.rating or '未评价'}"
    if job.reason:
        text += f"。原因：{job.reason}"
    return text


def apply_to_ticket(*, db_session: Session, job: CallbackJob, ticket: Ticket, now: datetime) -> None:
    """满意/基本满意 and solved → 已办结; 不满意 or unsolved → 退回重办 + 提级督办 (the workflow does both)."""
    note = describe_result(job)
    # The whole result on the ticket's own history (the transition below adds its close/rework event).
    record_event(db_session=db_session, ticket=ticket, action="callback", actor=BOT.username, note=note, data={
        "job_id": job.id, "channel": job.channel, "solved": job.solved, "rating": job.rating, "reason": job.reason,
        "recording": bool(job.reason_audio), "transcript": (job.transcript or [])[-1:] or None,
    }, created_at=now)
    if job.rating in GOOD and job.solved is not False:
        applied = _transition(db_session, ticket, now, action="close", satisfaction=job.rating, note=note)
    else:
        applied = _transition(db_session, ticket, now, action="dissatisfied", note=note)
    job.applied = True  # handled: moved through the workflow, or noted on a ticket that had moved on
    if not applied:
        record_event(db_session=db_session, ticket=ticket, action="callback_result", actor=BOT.username,
                     note=f"{note}（工单当前为「{ticket.status}」，未改变状态）", created_at=now)
    db_session.commit()
