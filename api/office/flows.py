"""Live updates of the workbench: new ticket events each person may see, pushed over their socket.

The workbench watches the audit trail (ticket_events) rather than hooking into every writer:
tickets change from the bot, the scheduler, the callback dialer and other pages, and every one of
those writes an event. Reading the trail also works with several API processes (no shared pub/sub).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select

from api.auth.deps import Principal
from api.core.db import session_factory
from api.core.settings import get_settings
from api.office.service import EVENT_LABELS
from api.tickets import access
from api.tickets.models import Ticket, TicketEvent


def last_event_id() -> int:
    with session_factory()() as db_session:
        return db_session.scalar(select(func.max(TicketEvent.id))) or 0


def events_since(*, principal: Principal, after: int, limit: int = 100) -> tuple[int, list[dict[str, Any]]]:
    """Events after `after` on tickets this person may read (visibility as on every other read)."""
    with session_factory()() as db_session:
        query = access.restrict(
            select(TicketEvent.id, TicketEvent.action, TicketEvent.actor, TicketEvent.to_status, Ticket.ticket_no,
                   Ticket.status).join(Ticket, Ticket.id == TicketEvent.ticket_id).where(TicketEvent.id > after),
            principal,
        ).order_by(TicketEvent.id).limit(limit)
        rows = db_session.execute(query).all()
        newest = db_session.scalar(select(func.max(TicketEvent.id))) or after
    if len(rows) == limit:
        newest = rows[-1].id  # more to come on the next round
    return newest, [{"type": "ticket", "ticket_no": r.ticket_no, "action": r.action, "label": EVENT_LABELS.get(r.action, r.action),
                     "actor": r.actor, "status": r.status} for r in rows]


async def follow(socket: WebSocket, principal: Principal) -> None:
    """Push until the page goes away; the page only listens (anything it sends keeps the socket open)."""
    poll = get_settings().office.live_poll_seconds
    after = await run_in_threadpool(last_event_id)
    await socket.send_json({"type": "ready"})
    while True:
        try:
            await asyncio.wait_for(socket.receive_text(), poll)
            continue
        except TimeoutError:
            pass
        except WebSocketDisconnect:
            return
        after, updates = await run_in_threadpool(events_since, principal=principal, after=after)
        for update in updates:
            await socket.send_json(update)
