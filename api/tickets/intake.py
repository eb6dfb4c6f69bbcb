"""Filing a new 工单 (the intake flow): idempotent creation, classification and routing, 六方联动,
repeat detection, SLA deadlines and — when the route is confident — the first dispatch.

Every channel (chat and voice through the action server, the console, Open311, online imports)
files through `create`; it commits at its end, as a flow does.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import HTTPException, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.db import utcnow
from api.core.settings import get_settings
from api.org.profile import org_profile
from api.tickets import deadlines, flows, transitions
from api.tickets.enterprise import is_enterprise
from api.tickets.models import CHANNEL_LABELS, IdempotencyRecord, Ticket, TicketStatus
from api.tickets.schemas import TicketIn
from api.tickets.service import next_ticket_no, record_event, replay, request_hash


def create(
    *, db_session: Session, ticket_in: TicketIn, idempotency_key: str, actor: str,
    now: datetime | None = None, extra: dict | None = None, category: tuple[str, str | None] | None = None,
) -> tuple[Ticket, bool]:
    """Create a ticket once per Idempotency-Key. Returns (ticket, created).

    Then: classification and routing (智能派单), 六方联动 flags, repeat detection, SLA deadlines,
    and — when the route is confident — dispatch with its 双交办 copy to the leader in charge.
    """
    digest = request_hash(ticket_in)
    existing = replay(db_session=db_session, key=idempotency_key, digest=digest)
    if existing is not None:
        return existing, False
    now = now or utcnow()
    ticket = _new_ticket(db_session=db_session, ticket_in=ticket_in, actor=actor, now=now, extra=extra)
    route = flows.classify_and_route(ticket=ticket)
    ticket.extra = {**ticket.extra, "route": {"joint": route.joint, "reasons": route.reasons}}
    _channel_category(ticket, category)
    db_session.add(ticket)
    try:
        db_session.flush()
        # Claim the key before any other write: a concurrent request with the same key fails here.
        db_session.add(IdempotencyRecord(key=idempotency_key, request_hash=digest, ticket_id=ticket.id))
        db_session.flush()
    except IntegrityError:
        return _lost_race(db_session, idempotency_key, digest)
    flags = flows.apply_linkage(db_session=db_session, ticket=ticket, now=now, route=route)
    ticket.reply_due_at, ticket.complete_due_at = deadlines.policy_deadlines(
        start=now, demand_type=ticket.demand_type, urgency=ticket.urgency, policy=org_profile().sla
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
    _auto_dispatch(db_session=db_session, ticket=ticket, route=route, now=now)
    try:
        db_session.commit()
    except IntegrityError:
        return _lost_race(db_session, idempotency_key, digest)
    return ticket, True


def _new_ticket(*, db_session: Session, ticket_in: TicketIn, actor: str, now: datetime, extra: dict | None) -> Ticket:
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
    return ticket


def _channel_category(ticket: Ticket, category: tuple[str, str | None] | None) -> None:
    """A channel that already knows the category (Open311 service code) wins over the model; the
    route is then a guess about a different matter, so the dispatcher decides."""
    if category is not None and category[0] and ticket.category_level1 != category[0]:
        ticket.category_level1, ticket.category_level2, ticket.category_level3 = category[0], category[1], None
        ticket.needs_dispatcher = True
    elif category is not None and category[1] and ticket.category_level2 != category[1]:
        ticket.category_level2, ticket.category_level3 = category[1], None


def _auto_dispatch(*, db_session: Session, ticket: Ticket, route: flows.Route, now: datetime) -> None:
    """智能派单: a confident route is dispatched at once, with its 双交办 copy."""
    if ticket.needs_dispatcher or not ticket.lead_department or not get_settings().tickets.auto_dispatch:
        return
    transitions.assign(
        db_session=db_session, ticket=ticket, lead=ticket.lead_department, co=ticket.co_departments or [],
        joint=route.joint, now=now,
    )
    record_event(
        db_session=db_session, ticket=ticket, action="dispatch", actor="system", from_status=TicketStatus.accepted,
        to_status=ticket.status, note=f"智能派单（置信度{route.confidence or 0:.2f}）",
        data={"lead": ticket.lead_department, "co": ticket.co_departments},
    )


def _lost_race(db_session: Session, idempotency_key: str, digest: str) -> tuple[Ticket, bool]:
    """The same key raced us: the other request's ticket is the one."""
    db_session.rollback()
    existing = replay(db_session=db_session, key=idempotency_key, digest=digest)
    if existing is None:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="工单正在登记中，请稍后用同一个 Idempotency-Key 重试。")
    return existing, False
