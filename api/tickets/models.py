from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint, false, text
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
    returned = "已退单"  # the department sent it back as misrouted; waits for the dispatcher (改派)
    merged = "已并单"  # folded into an earlier ticket about the same matter


TERMINAL_STATUSES = frozenset({TicketStatus.closed, TicketStatus.withdrawn, TicketStatus.merged})
# Tickets a department is working on: deadlines run and the scheduler watches them.
WORKING_STATUSES = frozenset({TicketStatus.dispatched, TicketStatus.signed, TicketStatus.in_progress})


# how staff name each intake channel (ticket logs, statistics)
CHANNEL_LABELS = {"chat": "网上对话", "voice": "电话", "open311": "Open311", "staff": "人工登记", "online": "网络平台"}


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
    # Workflow (issue 3): deadlines, escalation, repeats, callback outcome.
    dispatched_at: Mapped[datetime | None] = mapped_column()
    sign_due_at: Mapped[datetime | None] = mapped_column()
    complete_due_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_at: Mapped[datetime | None] = mapped_column()
    overdue: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    rework_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    extension_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    extension_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    satisfaction: Mapped[str | None] = mapped_column(String(8))
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    repeat_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    grid: Mapped[str | None] = mapped_column(String(32))
    # 企业诉求 (a business asking): tagged at intake, analysed on their own (issue 14).
    enterprise: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    # Optimistic lock: two staff acting on one ticket at once get a 409, not a lost update.
    version_id: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64), default="bot")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )
    assignments: Mapped[list[TicketAssignment]] = relationship(
        back_populates="ticket", order_by="TicketAssignment.id", cascade="all, delete-orphan"
    )
    supervisions: Mapped[list[Supervision]] = relationship(
        back_populates="ticket", order_by="Supervision.id", cascade="all, delete-orphan"
    )
    # post_update: two tickets may point at each other during a merge; write the links in a second step.
    repeat_of: Mapped[Ticket | None] = relationship(remote_side=[id], foreign_keys=[repeat_of_id], post_update=True)
    merged_into: Mapped[Ticket | None] = relationship(remote_side=[id], foreign_keys=[merged_into_id], post_update=True)

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def active_assignments(self) -> list[TicketAssignment]:
        return [a for a in self.assignments if a.active]


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
    """Per-day sequence behind readable ticket numbers (JH20261127-0001 with the default MINSHENG_TICKET_PREFIX)."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class AssignmentStatus(StrEnum):
    pending = "待签收"
    signed = "已签收"
    in_progress = "办理中"
    replied = "已答复"
    returned = "已退单"
    # Settled with the ticket: a part nobody needs to sign or answer any more.
    closed = "已办结"
    withdrawn = "已撤单"
    merged = "已并单"


SETTLED_PART = {TicketStatus.closed: AssignmentStatus.closed, TicketStatus.withdrawn: AssignmentStatus.withdrawn,
                TicketStatus.merged: AssignmentStatus.merged}


class TicketAssignment(Base):
    """One department's part of a ticket. 一哨联办: every required department signs and replies."""

    __tablename__ = "ticket_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    department_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(8))  # lead 主办 | co 协办
    required: Mapped[bool] = mapped_column(Boolean, default=True)  # must reply before the ticket is 已答复
    status: Mapped[str] = mapped_column(String(8), default=AssignmentStatus.pending)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    sign_due_at: Mapped[datetime | None] = mapped_column()
    signed_at: Mapped[datetime | None] = mapped_column()
    signed_by: Mapped[str | None] = mapped_column(String(64))
    replied_at: Mapped[datetime | None] = mapped_column()
    replied_by: Mapped[str | None] = mapped_column(String(64))
    reply_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="assignments")


class Notification(Base):
    """Something a person must see: 双交办 copies, deadline warnings, overdue notices, 督办."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(16))  # leader | department | role
    recipient_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    message: Mapped[str] = mapped_column(Text)
    # Scheduler jobs run again and again: one warning per deadline, not one per run.
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()


class Supervision(Base):
    """提级督办: one escalation step with its 督办函 addressed to the department."""

    __tablename__ = "supervisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    reason_kind: Mapped[str] = mapped_column(String(16))  # overdue | rework | dissatisfied | extension | manual
    reason: Mapped[str] = mapped_column(Text)
    department_id: Mapped[str | None] = mapped_column(String(64), index=True)
    due_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="supervisions")

    @property
    def letter_no(self) -> str:
        return f"建湖12345督〔{self.created_at.year}〕{self.id}号"


class TicketLinkage(Base):
    """六方联动: a ticket flagged for a partner (110, 政法委, 信访, 纪委, 行政执法监督, 网格)."""

    __tablename__ = "ticket_linkages"
    __table_args__ = (UniqueConstraint("ticket_id", "partner"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    partner: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    grid: Mapped[str | None] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged_on: Mapped[date] = mapped_column(Date, index=True)  # county-local day of the daily push list
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
