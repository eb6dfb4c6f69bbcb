"""Retention purge, a citizen's data export and erasure. Every run is written to privacy_events.

Tickets themselves stay (they are the county's record of the matter and of the department's work);
what goes is what identifies the citizen: numbers, name, words typed or spoken, recordings.
Opt-outs (不回访) are kept: erasing them would have the hotline call the citizen again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from api.callbacks.models import CallbackJob
from api.conversations.models import CallbackRequest, Conversation, Message
from api.core.db import session_factory, utcnow
from api.privacy.models import PrivacyEvent
from api.privacy.policy import retention_policy
from api.tickets.access import mask_phone, mask_text
from api.tickets.models import Ticket

log = logging.getLogger(__name__)
ERASED = "已删除"


def _audit(db_session: Session, *, action: str, actor: str, subject: str, counts: dict[str, int],
           note: str | None = None) -> None:
    db_session.add(PrivacyEvent(action=action, actor=actor, subject=subject, counts=counts, note=note))


def _remove_recording(job: CallbackJob) -> int:
    if not job.reason_audio:
        return 0
    Path(job.reason_audio).unlink(missing_ok=True)
    job.reason_audio = None
    return 1


def _erase_conversation(db_session: Session, conversation: Conversation, now: datetime) -> int:
    removed = db_session.execute(delete(Message).where(Message.conversation_id == conversation.id)).rowcount or 0
    conversation.draft = None
    conversation.caller_number = None
    conversation.erased_at = now
    return removed


def _forget_ticket_contact(ticket: Ticket) -> None:
    ticket.phone = None
    ticket.citizen_name = None
    ticket.description = mask_text(ticket.description) or ticket.description


def purge(*, db_session: Session, now: datetime | None = None, actor: str = "retention") -> dict[str, int]:
    """Remove what the retention policy no longer allows us to keep."""
    now = now or utcnow()
    policy = retention_policy()
    counts = {"recordings": 0, "call_transcripts": 0, "conversations": 0, "messages": 0, "ticket_contacts": 0,
              "callback_requests": 0}
    recordings_before = now - timedelta(days=policy.recordings_days)
    for job in db_session.scalars(select(CallbackJob).where(
            CallbackJob.reason_audio.is_not(None),
            or_(CallbackJob.completed_at < recordings_before,
                (CallbackJob.completed_at.is_(None)) & (CallbackJob.created_at < recordings_before)))):
        counts["recordings"] += _remove_recording(job)

    transcripts_before = now - timedelta(days=policy.transcripts_days)
    for job in db_session.scalars(select(CallbackJob).where(
            CallbackJob.transcript.is_not(None), CallbackJob.completed_at < transcripts_before)):
        job.transcript = None
        counts["call_transcripts"] += 1
    for conversation in db_session.scalars(select(Conversation).where(
            Conversation.erased_at.is_(None), Conversation.updated_at < transcripts_before)):
        counts["messages"] += _erase_conversation(db_session, conversation, now)
        counts["conversations"] += 1

    contacts_before = now - timedelta(days=policy.contacts_days)
    for ticket in db_session.scalars(select(Ticket).where(
            Ticket.closed_at < contacts_before, or_(Ticket.phone.is_not(None), Ticket.citizen_name.is_not(None)))):
        _forget_ticket_contact(ticket)
        for job in db_session.scalars(select(CallbackJob).where(CallbackJob.ticket_id == ticket.id)):
            job.phone = None
        counts["ticket_contacts"] += 1
    for request in db_session.scalars(select(CallbackRequest).where(
            CallbackRequest.created_at < contacts_before, CallbackRequest.phone != ERASED)):
        request.phone = ERASED
        counts["callback_requests"] += 1
    if any(counts.values()):
        _audit(db_session, action="purge", actor=actor, subject="retention", counts=counts,
               note=f"保存期限：录音{policy.recordings_days}天，对话{policy.transcripts_days}天，联系方式{policy.contacts_days}天")
    db_session.commit()
    return counts


def _subject(db_session: Session, phone: str) -> tuple[list[Ticket], list[Conversation], list[CallbackJob],
                                                      list[CallbackRequest]]:
    tickets = list(db_session.scalars(select(Ticket).where(Ticket.phone == phone).order_by(Ticket.id)))
    conversation_ids = {t.conversation_id for t in tickets if t.conversation_id}
    requests = list(db_session.scalars(select(CallbackRequest).where(CallbackRequest.phone == phone)))
    conversation_ids |= {r.conversation_id for r in requests}
    conversations = list(db_session.scalars(select(Conversation).where(
        or_(Conversation.caller_number == phone, Conversation.id.in_(conversation_ids))).order_by(Conversation.created_at)))
    jobs = list(db_session.scalars(select(CallbackJob).where(
        or_(CallbackJob.phone == phone, CallbackJob.ticket_id.in_([t.id for t in tickets])))))
    return tickets, conversations, jobs, requests


def export(*, db_session: Session, phone: str, actor: str, reason: str) -> dict[str, Any]:
    """Everything held about the citizen with this number (个人信息查阅、复制), as one JSON document."""
    tickets, conversations, jobs, requests = _subject(db_session, phone)
    data = {
        "phone": phone,
        "exported_at": utcnow().isoformat(),
        "tickets": [{"ticket_no": t.ticket_no, "created_at": t.created_at.isoformat(), "channel": t.channel,
                     "demand_type": t.demand_type, "description": t.description, "location": t.location,
                     "citizen_name": t.citizen_name, "phone": t.phone, "status": t.status} for t in tickets],
        "conversations": [{"conversation_id": c.id, "channel": c.channel, "created_at": c.created_at.isoformat(),
                           "messages": [{"role": m.role, "text": m.text, "created_at": m.created_at.isoformat()}
                                        for m in c.messages]} for c in conversations],
        "callbacks": [{"ticket_no": j.ticket_no, "channel": j.channel, "rating": j.rating, "solved": j.solved,
                       "reason": j.reason, "transcript": j.transcript, "has_recording": bool(j.reason_audio)}
                      for j in jobs],
        "callback_requests": [{"created_at": r.created_at.isoformat(), "preferred_time": r.preferred_time,
                               "note": r.note, "status": r.status} for r in requests],
    }
    counts = {"tickets": len(tickets), "conversations": len(conversations), "callbacks": len(jobs),
              "callback_requests": len(requests)}
    _audit(db_session, action="export", actor=actor, subject=mask_phone(phone) or "", counts=counts, note=reason)
    db_session.commit()
    log.info("privacy export for %s by %s: %s", mask_phone(phone), actor, counts)
    return data


def erase(*, db_session: Session, phone: str, actor: str, reason: str) -> dict[str, int]:
    """The citizen asked for deletion (删除权): their words, numbers, name and recordings go; tickets stay."""
    now = utcnow()
    tickets, conversations, jobs, requests = _subject(db_session, phone)
    counts = {"tickets": len(tickets), "conversations": len(conversations), "messages": 0, "callbacks": len(jobs),
              "recordings": 0, "callback_requests": len(requests)}
    for ticket in tickets:
        _forget_ticket_contact(ticket)
    for conversation in conversations:
        counts["messages"] += _erase_conversation(db_session, conversation, now)
    for job in jobs:
        counts["recordings"] += _remove_recording(job)
        job.phone, job.transcript, job.reason = None, None, None
    for request in requests:
        request.phone, request.note = ERASED, None
    _audit(db_session, action="erase", actor=actor, subject=mask_phone(phone) or "", counts=counts, note=reason)
    db_session.commit()
    log.info("privacy erasure for %s by %s: %s", mask_phone(phone), actor, counts)
    return counts


def events(*, db_session: Session, limit: int = 200) -> list[PrivacyEvent]:
    return list(db_session.scalars(select(PrivacyEvent).order_by(PrivacyEvent.id.desc()).limit(limit)))


async def purge_forever(interval_hours: float) -> None:
    """Background task: the retention purge, once at start and then every `interval_hours`."""
    def run() -> dict[str, int]:
        with session_factory()() as db_session:
            return purge(db_session=db_session)

    while True:
        try:
            counts = await asyncio.to_thread(run)
            if any(counts.values()):
                log.info("retention purge: %s", counts)
        except Exception:  # noqa: BLE001 — one failed run must not stop the next
            log.exception("retention purge failed")
        await asyncio.sleep(interval_hours * 3600)
