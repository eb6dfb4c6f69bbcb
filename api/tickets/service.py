"""Ticket (工单) records: numbering, reads, the audit events and the Idempotency-Key ledger.

No orchestration here: intake.py files a new ticket, transitions.py moves one.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from fastapi import HTTPException, status
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.core.db import utcnow
from api.core.settings import get_settings
from api.tickets.models import IdempotencyRecord, Ticket, TicketCounter, TicketEvent
from api.tickets.schemas import TicketIn


def request_hash(ticket_in: TicketIn) -> str:
    body = ticket_in.model_dump(mode="json", exclude={"notify_conversation"})
    if body.get("enterprise") is None:  # keys recorded before the enterprise tag keep their hash
        body.pop("enterprise", None)
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def next_ticket_no(*, db_session: Session, now: datetime) -> str:
    settings = get_settings()
    day = now.astimezone(ZoneInfo(settings.timezone)).strftime("%Y%m%d")
    # UPDATE … SET last = last + 1 is atomic on SQLite and PostgreSQL alike.
    bumped = db_session.execute(
        update(TicketCounter).where(TicketCounter.day == day).values(last=TicketCounter.last + 1)
    )
    if bumped.rowcount == 0:
        try:
            with db_session.begin_nested():
                db_session.add(TicketCounter(day=day, last=1))
        except IntegrityError:  # another writer created today's row first
            db_session.execute(
                update(TicketCounter).where(TicketCounter.day == day).values(last=TicketCounter.last + 1)
            )
    last = db_session.scalar(select(TicketCounter.last).where(TicketCounter.day == day))
    return f"{settings.ticket_prefix}{day}-{last:04d}"


def normalise_ticket_no(ticket_no: str) -> str:
    """A number as citizens type or say it ("jh 20261127 0001") in the form it is stored in."""
    m = _ticket_no_pattern(get_settings().ticket_prefix).fullmatch(ticket_no or "")
    return f"{m.group(1).upper()}{m.group(2)}-{m.group(3)}" if m else (ticket_no or "").strip().upper()


@lru_cache(maxsize=4)
def _ticket_no_pattern(prefix: str) -> re.Pattern[str]:
    # The shape next_ticket_no writes: prefix, the local day, a four-digit sequence.
    return re.compile(rf"(?i)\s*({re.escape(prefix)})\s*[-_ ]?\s*(\d{{8}})\s*[-_ ]?\s*(\d{{4}})\s*")


def get_by_no(*, db_session: Session, ticket_no: str) -> Ticket | None:
    return db_session.scalar(
        select(Ticket).where(Ticket.ticket_no == ticket_no).options(
            selectinload(Ticket.events), selectinload(Ticket.assignments), selectinload(Ticket.supervisions)
        )
    )


def get_by_no_or_404(*, db_session: Session, ticket_no: str) -> Ticket:
    ticket = get_by_no(db_session=db_session, ticket_no=ticket_no)
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"没有找到工单 {ticket_no}。")
    return ticket


def record_event(
    *,
    db_session: Session,
    ticket: Ticket,
    action: str,
    actor: str,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    data: dict | None = None,
    created_at: datetime | None = None,
) -> TicketEvent:
    event = TicketEvent(
        ticket=ticket, action=action, actor=actor, from_status=from_status, to_status=to_status,
        note=note, data=data, created_at=created_at or utcnow(),
    )
    db_session.add(event)
    return event


def replay(*, db_session: Session, key: str, digest: str) -> Ticket | None:
    record = db_session.get(IdempotencyRecord, key)
    if record is None:
        return None
    if record.request_hash != digest:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="这个 Idempotency-Key 已经用于另一份内容不同的工单，请换一个新的键。",
        )
    ticket = db_session.get(Ticket, record.ticket_id)
    assert ticket is not None
    return ticket


def replays(*, db_session: Session, idempotency_key: str) -> bool:
    """Whether this key already filed a ticket (a retry of the same submission, not a new one)."""
    return db_session.get(IdempotencyRecord, idempotency_key) is not None
