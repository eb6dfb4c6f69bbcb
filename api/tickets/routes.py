from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, HTTPException, Response, status

from api.conversations import service as conversations
from api.conversations.live import live
from api.core.db import SessionDep, session_factory
from api.core.security import ServiceDep
from api.tickets import deadlines, service
from api.tickets.models import Ticket
from api.tickets.schemas import Category, TicketEventOut, TicketIn, TicketOut

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])


def ticket_out(ticket: Ticket) -> TicketOut:
    return TicketOut(
        **{k: getattr(ticket, k) for k in TicketOut.model_fields if k not in {"category", "events", "co_departments", "linkage_flags"}},
        category=Category(
            level1=ticket.category_level1, level2=ticket.category_level2, level3=ticket.category_level3,
            confidence=ticket.category_confidence,
        ),
        co_departments=ticket.co_departments or [],
        linkage_flags=ticket.linkage_flags or [],
        events=[TicketEventOut.model_validate(e, from_attributes=True) for e in ticket.events],
    )


async def _notify_conversation(conversation_id: str, text: str) -> None:
    with session_factory()() as db_session:
        message = conversations.post_bot_message(db_session=db_session, conversation_id=conversation_id, text=text)
        conversation = conversations.get(db_session=db_session, conversation_id=conversation_id)
        mode = conversation.mode if conversation else "bot"
    if message is not None:
        await live.publish_messages(conversation_id, [message], mode)


@router.post("", response_model=TicketOut, status_code=status.HTTP_201_CREATED)
def create_ticket(
    ticket_in: TicketIn,
    db_session: SessionDep,
    response: Response,
    background: BackgroundTasks,
    _: ServiceDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> TicketOut:
    if not idempotency_key or not idempotency_key.strip():
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail="缺少 Idempotency-Key 请求头：重试同一份工单时用同一个键，才不会重复登记。",
        )
    ticket, created = service.create(
        db_session=db_session, ticket_in=ticket_in, idempotency_key=idempotency_key.strip(), actor="bot"
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    elif ticket_in.notify_conversation and ticket.conversation_id:
        due = deadlines.describe(ticket.reply_due_at) if ticket.reply_due_at else ""
        text = f"您之前反映的问题已经登记好了，工单号是{ticket.ticket_no}。" + (
            f"承办部门会在{due}前给您答复。" if due else ""
        )
        background.add_task(_notify_conversation, ticket.conversation_id, text)
    return ticket_out(ticket)


@router.get("/{ticket_no}", response_model=TicketOut)
def get_ticket(ticket_no: str, db_session: SessionDep, _: ServiceDep) -> TicketOut:
    return ticket_out(service.get_by_no_or_404(db_session=db_session, ticket_no=ticket_no))
