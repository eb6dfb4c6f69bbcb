from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_serializer, field_validator

from api.core.settings import get_settings
from api.tickets.models import DemandType

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def normalise_phone(value: str) -> str:
    """Digits only for mobiles; landlines as area-code-number. Raises ValueError with a reason."""
    raw = re.sub(r"[\s()（）+]", "", value)
    raw = raw.removeprefix("86") if len(raw) == 13 and raw.startswith("861") else raw
    digits = raw.replace("-", "")
    if MOBILE.fullmatch(digits):
        return digits
    if LANDLINE.fullmatch(raw) or LANDLINE.fullmatch(digits):
        if "-" in raw:
            return raw
        area_len = 3 if digits[:3] in {"010", "020", "021", "022", "023", "024", "025", "027", "028", "029"} else 4
        return f"{digits[:area_len]}-{digits[area_len:]}"
    raise ValueError("电话号码不对：手机号是1开头的11位数字，座机要带区号（如0515-86201234）")


class TicketIn(BaseModel):
    conversation_id: str | None = Field(default=None, max_length=64)
    channel: str = Field(default="chat", pattern=r"^(chat|voice|open311|staff)$")
    demand_type: DemandType
    description: str = Field(min_length=2, max_length=8000)
    location: str | None = Field(default=None, max_length=500)
    location_town: str | None = Field(default=None, max_length=64)
    location_detail: str | None = Field(default=None, max_length=500)
    incident_time: str | None = Field(default=None, max_length=128)
    incident_date: date | None = None
    citizen_name: str | None = Field(default=None, max_length=64)
    anonymous: bool = False
    phone: str | None = Field(default=None, max_length=32)
    confidential: bool = False
    urgency: str = Field(default="普通", pattern=r"^(普通|紧急|特急)$")
    notify_conversation: bool = False

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalise_phone(value) if value else None

    @field_validator("description", "location", "citizen_name", "incident_time", "location_detail")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if isinstance(value, str) else value


class Category(BaseModel):
    level1: str | None
    level2: str | None
    level3: str | None
    confidence: float | None


class TicketEventOut(BaseModel):
    action: str
    actor: str
    from_status: str | None
    to_status: str | None
    note: str | None
    created_at: datetime


class TicketOut(BaseModel):
    ticket_no: str
    status: str
    channel: str
    conversation_id: str | None
    demand_type: str
    description: str
    location: str | None
    location_town: str | None
    location_detail: str | None
    incident_time: str | None
    citizen_name: str | None
    anonymous: bool
    phone: str | None
    confidential: bool
    urgency: str
    category: Category
    lead_department: str | None
    co_departments: list[str]
    needs_dispatcher: bool
    linkage_flags: list[str]
    reply_due_at: datetime | None
    created_at: datetime
    events: list[TicketEventOut] = []

    @field_serializer("reply_due_at", "created_at")
    def _local(self, value: datetime | None) -> str | None:
        # Deadlines are read by people in the county: show them in its time zone.
        return value.astimezone(ZoneInfo(get_settings().timezone)).isoformat() if value else None
