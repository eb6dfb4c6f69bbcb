from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core.db import Base, utcnow


class DemandType(StrEnum):
    complaint = "complaint"
    consultation = "consultation"
    help_request = "help_request"
    report = "report"
    suggestion = "suggestion"
    praise = "praise"


DEMAND_TYPE_LABELS = {
    DemandType.complaint: "投诉",
    DemandType.consultation: "咨询",
    DemandType.help_request: "求助",
    DemandType.report: "举报",
    DemandType.suggestion: "建议",
    DemandType.praise: "表扬",
}


class TicketStatus(StrEnum):
    accepted = "已受理"
    dispatched = "已派单"
    signed = "已签收"
    in_progress = "办理中"
    replied = "已答复"
    reply_review = "答复审核"
    awaiting_callback = "待回访"
    closed = "已办结"
    withdrawn = "已撤单"


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_no: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.accepted, index=True)
    channel: Mapped[str] = mapped_column(String(16), default="chat")
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    demand_type: Mapped[str] = mapped_column(String(16), index=True)
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    location_town: Mapped[str | None] = mapped_column(String(64), index=True)
    location_detail: Mapped[str | None] = mapped_column(Text)
    incident_time: Mapped[str | None] = mapped_column(String(128))
    incident_date: Mapped[date | None] = mapped_column(Date)
    citizen_name: Mapped[str | None] = mapped_column(String(64))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    urgency: Mapped[str] = mapped_column(String(8), default="普通")
    category_level1: Mapped[str | None] = mapped_column(String(64), index=True)
    category_level2: Mapped[str | None] = mapped_column(String(64))
    category_level3: Mapped[str | None] = mapped_column(String(64))
    category_confidence: Mapped[float | None] = mapped_column(Float)
    lead_department: Mapped[str | None] = mapped_column(String(64), index=True)
    co_departments: Mapped[list[str] | None] = mapped_column(JSON)
    needs_dispatcher: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    linkage_flags: Mapped[list[str] | None] = mapped_column(JSON)
    reply_due_at: Mapped[datetime | None] = mapped_column()
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64), default="bot")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketEvent(Base):
    """The audit trail: every write to a ticket, who made it, from which state to which."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class IdempotencyRecord(Base):
    """One row per Idempotency-Key: a replay returns the same ticket, never a second one."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketCounter(Base):
    """Per-day sequence behind readable ticket numbers (JH20261127-0001)."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
