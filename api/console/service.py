"""What the agent console shows: conversation summaries, the draft ticket from the bot's slots."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.callbacks.models import CallbackRequest, CallbackRequestStatus
from api.conversations import rasa_client
from api.conversations.live import CONSOLE, live
from api.conversations.models import Conversation, ConversationEvent, Message, Role
from api.core.db import session_factory

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


def _last_citizen_text(db_session: Session, conversation_id: str) -> str:
    text = db_session.scalar(
        select(Message.text)
        .where(Message.conversation_id == conversation_id, Message.role == Role.citizen)
        .order_by(Message.id.desc())
        .limit(1)
    )
    return mask_digits(text or "")[:80]


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
    return {
        "conversation_id": conversation.id,
        "channel": conversation.channel,
        "mode": conversation.mode,
        "assigned_agent": conversation.assigned_agent,
        "handoff_requested": conversation.handoff_requested,
        "handoff_reason": conversation.handoff_reason,
        "risk_flags": conversation.risk_flags or [],
        "last_intent": conversation.last_intent,
        "last_text": _last_citizen_text(db_session, conversation.id),
        "waiting_since": waiting.isoformat() if waiting else None,
        "updated_at": conversation.updated_at.isoformat(),
    }


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
    tracker = rasa_client.tracker(conversation.id)
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
