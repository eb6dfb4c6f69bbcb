from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError, field_serializer, field_validator

from api.core.settings import get_settings
from api.core.text import normalise_phone
from api.tickets.models import DemandType


class TicketIn(BaseModel):
    conversation_id: str | None = Field(default=None, max_length=64)
    channel: str = Field(default="chat", pattern=r"^(chat|voice|open311|staff|online)$")
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
    # 六方联动 partners the intake already judged necessary (the bot's emergency/risk judgement),
    # flagged beside those the ticket's own text triggers; unknown ids are ignored.
    linkage_requested: list[str] = Field(default_factory=list, max_length=6)
    notify_conversation: bool = False
    # 企业诉求: None = judged from the text at intake (api.tickets.enterprise).
    enterprise: bool | None = None

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


class _Local(BaseModel):
    """Datetimes shown in the county's time zone (people read them)."""

    @field_serializer("*", when_used="json")
    def _local_times(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(ZoneInfo(get_settings().timezone)).isoformat()
        return value


class AssignmentOut(_Local):
    department_id: str
    department: str | None = None
    role: str
    required: bool
    status: str
    sign_due_at: datetime | None
    signed_at: datetime | None
    replied_at: datetime | None
    reply_text: str | None


class SupervisionOut(_Local):
    id: int
    letter_no: str
    level: int
    reason_kind: str
    reason: str
    department_id: str | None
    due_at: datetime | None
    created_at: datetime
    letter_url: str


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
    # Back office (issue 3); defaults keep the intake contract unchanged for older clients.
    dispatched_at: datetime | None = None
    sign_due_at: datetime | None = None
    complete_due_at: datetime | None = None
    closed_at: datetime | None = None
    overdue: bool = False
    escalation_level: int = 0
    rework_count: int = 0
    extension_request: dict[str, Any] | None = None
    satisfaction: str | None = None
    repeat_of: str | None = None
    repeat_count: int = 0
    merged_into: str | None = None
    grid: str | None = None
    enterprise: bool = False
    contact_masked: bool = False
    assignments: list[AssignmentOut] = []
    supervisions: list[SupervisionOut] = []
    allowed_actions: list[str] = []

    @field_serializer("reply_due_at", "created_at", "dispatched_at", "sign_due_at", "complete_due_at", "closed_at")
    def _local(self, value: datetime | None) -> str | None:
        # Deadlines are read by people in the county: show them in its time zone.
        return value.astimezone(ZoneInfo(get_settings().timezone)).isoformat() if value else None


class TransitionIn(BaseModel):
    """One move of the lifecycle. Which fields matter depends on the action (see docs/back-office.md)."""

    action: Literal[
        "dispatch", "sign", "return", "reassign", "start", "reply", "request_extension", "approve_extension",
        "reject_extension", "review", "approve_reply", "reject_reply", "close", "dissatisfied", "withdraw",
        "merge", "escalate",
    ]
    note: str | None = Field(default=None, max_length=4000, description="理由、答复内容或备注；退单、改派、答复、退回重办、撤单、并单等必填")
    department: str | None = Field(default=None, max_length=128, description="派单/改派：主办单位（id、简称或代码）")
    co_departments: list[str] | None = Field(default=None, max_length=20, description="派单/改派：协办单位")
    joint: bool | None = Field(default=None, description="一哨联办：协办单位也须签收并答复（默认：点名协办单位时为是；沿用智能派单建议时随职责清单）")
    days: int | None = Field(default=None, ge=1, le=60, description="延期申请：延期工作日数")
    satisfaction: Literal["满意", "基本满意", "不满意", "未回访"] | None = None
    target_ticket_no: str | None = Field(default=None, max_length=32, description="并单：原工单号")

    @field_validator("note")
    @classmethod
    def _strip_note(cls, value: str | None) -> str | None:
        return value.strip() or None if isinstance(value, str) else value


class ContactOut(BaseModel):
    ticket_no: str
    citizen_name: str | None
    phone: str | None
    anonymous: bool
    confidential: bool


class TicketSummary(BaseModel):
    ticket_no: str
    status: str
    demand_type: str
    urgency: str
    description: str
    location_town: str | None
    category_level1: str | None
    lead_department: str | None
    needs_dispatcher: bool
    overdue: bool
    escalation_level: int
    repeat_count: int
    repeat_of: str | None = None
    complete_due_at: datetime | None
    created_at: datetime

    @field_serializer("complete_due_at", "created_at")
    def _local(self, value: datetime | None) -> str | None:
        return value.astimezone(ZoneInfo(get_settings().timezone)).isoformat() if value else None


class TicketPage(BaseModel):
    total: int
    items: list[TicketSummary]


class NotificationOut(_Local):
    id: int
    ticket_no: str | None
    kind: str
    message: str
    created_at: datetime
    read_at: datetime | None


class LinkageItem(_Local):
    ticket_no: str
    partner: str
    reason: str | None
    grid: str | None
    urgent: bool
    status: str
    urgency: str
    description: str
    location: str | None
    lead_department: str | None
    created_at: datetime


class LinkageDaily(BaseModel):
    partner: str
    name: str
    date: date
    count: int
    items: list[LinkageItem]


class ClassifyIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    location_town: str | None = Field(default=None, max_length=64)


class ClassifyOut(BaseModel):
    level1: str | None
    level2: str | None
    level3: str | None
    category: Category
    lead_department: str | None
    lead_department_name: str | None
    co_departments: list[str]
    confidence: float | None
    needs_dispatcher: bool
    reasons: list[str]
    linkage: list[str]


FIELD_LABELS = {"phone": "联系电话", "demand_type": "诉求类型", "location": "地点", "description": "诉求内容",
                "incident_time": "时间", "citizen_name": "称呼", "location_detail": "详细地址"}


def first_problem(exc: ValidationError) -> str:
    """The first validation problem in staff words: which field, and why."""
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": ""}
    field = ".".join(str(p) for p in first.get("loc", ()))
    return f"{FIELD_LABELS.get(field, field)}：{str(first.get('msg', '')).removeprefix('Value error, ')}"
