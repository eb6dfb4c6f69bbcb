from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core.db import Base, utcnow


class Channel(StrEnum):
    chat = "chat"
    voice = "voice"


class Mode(StrEnum):
    bot = "bot"
    agent = "agent"
    closed = "closed"


class Role(StrEnum):
    citizen = "citizen"
    bot = "bot"
    agent = "agent"
    system = "system"


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), default=Channel.chat)
    caller_number: Mapped[str | None] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16), default=Mode.bot, index=True)
    handoff_requested: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    handoff_note: Mapped[str | None] = mapped_column(Text)
    last_intent: Mapped[str | None] = mapped_column(String(64))
    closed_reason: Mapped[str | None] = mapped_column(String(32))
    # Snapshot of what the bot understood (form slots) when the conversation closed:
    # the draft report staff see when a caller hangs up mid-intake.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The agent holding the conversation in agent mode (at most one: takeover is an atomic claim).
    assigned_agent: Mapped[str | None] = mapped_column(String(64), index=True)
    taken_over_at: Mapped[datetime | None] = mapped_column()
    # Consecutive citizen turns the NLU was unsure about; two in a row put it in the escalation queue.
    low_confidence_turns: Mapped[int] = mapped_column(Integer, default=0)
    risk_flags: Mapped[list[str] | None] = mapped_column(JSON)
    # Payloads of the buttons last offered: only these may be forwarded to Rasa as "/intent".
    offered_payloads: Mapped[list[str] | None] = mapped_column(JSON)
    # sha256 of the session token the citizen's browser holds (server-issued; never shown to staff).
    token_hash: Mapped[str | None] = mapped_column(String(64))
    erased_at: Mapped[datetime | None] = mapped_column()  # personal data removed on request or by retention
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id", cascade="all, delete-orphan"
    )


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("conversation_id", "client_message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    # What was sent to Rasa when it differs from the shown text (a button payload).
    payload: Mapped[str | None] = mapped_column(String(255))
    buttons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    # A citizen message not yet answered because Rasa was unreachable; retried in the background.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    client_message_id: Mapped[str | None] = mapped_column(String(64))
    author: Mapped[str | None] = mapped_column(String(64))
    # Set (and committed) just before the message goes to Rasa: a turn is forwarded at most once.
    forwarded_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class ConversationEvent(Base):
    """Audit trail of a conversation: handoff requests, takeovers, agent messages, hand-backs, closing."""

    __tablename__ = "conversation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallbackRequestStatus(StrEnum):
    waiting = "待回电"
    done = "已回电"
    cancelled = "已取消"


class CallbackRequest(Base):
    """回电: a citizen asked to be called back (after hours, nobody on duty): the morning queue.

    Not the 回访 follow-up of api.callbacks: that one calls about a ticket already answered."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    phone: Mapped[str] = mapped_column(String(32))
    preferred_time: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default=CallbackRequestStatus.waiting, index=True)
    handled_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    handled_at: Mapped[datetime | None] = mapped_column()
