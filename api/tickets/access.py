"""Who may read which ticket, and how much of the citizen's contact details they see.

- service token (bot, voice gateway): everything, as before (the citizen's own channel).
- 坐席, 派单员, 督办, 管理员: every ticket; phone/ID numbers masked in views, full number via
  GET /tickets/{no}/contact, which is audited.
- 承办人: only tickets their department holds an active assignment on; masked views; the full
  number via /contact only for their own non-confidential tickets (保密件: the platform calls back).
- 分管领导: tickets sent to them (双交办 or 督办) or held by a department they are in charge of;
  always masked, no /contact (leaders supervise, they do not call citizens).
Tickets a person may not read answer 404, so their existence is not disclosed.
"""

from __future__ import annotations

import re

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from api.auth.deps import Principal
from api.auth.models import Role
from api.org.models import Department
from api.tickets.models import Notification, Ticket, TicketAssignment

PLATFORM_ROLES = frozenset({Role.agent, Role.dispatcher, Role.supervisor, Role.admin})
CONTACT_ROLES = PLATFORM_ROLES | {Role.service}

_ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?)\d{3,4}(\d{4})(?!\d)")


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    if re.fullmatch(r"1\d{10}", phone):
        return f"{phone[:3]}****{phone[-4:]}"
    return f"{phone[:-4][:5]}****{phone[-4:]}" if len(phone) > 6 else "****"


# Numbers said rather than typed ("幺五零零五一五…", ASR output, 大写 digits): read as digits for masking.
_SPOKEN = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
           "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "壹": "1", "贰": "2", "叁": "3", "肆": "4",
           "伍": "5", "陆": "6", "柒": "7", "捌": "8", "玖": "9"}
_SEPARATORS = " \t\u3000，,、-"  # "-" last: a literal inside the character class below
_DIGIT_RUN = re.compile("[0-9" + "".join(_SPOKEN) + "](?:[" + _SEPARATORS + "]*[0-9Xx" + "".join(_SPOKEN) + "])+")


def _mask_spoken(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = "".join(_SPOKEN.get(ch, ch) for ch in run if ch not in _SEPARATORS)
    if len(digits) < 11:
        return run  # short runs are dates, counts, house numbers
    if not any(ch in _SPOKEN for ch in run):
        # Typed digits: contiguous ones are handled below; grouped ones ("138 1234 5678") only when
        # the whole run is a number (not "1，2，3…"); a hyphenated landline keeps its own rule.
        shapes = r"1[3-9]\d{9}|\d{17}[\dXx]" if "-" in run else r"1[3-9]\d{9}|\d{17}[\dXx]|0\d{9,11}"
        if run.isdigit() or not re.fullmatch(shapes, digits):
            return run
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        return f"{digits[:3]}****{digits[-4:]}"
    if re.fullmatch(r"\d{17}[\dXx]", digits):
        return f"{digits[:6]}********{digits[-4:]}"
    return f"{digits[:3]}****{digits[-4:]}"  # a long spoken number is contact data whatever its length


def mask_text(text: str | None) -> str | None:
    """Hide ID and phone numbers a citizen typed (or said) into free text — the phone field's rules."""
    if not text:
        return text
    text = _DIGIT_RUN.sub(_mask_spoken, text)
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def strip_numbers(text: str) -> str:
    """Remove ID and phone numbers entirely (they say nothing about the matter, e.g. before classifying)."""
    for pattern in (_ID_NUMBER, _MOBILE, _LANDLINE):
        text = pattern.sub("", text)
    return text


def mask_name(name: str | None) -> str | None:
    return f"{name[0]}{'*' * max(1, len(name) - 1)}" if name else name


def sees_full_contact(principal: Principal) -> bool:
    return principal.is_service


def _leader_departments(leader_id: str):
    return select(Department.id).where(Department.leader_id == leader_id)


def visibility_clause(principal: Principal):
    """A WHERE clause limiting Ticket rows to those this principal may read (None: all)."""
    if principal.role in CONTACT_ROLES:
        return None
    if principal.role == Role.handler and principal.department_id:
        return exists().where(
            TicketAssignment.ticket_id == Ticket.id, TicketAssignment.active.is_(True),
            TicketAssignment.department_id == principal.department_id,
        )
    if principal.role == Role.leader and principal.leader_id:
        return or_(
            exists().where(
                Notification.ticket_id == Ticket.id, Notification.recipient_kind == "leader",
                Notification.recipient_id == principal.leader_id,
            ),
            exists().where(
                TicketAssignment.ticket_id == Ticket.id, TicketAssignment.active.is_(True),
                TicketAssignment.department_id.in_(_leader_departments(principal.leader_id)),
            ),
        )
    return Ticket.id.is_(None)  # a handler without a department sees nothing


def restrict(query: Select, principal: Principal) -> Select:
    clause = visibility_clause(principal)
    return query if clause is None else query.where(clause)


def can_read(*, db_session: Session, principal: Principal, ticket: Ticket) -> bool:
    clause = visibility_clause(principal)
    if clause is None:
        return True
    return db_session.scalar(select(Ticket.id).where(Ticket.id == ticket.id, clause)) is not None


def owns(principal: Principal, ticket: Ticket) -> bool:
    return principal.role == Role.handler and any(
        a.active and a.department_id == principal.department_id for a in ticket.assignments
    )


def can_read_contact(principal: Principal, ticket: Ticket) -> bool:
    if principal.role in CONTACT_ROLES:
        return True
    return owns(principal, ticket) and not ticket.confidential
