"""Open311 GeoReport v2 over the ticket back office: services from the taxonomy, statuses mapped."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from api.org.profile import org_profile
from api.tickets.models import Ticket, TicketStatus

CLOSED = {TicketStatus.closed, TicketStatus.withdrawn, TicketStatus.merged}


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    group: str
    level1: str
    level2: str
    keywords: tuple[str, ...]


def service_code(level1: str, level2: str) -> str:
    # Stable across taxonomy edits (unlike row numbers): a client may have cached the list.
    return hashlib.sha1(f"{level1}/{level2}".encode()).hexdigest()[:8]


@lru_cache(maxsize=1)
def _services(_key: int) -> dict[str, Service]:
    seen: dict[str, Service] = {}
    level3: dict[tuple[str, str], list[str]] = {}
    for level1, level2, l3 in org_profile().taxonomy:
        level3.setdefault((level1, level2), []).append(l3)
    for (level1, level2), names in level3.items():
        code = service_code(level1, level2)
        seen[code] = Service(code=code, name=level2, group=level1, level1=level1, level2=level2,
                             keywords=tuple(n for n in names if n and n != "其他")[:12])
    return seen


def services() -> dict[str, Service]:
    return _services(id(org_profile()))


def status_of(ticket: Ticket) -> str:
    return "closed" if ticket.status in CLOSED else "open"


def status_notes(ticket: Ticket) -> str:
    if ticket.status == TicketStatus.merged and ticket.merged_into is not None:
        return f"已并入工单 {ticket.merged_into.ticket_no} 一并办理"
    replies = [a.reply_text for a in ticket.assignments if a.active and a.reply_text]
    if ticket.status == TicketStatus.closed and replies:
        return f"已办结：{replies[-1]}"
    return f"当前状态：{ticket.status}"
