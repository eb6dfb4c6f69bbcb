from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from api.core.text import normalise_phone

CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class Button(BaseModel):
    title: str
    payload: str


class MessageIn(BaseModel):
    text: str = Field(default="", max_length=100_000)
    payload: str | None = Field(default=None, max_length=255)
    channel: Literal["chat", "voice"] = "chat"
    caller_number: str | None = Field(default=None, max_length=32)
    client_message_id: str | None = Field(default=None, max_length=64)


class SessionOut(BaseModel):
    conversation_id: str
    token: str = Field(description="对话令牌：之后的请求带上 Authorization: Bearer <token>；只发放这一次")


class Reply(BaseModel):
    text: str
    buttons: list[Button] = []


class MessageOut(BaseModel):
    id: int
    role: str
    text: str
    buttons: list[Button] = []
    intent: str | None = None
    confidence: float | None = None
    pending: bool = False
    created_at: datetime


class ChatResponse(BaseModel):
    conversation_id: str
    replies: list[Reply]
    mode: str
    handoff_requested: bool = False


class ConversationOut(BaseModel):
    conversation_id: str
    channel: str
    mode: str
    handoff_requested: bool
    handoff_reason: str | None
    closed_reason: str | None
    risk_flags: list[str] = []
    draft: dict | None
    messages: list[MessageOut]


class HandoffIn(BaseModel):
    reason: Literal["citizen_request", "form_failures", "risk", "low_confidence"] = "citizen_request"
    note: str = Field(default="", max_length=2000)


class CloseIn(BaseModel):
    reason: Literal["caller_hangup", "completed", "no_input", "one_way_audio", "line_dropped", "citizen_left"] = "completed"


class CallbackRequestIn(BaseModel):
    phone: str = Field(min_length=5, max_length=32)
    preferred_time: str | None = Field(default=None, max_length=64)
    note: str = Field(default="", max_length=2000)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)
