"""Citizen self-service through the bot: ticket status and 催办 (service token; the bot calls these).

POST /api/v1/tickets/{ticket_no}/status-lookup {"phone_last4"} and
POST /api/v1/tickets/{ticket_no}/urge {"phone_last4", "note"}. A wrong phone and an unknown
ticket number get the same 404 with the same words; too many failures on one number get 429.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from api.core.db import SessionDep
from api.core.security import ServiceDep
from api.tickets import citizen

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])

NOT_FOUND = "没有查到与这个工单号和电话后四位相符的工单，请核对后再试。"
TOO_MANY = "查询失败次数太多，请过一会儿再试，或者拨打12345由人工帮您查询。"


class LookupIn(BaseModel):
    phone_last4: str = Field(pattern=r"^\d{4}$", description="登记时所留电话的后四位")


class UrgeIn(LookupIn):
    note: str | None = Field(default=None, max_length=300)
    channel: str | None = Field(default=None, pattern=r"^(chat|voice)$")


class UrgeOut(BaseModel):
    recorded: bool
    urge_count: int
    notified: str | None
    status: citizen.CitizenStatus


def _verified(db_session, ticket_no: str, phone_last4: str):
    try:
        ticket = citizen.verified_ticket(db_session=db_session, ticket_no=ticket_no, phone_last4=phone_last4)
    except citizen.TooManyAttempts:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail=TOO_MANY) from None
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    return ticket


RESPONSES = {404: {"description": NOT_FOUND}, 429: {"description": TOO_MANY}}


@router.post("/{ticket_no}/status-lookup", response_model=citizen.CitizenStatus, responses=RESPONSES)
def status_lookup(ticket_no: str, body: LookupIn, db_session: SessionDep, _: ServiceDep) -> citizen.CitizenStatus:
    """进度查询: the status in plain words and the department's reply, for the ticket's own citizen."""
    ticket = _verified(db_session, ticket_no, body.phone_last4)
    return citizen.citizen_status(db_session=db_session, ticket=ticket)


@router.post("/{ticket_no}/urge", response_model=UrgeOut, responses=RESPONSES)
def urge(ticket_no: str, body: UrgeIn, db_session: SessionDep, _: ServiceDep) -> UrgeOut:
    """催办: recorded on the ticket for staff, the lead department notified (once a day)."""
    ticket = _verified(db_session, ticket_no, body.phone_last4)
    result = citizen.urge(db_session=db_session, ticket=ticket, note=body.note, channel=body.channel)
    db_session.commit()
    return UrgeOut(recorded=result.recorded, urge_count=result.urge_count, notified=result.notified,
                   status=result.status)
