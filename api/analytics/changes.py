"""Change markers for the 日汇总 (see api.analytics.daily): every flush that writes a ticket, an
assignment or a follow-up records the ticket's Beijing day, in the writer's own transaction.

Imported by whatever writes tickets in this code base (the API's routes, the online importer, the
daily job), so the listener is registered before the first write.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.orm import Session

from api.analytics.models import DailyChange
from api.analytics.periods import local_day
from api.callbacks.models import CallbackJob
from api.core.db import utcnow
from api.tickets.models import Ticket, TicketAssignment

LOCK_KEY = 1214_0014  # PostgreSQL advisory lock: a refresh (exclusive) against ticket writers (shared)

def _changed_ticket_ids(session: Session) -> tuple[set[int], list[datetime]]:
    ids: set[int] = set()
    moments: list[datetime] = []
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, Ticket):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            if obj.created_at is not None:
                moments.append(obj.created_at)
            history = inspect(obj).attrs.created_at.history
            moments += [m for m in history.deleted or () if m is not None]  # a moved 受理时间: the old day too
        elif isinstance(obj, TicketAssignment | CallbackJob):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            if obj.ticket_id is not None:
                ids.add(obj.ticket_id)
    return ids, moments


@event.listens_for(Session, "after_flush")
def record_changes(session: Session, _flush_context) -> None:
    """Mark the Beijing days of the tickets this flush wrote (in the flush's own transaction)."""
    ids, moments = _changed_ticket_ids(session)
    if not ids and not moments:
        return
    conn = session.connection()
    if ids:
        moments += list(conn.execute(select(Ticket.created_at).where(Ticket.id.in_(ids))).scalars())
    days = {local_day(m) for m in moments if m is not None}
    if days:
        if conn.dialect.name == "postgresql":  # held to commit: a refresh waits for this write, or it for the refresh
            conn.execute(select(func.pg_advisory_xact_lock_shared(LOCK_KEY)))
        at = utcnow()
        conn.execute(insert(DailyChange), [{"day": d, "changed_at": at} for d in sorted(days)])
