"""What a citizen may learn about their own ticket, and 催办 (urging it on).

A ticket number alone proves nothing: the citizen must also give the last four digits of the
phone on the ticket. A wrong phone and an unknown number get the very same answer (None), and
repeated failures on one ticket number are throttled, so the lookup cannot be used to probe
which numbers exist or to guess a phone. Keyword-only functions, no HTTP (routes are thin).
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.core.db import utcnow
from api.core.settings import get_settings
from api.org.models import Department
from api.tickets import flows, service
from api.tickets.models import TERMINAL_STATUSES, Ticket, TicketAssignment, TicketStatus

URGE_ACTION = "urge"
# Failed lookups per ticket number before it is locked for a while (whatever the phone).
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60


class TooManyAttempts(Exception):
    """Too many failed lookups for this ticket number: try again later."""


class Throttle:
    """Failed lookups per ticket number in a sliding window (per API process)."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = LOCK_SECONDS) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        recent = [t for t in self._failures.get(key, []) if now - t < self.window]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        return recent

    def check(self, key: str) -> None:
        with self._lock:
            if len(self._recent(key, time.monotonic())) >= self.max_failures:
                raise TooManyAttempts(key)

    def fail(self, key: str) -> None:
        with self._lock:
            self._recent(key, time.monotonic())
            self._failures.setdefault(key, []).append(time.monotonic())

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()


throttle = Throttle()


def _phone_matches(ticket: Ticket, phone_last4: str) -> bool:
    digits = re.sub(r"\D", "", ticket.phone or "")
    return len(digits) >= 4 and hmac.compare_digest(digits[-4:].encode(), phone_last4.encode())


def verified_ticket(*, db_session: Session, ticket_no: str, phone_last4: str) -> Ticket | None:
    """The ticket when the number and the phone's last four digits agree, else None (same for
    an unknown number). Raises TooManyAttempts once this number failed too often."""
    key = service.normalise_ticket_no(ticket_no)
    throttle.check(key)
    ticket = service.get_by_no(db_session=db_session, ticket_no=key)
    if ticket is None or not re.fullmatch(r"\d{4}", phone_last4 or "") or not _phone_matches(ticket, phone_last4):
        throttle.fail(key)
        return None
    return ticket


class CitizenStatus(BaseModel):
    """What the citizen may hear about their ticket (the status-lookup answer, as sent)."""

    ticket_no: str
    status: str
    status_text: str  # plain Mandarin, as an operator would say it
    demand_type: str
    department: str | None
    reply_text: str | None
    replied_at: datetime | None
    complete_due_at: datetime | None
    urge_count: int
    closed: bool


def _department_name(db_session: Session, department_id: str | None) -> str | None:
    if not department_id:
        return None
    dept = db_session.get(Department, department_id)
    return dept.short if dept else department_id


def _reply(ticket: Ticket) -> TicketAssignment | None:
    """The department's answer: the lead's reply first, else the latest reply of any part."""
    replied = [a for a in ticket.assignments if a.active and a.reply_text]
    if not replied:
        return None
    leads = [a for a in replied if a.role == "lead"]
    return max(leads or replied, key=lambda a: a.replied_at or a.created_at)


def _local_day(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    tz = ZoneInfo(get_settings().timezone)
    if moment.tzinfo is None:  # SQLite gives naive UTC back
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日"


def status_text(ticket: Ticket, department: str | None, reply: TicketAssignment | None) -> str:
    dept = department or "承办部门"
    due = _local_day(ticket.complete_due_at)
    due_part = f"，按规定应在{due}前办结" if due else ""
    s = ticket.status
    if s == TicketStatus.accepted:
        return "您的工单已经受理，正在安排承办部门。"
    if s == TicketStatus.returned:
        return "您的工单正在重新安排承办部门。"
    if s == TicketStatus.dispatched:
        return f"您的工单已经派给{dept}，正在等部门签收{due_part}。"
    if s in (TicketStatus.signed, TicketStatus.in_progress):
        return f"{dept}已经接收您的工单，正在办理{due_part}。"
    if s in (TicketStatus.replied, TicketStatus.reply_review):
        return f"{dept}已经答复，热线正在审核答复内容。"
    if s == TicketStatus.awaiting_callback:
        return f"{dept}已经办理答复，近期会有工作人员回访您，听听您的意见。"
    if s == TicketStatus.closed:
        return "您的工单已经办结。"
    if s == TicketStatus.withdrawn:
        return "您的工单已经撤销。"
    if s == TicketStatus.merged:
        return "您反映的事情和另一张同样内容的工单合并办理了，办理结果会一并答复。"
    return f"您的工单目前是「{s}」状态。"


def urge_count(ticket: Ticket) -> int:
    return sum(1 for e in ticket.events if e.action == URGE_ACTION)


def citizen_status(*, db_session: Session, ticket: Ticket) -> CitizenStatus:
    department = _department_name(db_session, ticket.lead_department)
    reply = _reply(ticket)
    return CitizenStatus(
        ticket_no=ticket.ticket_no,
        status=ticket.status,
        status_text=status_text(ticket, department, reply),
        demand_type=ticket.demand_type,
        department=department,
        reply_text=reply.reply_text if reply else None,
        replied_at=reply.replied_at if reply else None,
        complete_due_at=ticket.complete_due_at,
        urge_count=urge_count(ticket),
        closed=ticket.status in TERMINAL_STATUSES,
    )


@dataclass(frozen=True)
class UrgeResult:
    recorded: bool
    urge_count: int
    notified: str | None  # the department told, if any
    status: CitizenStatus


def urge(*, db_session: Session, ticket: Ticket, note: str | None, channel: str | None = None,
         now: datetime | None = None) -> UrgeResult:
    """催办: an event on the ticket staff see in its history, and a notice to the lead department
    (one notice per department per day, however often the citizen urges)."""
    now = now or utcnow()
    if ticket.status in TERMINAL_STATUSES:
        return UrgeResult(recorded=False, urge_count=urge_count(ticket), notified=None,
                          status=citizen_status(db_session=db_session, ticket=ticket))
    count = urge_count(ticket) + 1
    said = (note or "").strip()[:300]
    service.record_event(
        db_session=db_session, ticket=ticket, action=URGE_ACTION, actor="citizen",
        note=f"市民催办（第{count}次）" + (f"：{said}" if said else ""),
        data={"count": count, "channel": channel or "chat"}, created_at=now,
    )
    lead = next((a.department_id for a in ticket.active_assignments if a.role == "lead"), None)
    # Not dispatched yet (or sent back): the dispatchers are the ones to hurry.
    kind, recipient = ("department", lead) if lead else ("role", "dispatcher")
    day = now.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y%m%d")
    flows.notify(
        db_session=db_session, ticket=ticket, recipient_kind=kind, recipient_id=recipient, kind="催办",
        message=f"工单{ticket.ticket_no}市民催办（第{count}次），请抓紧办理并及时答复。" + (f"市民说：{said}" if said else ""),
        now=now, dedupe_key=f"urge:{ticket.ticket_no}:{recipient}:{day}",
    )
    notified = _department_name(db_session, lead) if lead else "派单员"
    db_session.flush()
    db_session.refresh(ticket)
    return UrgeResult(recorded=True, urge_count=count, notified=notified,
                      status=citizen_status(db_session=db_session, ticket=ticket))

