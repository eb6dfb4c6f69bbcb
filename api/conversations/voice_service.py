"""A phone call at the hub before and between the caller's words.

The voice gateway reports what happens on the line that is not a caller turn — the call being
answered (with the caller's number), the prompts it speaks by itself, silences, keypad presses,
a caller who stays silent — so every call is a conversation from the first ring and a silent or
frightened caller is listed for agents. Each event carries the gateway's id: a retried POST
stores nothing twice.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.conversations import service
from api.conversations.models import Conversation, ConversationEvent, Message, Mode, Role
from api.conversations.schemas import MessageIn

VoiceEventKind = Literal["call_started", "prompt", "silence", "keypad", "silent_caller", "callback"]
# Stored in Message.client_message_id (unique per conversation): the event's idempotency key.
EVENT_PREFIX = "voice:"
SILENT_CALLER_NOTE = "来电者一直没有说话（问候和三次提示后），已列入人工队列"


class VoiceEventIn(BaseModel):
    event_id: str = Field(min_length=1, max_length=58)
    kind: VoiceEventKind
    text: str = Field(default="", max_length=2000)  # what the gateway said (prompt)
    caller_number: str | None = Field(default=None, max_length=32)
    digits: str | None = Field(default=None, max_length=64, pattern=r"^[0-9*#A-D]+$")
    seconds: float | None = Field(default=None, ge=0, le=3600)


def _transcript_line(event: VoiceEventIn) -> tuple[Role, str]:
    if event.kind == "call_started":
        return Role.system, "电话接通。"
    if event.kind == "prompt":
        return Role.bot, event.text
    if event.kind == "silence":
        return Role.system, f"（来电者约{round(event.seconds or 0)}秒没有说话）"
    if event.kind == "keypad":
        keys = event.digits or ""
        # A long run is a number the caller keyed in: it follows as their own message, not in the log line.
        return Role.system, f"（来电者按键：{keys}）" if len(keys) <= 4 else f"（来电者按键输入了{len(keys)}位号码）"
    if event.kind == "silent_caller":
        return Role.system, SILENT_CALLER_NOTE + "。"
    return Role.system, "来电者选择由工作人员回电，已登记回电。"


def record_event(*, db_session: Session, conversation_id: str, event: VoiceEventIn) -> tuple[Conversation, Message | None]:
    """Store one line event (creating the voice conversation if this is the first); returns the
    conversation and the transcript line it added (None for a repeated event). The caller holds the
    conversation's ordering lock (ordering.turn)."""
    service.check_conversation_id(conversation_id)
    key = EVENT_PREFIX + event.event_id
    conversation = service._get_or_create(
        db_session=db_session, conversation_id=conversation_id, trusted=True,
        message_in=MessageIn(channel="voice", caller_number=event.caller_number),
    )
    repeated = db_session.scalar(
        select(Message.id).where(Message.conversation_id == conversation_id, Message.client_message_id == key)
    )
    if repeated is not None:
        return conversation, None
    if event.caller_number and not conversation.caller_number:
        conversation.caller_number = event.caller_number
    role, text = _transcript_line(event)
    message = service.add_message(db_session, conversation, role, text, client_message_id=key)
    if event.kind == "silent_caller" and conversation.mode == Mode.bot and not conversation.handoff_requested:
        conversation.handoff_requested = True
        conversation.handoff_reason = "silent_caller"
        db_session.add(ConversationEvent(conversation_id=conversation_id, action="handoff_request",
                                         actor="voice_gateway", note=SILENT_CALLER_NOTE))
    db_session.commit()
    if event.kind == "callback" and conversation.caller_number:
        service.request_callback(db_session=db_session, conversation_id=conversation_id,
                                 phone=conversation.caller_number, preferred_time=None,
                                 note="电话里选择由工作人员回电")
    db_session.refresh(message)
    return conversation, message


def queue_place(*, db_session: Session, conversation_id: str) -> dict[str, object]:
    """Where a conversation waiting for a person stands: 1 = next, longest waiting first."""
    conversation = service.get_or_404(db_session=db_session, conversation_id=conversation_id)
    since = (
        select(ConversationEvent.conversation_id, func.max(ConversationEvent.created_at).label("since"))
        .where(ConversationEvent.action == "handoff_request")
        .group_by(ConversationEvent.conversation_id)
        .subquery()
    )
    waiting = list(
        db_session.scalars(
            select(Conversation.id)
            .join(since, since.c.conversation_id == Conversation.id, isouter=True)
            .where(Conversation.handoff_requested.is_(True), Conversation.mode == Mode.bot)
            .order_by(func.coalesce(since.c.since, Conversation.created_at), Conversation.id)
        )
    )
    position = waiting.index(conversation_id) + 1 if conversation_id in waiting else None
    return {
        "conversation_id": conversation_id,
        "mode": conversation.mode,
        "assigned_agent": conversation.assigned_agent,
        "waiting": position is not None,
        "position": position,
        "queue_length": len(waiting),
    }
