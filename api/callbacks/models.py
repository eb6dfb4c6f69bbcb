from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core.db import Base, utcnow

# ---- 智能回访 (satisfaction follow-up, issue 6) ------------------------------------------------


class JobStatus(StrEnum):
    """Where one follow-up stands. `claimed` is a worker dialling it under a lease."""

    queued = "queued"  # waiting for its time (next_attempt_at) and a running campaign
    claimed = "claimed"  # a worker holds the lease and is calling
    chat_waiting = "chat_waiting"  # questions posted in the chat, waiting for the citizen's buttons
    retry = "retry"  # an attempt failed (no answer, busy, 不方便); queued again for later
    done = "done"  # rated (or unsolved) and applied to the ticket
    failed = "failed"  # attempts exhausted, wrong number, or the citizen refused
    skipped = "skipped"  # never called: do-not-call, no number, confidential handled by staff
    cancelled = "cancelled"  # the ticket left 待回访 by another way (staff closed it)


OPEN_JOB_STATUSES = (JobStatus.queued, JobStatus.retry, JobStatus.claimed, JobStatus.chat_waiting)
FINAL_JOB_STATUSES = (JobStatus.done, JobStatus.failed, JobStatus.skipped, JobStatus.cancelled)

JOB_STATUS_LABELS = {
    JobStatus.queued: "待拨打", JobStatus.claimed: "通话中", JobStatus.chat_waiting: "对话回访中",
    JobStatus.retry: "稍后重拨", JobStatus.done: "已完成", JobStatus.failed: "未成功",
    JobStatus.skipped: "不回访", JobStatus.cancelled: "已取消",
}


class Rating(StrEnum):
    satisfied = "满意"
    basically = "基本满意"
    dissatisfied = "不满意"


class CallbackCampaign(Base):
    """A day's calling run that staff start, pause and resume; workers only dial running ones."""

    __tablename__ = "callback_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date, index=True)  # county-local day it was started for
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)  # running | paused | finished
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CallbackJob(Base):
    """One follow-up of one ticket round (a ticket reworked after 不满意 is followed up again)."""

    __tablename__ = "callback_jobs"
    __table_args__ = (UniqueConstraint("ticket_id", "round", name="uq_callback_jobs_ticket_round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    ticket_no: Mapped[str] = mapped_column(String(32), index=True)
    round: Mapped[int] = mapped_column(Integer, default=0)  # the ticket's rework_count when scheduled
    department_id: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(8), default="phone")  # phone | chat
    phone: Mapped[str | None] = mapped_column(String(32))
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("callback_campaigns.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    due_at: Mapped[datetime | None] = mapped_column()  # the policy's "within N working hours"
    # Lease: a worker that dies mid-call loses the job only when its lease runs out.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    # Results.
    outcome: Mapped[str | None] = mapped_column(String(16))  # last attempt's outcome (see survey.Outcome)
    solved: Mapped[bool | None] = mapped_column(Boolean)
    rating: Mapped[str | None] = mapped_column(String(8), index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # the citizen's reason, transcribed (or typed in chat)
    reason_audio: Mapped[str | None] = mapped_column(Text)  # path of the recorded reason (8 kHz WAV)
    transcript: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    skip_reason: Mapped[str | None] = mapped_column(Text)
    chat_message_id: Mapped[int | None] = mapped_column(Integer)  # last question posted in the chat
    chat_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    chat_deadline_at: Mapped[datetime | None] = mapped_column()
    applied: Mapped[bool] = mapped_column(Boolean, default=False)  # result written to the ticket
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(index=True)

    attempt_log: Mapped[list[CallbackAttempt]] = relationship(
        back_populates="job", order_by="CallbackAttempt.id", cascade="all, delete-orphan"
    )


class CallbackAttempt(Base):
    """Every dial: who placed it, when, how it ended. A restart never hides an attempt."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("callback_jobs.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(64))
    lease_token: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(16))
    sip_status: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)

    job: Mapped[CallbackJob] = relationship(back_populates="attempt_log")


class CallbackOptOut(Base):
    """不回访: a citizen (by number) or one ticket that must never be called back."""

    __tablename__ = "callback_optouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
