"""Agent console: live list and escalation queue, takeover, replies, hand-back, closing, filing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, ValidationError

from api.auth.deps import require_roles, socket_user
from api.auth.models import Role, User
from api.console import service, voice
from api.conversations import handoff
from api.conversations import service as conversations
from api.conversations.live import CONSOLE, live, message_json
from api.conversations.models import Channel, Conversation
from api.conversations.models import Role as MessageRole
from api.core.db import SessionDep, in_session, session_factory
from api.tickets import intake
from api.tickets import service as tickets
from api.tickets.routes import ticket_out
from api.tickets.schemas import TicketIn, TicketOut, first_problem

STATIC = Path(__file__).parent / "static"
VIEW_ROLES = (Role.agent, Role.dispatcher, Role.supervisor, Role.admin)
ACT_ROLES = (Role.agent, Role.supervisor, Role.admin)
Viewer = Annotated[User, Depends(require_roles(*VIEW_ROLES))]
Agent = Annotated[User, Depends(require_roles(*ACT_ROLES))]

router = APIRouter(prefix="/api/v1/console", tags=["console"])
pages = APIRouter(include_in_schema=False)


class AgentText(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class ConsoleTicketIn(BaseModel):
    demand_type: str = "complaint"
    description: str | None = None
    location: str | None = None
    incident_time: str | None = None
    citizen_name: str | None = None
    phone: str | None = None
    anonymous: bool = False
    confidential: bool = False
    # The same caller raising a second, different matter in this conversation: file it as its own 工单.
    another_matter: bool = False


@pages.get("/console")
def console_page() -> FileResponse:
    return FileResponse(STATIC / "console.html", media_type="text/html; charset=utf-8")


@router.get("/conversations")
def list_conversations(_: Viewer, db_session: SessionDep) -> dict:
    return {"conversations": service.console_rows(db_session=db_session)}


@router.get("/conversations/{conversation_id}")
def conversation_detail(conversation_id: str, _: Viewer, db_session: SessionDep) -> dict:
    conversation = conversations.get_or_404(db_session=db_session, conversation_id=conversation_id)
    return {
        **service.summary(db_session, conversation),
        "caller_number": conversation.caller_number,
        "messages": [message_json(m) for m in conversation.messages],
        "events": [
            {"action": e.action, "actor": e.actor, "note": e.note, "created_at": e.created_at.isoformat()}
            for e in handoff.events(db_session=db_session, conversation_id=conversation_id)
        ],
        "draft": service.draft(conversation),
    }


async def _after(conversation: Conversation, messages: list) -> dict:
    await live.publish_messages(conversation.id, messages, conversation.mode)
    await service.announce(conversation.id)
    return {"conversation_id": conversation.id, "channel": conversation.channel, "mode": conversation.mode,
            "assigned_agent": conversation.assigned_agent}


@router.post("/conversations/{conversation_id}/takeover")
async def takeover(conversation_id: str, agent: Agent) -> dict:
    conversation, notice = await in_session(handoff.takeover, conversation_id=conversation_id, agent=agent.username)
    return await _after(conversation, [notice])


@router.post("/conversations/{conversation_id}/messages")
async def agent_message(conversation_id: str, body: AgentText, agent: Agent) -> dict:
    def work():  # noqa: ANN202
        with session_factory()() as db_session:
            message = handoff.agent_message(
                db_session=db_session, conversation_id=conversation_id, agent=agent.username, text=body.text.strip()
            )
            return conversations.get(db_session=db_session, conversation_id=conversation_id), message

    conversation, message = await run_in_threadpool(work)
    await live.publish_messages(conversation_id, [message], conversation.mode)
    if conversation.channel == Channel.voice:  # a caller on the line hears what the agent typed
        return {**message_json(message), "spoken": await voice.speak(conversation_id, message.text)}
    return message_json(message)


@router.post("/conversations/{conversation_id}/handback")
async def hand_back(conversation_id: str, agent: Agent) -> dict:
    conversation, new = await in_session(handoff.hand_back, conversation_id=conversation_id, agent=agent.username)
    return await _after(conversation, new)


@router.post("/conversations/{conversation_id}/close")
async def close(conversation_id: str, agent: Agent) -> dict:
    conversation, notice = await in_session(handoff.close_by_agent, conversation_id=conversation_id, agent=agent.username)
    return await _after(conversation, [notice])


@router.post("/conversations/{conversation_id}/transfer")
async def transfer_call(conversation_id: str, agent: Agent) -> dict:
    """The call goes to the agent's SIP extension; transcript and draft stay on the console."""
    await in_session(voice.check, conversation_id=conversation_id, agent=agent.username, sip_uri=agent.sip_uri)
    target = str(agent.sip_uri)
    result = await voice.ask_gateway(conversation_id, target)
    message = await in_session(voice.record, conversation_id=conversation_id, agent=agent.username, target=target,
                               result=result)
    await live.publish_messages(conversation_id, [message], "agent")
    await service.announce(conversation_id)
    if result.get("status") == "failed":
        raise HTTPException(502, detail=f"转接没有成功：{result.get('detail', '')}")
    return {"conversation_id": conversation_id, "target": target, "method": result.get("method"),
            "status": result.get("status")}


@router.post("/conversations/{conversation_id}/ticket", response_model=TicketOut, status_code=201)
async def file_ticket(conversation_id: str, body: ConsoleTicketIn, agent: Agent) -> TicketOut:
    """The agent files (or re-files: idempotent) the ticket from the edited draft."""
    def work():  # noqa: ANN202
        with session_factory()() as db_session:
            conversation = conversations.get_or_404(db_session=db_session, conversation_id=conversation_id)
            if not body.description:
                raise HTTPException(422, detail="请先填写诉求内容。")
            try:
                ticket_in = TicketIn(conversation_id=conversation_id, channel=conversation.channel,
                                     **body.model_dump(exclude_none=True, exclude={"another_matter"}))
            except ValidationError as exc:  # the agent typed a bad phone, type or an over-long field
                raise HTTPException(422, detail=f"工单草稿有误：{first_problem(exc)}") from None
            digest = hashlib.sha256(json.dumps(ticket_in.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
            key = f"console:{conversation_id}:{digest[:32]}"
            existing = service.filed_tickets(db_session=db_session, conversation_id=conversation_id)
            if existing and not body.another_matter and not tickets.replays(db_session=db_session, idempotency_key=key):
                # One conversation, one matter, one 工单: a second submission is the same 诉求 again.
                raise HTTPException(409, detail=service.already_filed(existing))
            ticket, created = intake.create(
                db_session=db_session, ticket_in=ticket_in, idempotency_key=key, actor=agent.username,
            )
            handoff.audit(db_session, conversation_id, "file_ticket", agent.username, ticket.ticket_no)
            message = None
            if created:
                message = conversations.add_message(
                    db_session, conversation, MessageRole.agent,
                    f"已经为您登记了工单，工单号是{ticket.ticket_no}，请您记一下，可以凭工单号和手机号后四位查询办理进度。",
                    author=agent.username,
                )
            db_session.commit()
            return ticket_out(ticket), conversation.mode, message

    out, mode, message = await run_in_threadpool(work)
    if message is not None:
        await live.publish_messages(conversation_id, [message], mode)
    return out


@router.get("/callback-requests")
def callback_requests(_: Viewer, db_session: SessionDep) -> list[dict]:
    return [
        {
            "id": r.id,
            "conversation_id": r.conversation_id,
            "phone_masked": service.mask_digits(r.phone),
            "preferred_time": r.preferred_time,
            "note": r.note,
            "status": r.status,
            "created_at": r.created_at.isoformat(),
        }
        for r in service.waiting_callbacks(db_session=db_session)
    ]


@pages.websocket("/ws/console")
async def console_socket(socket: WebSocket) -> None:
    """Live traffic for agents. The token comes in the first message, never in the URL (URLs reach logs)."""
    await socket.accept()
    if await socket_user(socket, VIEW_ROLES) is None:
        return
    await live.join(CONSOLE, socket)
    try:
        while True:
            await socket.receive_text()  # consoles only listen; keeps the socket open
    except WebSocketDisconnect:
        pass
    finally:
        await live.leave(CONSOLE, socket)
