"""Ticket (工单) intake: numbering, idempotent creation, classification and deadlines, audit."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import HTTPException, status
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.core.db import utcnow
from api.core.settings import get_settings
from api.org.profile import org_profile
from api.tickets import deadlines
from api.tickets.config import backoffice_settings
from api.tickets.enterprise import is_enterprise
from api.tickets.models import (
    CHANNEL_LABELS,
    IdempotencyRecord,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketStatus,
)
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


def _replay(db_session: Session, key: str, digest: str) -> Ticket | None:
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


def create(
    *, db_session: Session, ticket_in: TicketIn, idempotency_key: str, actor: str,
    now: datetime | None = None, extra: dict | None = None, category: tuple[str, str | None] | None = None,
) -> tuple[Ticket, bool]:
    """Create a ticket once per Idempotency-Key. Returns (ticket, created).

    Then: classification and routing (智能派单), 六方联动 flags, repeat detection, SLA deadlines,
    and — when the route is confident — dispatch with its 双交办 copy to the leader in charge.
    """
    digest = request_hash(ticket_in)
    existing = _replay(db_session, idempotency_key, digest)
    if existing is not None:
        return existing, False

    from api.tickets import flows, workflow_service  # side effects live beside the workflow

    now = now or utcnow()
    ticket = Ticket(
        ticket_no=next_ticket_no(db_session=db_session, now=now),
        status=TicketStatus.accepted,
        created_at=now,
        created_by=actor,
        extra={**(extra or {}), **({"linkage_requested": ticket_in.linkage_requested}
                                   if ticket_in.linkage_requested else {})},
        **ticket_in.model_dump(exclude={"notify_conversation", "linkage_requested", "enterprise"}),
    )
    ticket.enterprise = is_enterprise(ticket_in.description) if ticket_in.enterprise is None else ticket_in.enterprise
    if ticket.anonymous:
        ticket.citizen_name = None
    route = flows.classify_and_route(ticket=ticket)
    ticket.extra = {**ticket.extra, "route": {"joint": route.joint, "reasons": route.reasons}}
    if category is not None and category[0] and ticket.category_level1 != category[0]:
        # A channel that already knows the category (Open311 service code) wins over the model;
        # the route is then a guess about a different matter, so the dispatcher decides.
        ticket.category_level1, ticket.category_level2, ticket.category_level3 = category[0], category[1], None
        ticket.needs_dispatcher = True
    elif category is not None and category[1] and ticket.category_level2 != category[1]:
        ticket.category_level2, ticket.category_level3 = category[1], None
    db_session.add(ticket)
    try:
        db_session.flush()
        # Claim the key before any other write: a concurrent request with the same key fails here.
        db_session.add(IdempotencyRecord(key=idempotency_key, request_hash=digest, ticket_id=ticket.id))
        db_session.flush()
    except IntegrityError:
        return _lost_race(db_session, idempotency_key, digest)
    flags = flows.apply_linkage(db_session=db_session, ticket=ticket, now=now, route=route)
    policy = org_profile().sla
    ticket.reply_due_at, ticket.complete_due_at = deadlines.policy_deadlines(
        start=now, demand_type=ticket.demand_type, urgency=ticket.urgency, policy=policy
    )
    record_event(
        db_session=db_session, ticket=ticket, action="create", actor=actor, to_status=ticket.status,
        note=f"经{CHANNEL_LABELS.get(ticket.channel, ticket.channel)}渠道受理", data={
            "idempotency_key": idempotency_key, "route": {
                "lead": route.lead_department, "co": route.co_departments, "confidence": route.confidence,
                "needs_dispatcher": ticket.needs_dispatcher, "reasons": route.reasons,
            }, "linkage": flags,
        },
    )
    flows.link_repeat(db_session=db_session, ticket=ticket, now=now, actor="system")
    if not ticket.needs_dispatcher and ticket.lead_department and backoffice_settings().auto_dispatch:
        workflow_service.assign(
            db_session=db_session, ticket=ticket, lead=ticket.lead_department, co=ticket.co_departments or [],
            joint=route.joint, now=now,
        )
        record_event(
            db_session=db_session, ticket=ticket, action="dispatch", actor="system", from_status=TicketStatus.accepted,
            to_status=ticket.status, note=f"智能派单（置信度{route.confidence or 0:.2f}）",
            data={"lead": ticket.lead_department, "co": ticket.co_departments},
        )
    try:
        db_session.commit()
    except IntegrityError:
        return _lost_race(db_session, idempotency_key, digest)
    return ticket, True


def _lost_race(db_session: Session, idempotency_key: str, digest: str) -> tuple[Ticket, bool]:
    """The same key raced us: the other request's ticket is the one."""
    db_session.rollback()
    existing = _replay(db_session, idempotency_key, digest)
    if existing is None:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="工单正在登记中，请稍后用同一个 Idempotency-Key 重试。")
    return existing, False
