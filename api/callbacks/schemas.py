"""Request and response bodies of the 回访 API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from api.callbacks.policy import Outcome


class MatterOut(BaseModel):
    citizen_name: str | None
    phone_tail: str | None
    accepted_on: date | None
    summary: str | None
    hotline: str


class ClaimIn(BaseModel):
    worker: str = Field(min_length=1, max_length=64, description="外呼程序实例名（每个实例唯一）")
    lease_seconds: int | None = Field(default=None, ge=5, le=900)


class ClaimOut(BaseModel):
    job_id: int
    lease_token: str
    lease_expires_at: datetime
    attempt: int
    ticket_no: str
    phone: str
    matter: MatterOut


class HeartbeatIn(BaseModel):
    lease_token: str
    lease_seconds: int | None = Field(default=None, ge=5, le=900)


class ResultIn(BaseModel):
    lease_token: str
    outcome: Outcome
    solved: bool | None = None
    rating: Literal["满意", "基本满意", "不满意"] | None = None
    reason: str | None = Field(default=None, max_length=4000)
    reason_audio: str | None = Field(default=None, max_length=1000)
    transcript: list[dict[str, Any]] | None = None
    sip_status: int | None = None
    detail: str | None = Field(default=None, max_length=2000)

    @field_validator("outcome")
    @classmethod
    def _not_manual(cls, value: Outcome) -> Outcome:
        if value == Outcome.manual:
            raise ValueError("人工回访的结果由工作人员在工单上回访办结，回访程序不能上报")
        return value


class AttemptOut(BaseModel):
    number: int
    worker: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    sip_status: int | None
    detail: str | None


class JobOut(BaseModel):
    id: int
    ticket_no: str
    round: int
    department_id: str | None
    department: str | None = None
    channel: str
    phone: str | None  # masked for staff
    status: str
    status_label: str
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    due_at: datetime | None
    lease_owner: str | None
    outcome: str | None
    outcome_label: str | None
    solved: bool | None
    rating: str | None
    reason: str | None
    has_recording: bool
    skip_reason: str | None
    campaign_id: int | None
    applied: bool
    updated_at: datetime
    completed_at: datetime | None


class JobDetail(JobOut):
    transcript: list[dict[str, Any]] | None
    attempt_log: list[AttemptOut]


class CampaignIn(BaseModel):
    name: str | None = Field(default=None, max_length=64)


class CampaignOut(BaseModel):
    id: int
    name: str
    day: date
    status: str
    created_by: str
    created_at: datetime


class OptOutIn(BaseModel):
    phone: str | None = Field(default=None, max_length=32)
    ticket_no: str | None = Field(default=None, max_length=32)
    reason: str = Field(min_length=1, max_length=500)


class OptOutOut(BaseModel):
    id: int
    phone: str | None
    ticket_id: int | None
    reason: str
    created_by: str
    created_at: datetime


class ChatAnswerIn(BaseModel):
    payload: str | None = Field(default=None, max_length=500)
    text: str | None = Field(default=None, max_length=4000)


class ChatAnswerOut(BaseModel):
    job_id: int | None
    status: str | None
    reply: str | None
    buttons: list[dict[str, str]] = []
