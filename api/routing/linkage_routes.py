"""六方联动 daily push lists: what each partner (110, 政法委, 信访, 纪委, 行政执法监督, 网格) receives."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy import select

from api.auth.deps import Principal, require_principal
from api.auth.models import Role
from api.core.db import SessionDep, utcnow
from api.org.profile import org_profile
from api.tickets.access import mask_text
from api.tickets.flows import local_day
from api.tickets.models import Ticket, TicketLinkage
from api.tickets.schemas import LinkageDaily, LinkageItem

router = APIRouter(prefix="/api/v1/linkage", tags=["linkage"])
Reader = Annotated[Principal, Depends(require_principal(Role.service, Role.dispatcher, Role.supervisor, Role.admin))]


def _partner_id(ref: str) -> str:
    partners = org_profile().partners
    if ref in partners:
        return ref
    for p in partners.values():  # also accept the partner's department id or full name
        if ref in (p.department, p.name):
            return p.id
    raise HTTPException(404, detail=f"没有这个联动单位：{ref}（可选：{'、'.join(partners)}）")


@router.get("/partners", summary="联动单位列表")
def partners(_: Reader) -> list[dict]:
    return [{"id": p.id, "name": p.name, "department": p.department, "urgent": p.urgent} for p in org_profile().partners.values()]


@router.get("/{partner}/daily", response_model=LinkageDaily, summary="某联动单位某日的推送清单（默认今天）")
def daily(partner: str, _: Reader, db_session: SessionDep,
          day: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD，县里的当地日期")] = None) -> LinkageDaily:
    partner_id = _partner_id(partner)
    day = day or local_day(utcnow())
    rows = db_session.execute(
        select(TicketLinkage, Ticket).join(Ticket, Ticket.id == TicketLinkage.ticket_id)
        .where(TicketLinkage.partner == partner_id, TicketLinkage.flagged_on == day)
        .order_by(TicketLinkage.urgent.desc(), TicketLinkage.id)
    ).all()
    items = [
        LinkageItem(
            ticket_no=t.ticket_no, partner=link.partner, reason=link.reason, grid=link.grid, urgent=link.urgent,
            status=t.status, urgency=t.urgency, description=mask_text(t.description) or "", location=mask_text(t.location),
            lead_department=t.lead_department, created_at=t.created_at,
        )
        for link, t in rows
    ]
    return LinkageDaily(partner=partner_id, name=org_profile().partners[partner_id].name, date=day, count=len(items), items=items)
