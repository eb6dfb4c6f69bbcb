"""What the agent console shows: conversation summaries, the draft ticket from the bot's slots."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.conversations import handoff, rasa_client
from api.conversations.live import CONSOLE, live
from api.conversations.models import (
    CallbackRequest,
    CallbackRequestStatus,
    Conversation,
    ConversationEvent,
    Message,
    Mode,
    Role,
)
from api.core.db import session_factory
from api.tickets.access import mask_text
from api.tickets.models import Ticket

# Form slots (Rasa) → ticket fields (API). Only these are copied into the draft.
DRAFT_FIELDS = {
    "demand_type": "demand_type",
    "description": "description",
    "location": "location",
    "incident_time": "incident_time",
    "citizen_name": "citizen_name",
    "phone": "phone",
    "confidential": "confidential",
}
_DIGITS = re.compile(r"\d{7,}")


def mask_digits(text: str) -> str:
    """Long digit runs (phone, ID numbers) in list snippets: 138****5678."""
    return _DIGITS.sub(lambda m: m.group()[:3] + "****" + m.group()[-4:], text)


def _last_citizen(db_session: Session, conversation_id: str) -> Message | None:
    return db_session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.role == Role.citizen)
        .order_by(Message.id.desc())
        .limit(1)
    )


def _filed(db_session: Session, conversation_id: str) -> Ticket | None:
    return db_session.scalar(
        select(Ticket).where(Ticket.conversation_id == conversation_id).order_by(Ticket.id.desc()).limit(1)
    )


def _masked(text: str | None, limit: int) -> str:
    return mask_digits(mask_text(text) or "")[:limit]


def _waiting_since(db_session: Session, conversation: Conversation) -> datetime | None:
    if not conversation.handoff_requested:
        return None
    return db_session.scalar(
        select(ConversationEvent.created_at)
        .where(ConversationEvent.conversation_id == conversation.id, ConversationEvent.action == "handoff_request")
        .order_by(ConversationEvent.id.desc())
        .limit(1)
    )


def summary(db_session: Session, conversation: Conversation) -> dict[str, Any]:
    waiting = _waiting_since(db_session, conversation)
    last = _last_citizen(db_session, conversation.id)
    ticket = _filed(db_session, conversation.id)
    slots = (conversation.draft or {}).get("slots") or {}
    place = (ticket.location if ticket else None) or slots.get("location")
    matter = (ticket.description if ticket else None) or slots.get("description")
    # The intake is over once its ticket is filed and the citizen has said nothing since: the row
    # leaves the console (it comes back if they write again or ask for a person).
    finished = (
        ticket is not None and conversation.mode == Mode.bot and not conversation.handoff_requested
        and (last is None or last.created_at <= ticket.created_at)
    )
    return {
        "conversation_id": conversation.id,
        "channel": conversation.channel,
        "mode": conversation.mode,
        "assigned_agent": conversation.assigned_agent,
        "handoff_requested": conversation.handoff_requested,
        "handoff_reason": conversation.handoff_reason,
        "risk_flags": conversation.risk_flags or [],
        # What the citizen's latest message was understood as (not the last turn that had an intent).
        "last_intent": last.intent if last is not None else None,
        "last_text": _masked(last.text if last else "", 80),
        "place": _masked(place, 40) or None,
        "summary": _masked(matter, 60) or None,
        "ticket_no": ticket.ticket_no if ticket else None,
        "finished": finished,
        "waiting_since": waiting.isoformat() if waiting else None,
        "updated_at": conversation.updated_at.isoformat(),
    }


def filed_tickets(*, db_session: Session, conversation_id: str) -> list[Ticket]:
    return list(db_session.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id).order_by(Ticket.id)))


def already_filed(tickets: list[Ticket]) -> str:
    numbers = "、".join(f"{t.ticket_no}（{t.status}）" for t in tickets)
    return (f"本次对话已登记工单 {numbers}，再次提交会重复登记同一诉求。需要补充情况请在原工单上补充；"
            "确属同一来电反映的另一件事，请勾选“另一诉求”后再提交。")


def queue_order(row: dict[str, Any]) -> tuple:
    """待人工处理 order: risk first, then whoever has waited longest."""
    return (not row["risk_flags"], row["waiting_since"] or row["updated_at"])


def console_rows(*, db_session: Session) -> list[dict[str, Any]]:
    """Live conversations for the console: finished intakes left out, the handoff queue in serving
    order ahead of the rest (most recent activity first)."""
    rows = [summary(db_session, c) for c in handoff.live_conversations(db_session=db_session)]
    rows = [r for r in rows if not r["finished"]]
    queue = sorted((r for r in rows if r["handoff_requested"] and r["mode"] == Mode.bot), key=queue_order)
    return queue + [r for r in rows if r not in queue]


async def announce(conversation_id: str) -> None:
    """Tell every console the conversation's new state (list rows update without reloads)."""

    def load() -> dict[str, Any]:
        with session_factory()() as db_session:
            conversation = db_session.get(Conversation, conversation_id)
            return summary(db_session, conversation) if conversation else {}

    if live.watchers(CONSOLE) == 0:
        return
    row = await run_in_threadpool(load)
    if row:
        await live.publish_console({"type": "conversation", "conversation": row})


def draft(conversation: Conversation) -> dict[str, Any]:
    """The ticket as the bot understood it so far: live from Rasa, or the snapshot kept at closing."""
    tracker = rasa_client.blocking(rasa_client.tracker, conversation.id)
    slots = (tracker or {}).get("slots") or (conversation.draft or {}).get("slots") or {}
    draft = {field: slots.get(slot) for slot, field in DRAFT_FIELDS.items() if slots.get(slot) not in (None, "", "不清楚")}
    if draft.get("citizen_name") == "匿名":  # how the bot's form records an anonymous citizen
        draft["citizen_name"], draft["anonymous"] = None, True
    return draft


def waiting_callbacks(*, db_session: Session) -> list[CallbackRequest]:
    return list(
        db_session.scalars(
            select(CallbackRequest)
            .where(CallbackRequest.status == CallbackRequestStatus.waiting)
            .order_by(CallbackRequest.created_at)
        )
    )
