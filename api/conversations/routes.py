from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from api.console import service as console
from api.conversations import duty, service
from api.conversations.live import CONSOLE, live, message_json
from api.conversations.models import Channel, Role
from api.conversations.schemas import (
    CallbackRequestIn,
    ChatResponse,
    CloseIn,
    ConversationOut,
    HandoffIn,
    MessageIn,
    Reply,
)
from api.core.db import SessionDep, in_session, session_factory, utcnow
from api.core.security import IsServiceDep, ServiceDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])
ws_router = APIRouter(tags=["conversations"])


async def _receive(conversation_id: str, message_in: MessageIn, trusted: bool) -> ChatResponse:
    conversation, new = await in_session(
        service.receive, conversation_id=conversation_id, message_in=message_in, trusted=trusted
    )
    mode, handoff = conversation.mode, conversation.handoff_requested
    await live.publish_messages(conversation_id, new, mode)
    await console.announce(conversation_id)
    return ChatResponse(
        conversation_id=conversation_id,
        replies=[Reply(text=m.text, buttons=m.buttons or []) for m in new if m.role != Role.citizen],
        mode=mode,
        handoff_requested=handoff,
    )


@router.post("/{conversation_id}/messages", response_model=ChatResponse)
async def post_message(conversation_id: str, message_in: MessageIn, trusted: IsServiceDep) -> ChatResponse:
    """A citizen's message. Replies come back in the response (and to open WebSockets)."""
    return await _receive(conversation_id, message_in, trusted)


@router.get("/{conversation_id}", response_model=ConversationOut)
def get_conversation(conversation_id: str, db_session: SessionDep, trusted: IsServiceDep) -> ConversationOut:
    conversation = service.get_or_404(db_session=db_session, conversation_id=conversation_id)
    # A chat transcript is the citizen's own (the random id is their key); voice transcripts carry
    # a caller number and are for services only.
    if conversation.channel != Channel.chat and not trusted:
        raise HTTPException(403, detail="语音对话记录需要服务令牌。")
    return ConversationOut(
        conversation_id=conversation.id,
        channel=conversation.channel,
        mode=conversation.mode,
        handoff_requested=conversation.handoff_requested,
        handoff_reason=conversation.handoff_reason,
        closed_reason=conversation.closed_reason,
        risk_flags=(conversation.risk_flags or []) if trusted else [],
        draft=conversation.draft if trusted else None,
        messages=[message_json(m) for m in conversation.messages],
    )


@router.post("/{conversation_id}/handoff")
async def handoff(conversation_id: str, body: HandoffIn, _: ServiceDep) -> dict:
    """The bot asks for a person. The answer tells it whether anyone is on duty, and if not, when."""
    conversation = await in_session(
        service.request_handoff, conversation_id=conversation_id, reason=body.reason, note=body.note
    )
    reason = conversation.handoff_reason or body.reason
    await console.announce(conversation_id)
    now = utcnow()
    available = duty.in_shift(now) and live.watchers(CONSOLE) > 0
    back = duty.next_shift_start(now)
    return {
        "conversation_id": conversation_id,
        "handoff_requested": True,
        "reason": reason,
        "agents_available": available,
        "agents_back_at": None if available else back.isoformat(),
        "agents_back_text": None if available else duty.describe_return(now, back),
    }


@router.post("/{conversation_id}/callback-request", status_code=201)
async def callback_request(conversation_id: str, body: CallbackRequestIn, _: ServiceDep) -> dict:
    """Nobody on duty: the citizen asked to be called back; it waits in the agents' morning queue."""
    request = await in_session(
        service.request_callback, conversation_id=conversation_id, phone=body.phone,
        preferred_time=body.preferred_time, note=body.note,
    )
    request_id = request.id
    await console.announce(conversation_id)
    return {"id": request_id, "conversation_id": conversation_id, "status": "待回电"}


@router.post("/{conversation_id}/close")
async def close(conversation_id: str, body: CloseIn, _: ServiceDep) -> dict:
    conversation = await in_session(service.close, conversation_id=conversation_id, reason=body.reason)
    await console.announce(conversation_id)
    return {"conversation_id": conversation.id, "mode": conversation.mode, "draft": conversation.draft}


@ws_router.websocket("/ws/chat/{conversation_id}")
async def chat_socket(socket: WebSocket, conversation_id: str) -> None:
    """The web widget: history on connect, then messages both ways. Reconnect = connect again."""
    await socket.accept()
    try:
        service.check_conversation_id(conversation_id)
    except HTTPException as exc:
        await socket.send_json({"type": "error", "detail": exc.detail})
        await socket.close(code=4400)
        return
    await live.join(conversation_id, socket)
    try:
        with session_factory()() as db_session:
            conversation = service.get(db_session=db_session, conversation_id=conversation_id)
            if conversation is not None and conversation.channel != Channel.chat:
                await socket.send_json({"type": "error", "detail": "这个对话不能在网页上打开。"})
                await socket.close(code=4403)
                return
            history = service.list_messages(db_session=db_session, conversation_id=conversation_id)
            mode = conversation.mode if conversation else "bot"
        await socket.send_json({"type": "history", "mode": mode, "messages": [message_json(m) for m in history]})
        while True:
            raw = await socket.receive_text()
            try:
                message_in = MessageIn.model_validate(json.loads(raw))
            except (ValueError, ValidationError):
                await socket.send_json({"type": "error", "detail": "消息格式不对，请重新发送。"})
                continue
            message_in.channel = Channel.chat
            try:
                # Replies reach this socket through live.publish_messages; the citizen's own message too.
                response = await _receive(conversation_id, message_in, trusted=False)
                await socket.send_json({"type": "ack", "client_message_id": message_in.client_message_id,
                                        "mode": response.mode})
            except HTTPException as exc:
                await socket.send_json({"type": "error", "detail": exc.detail,
                                        "client_message_id": message_in.client_message_id})
    except WebSocketDisconnect:
        pass
    finally:
        await live.leave(conversation_id, socket)


async def retry_pending_forever(interval: float) -> None:
    """Background task: citizen words stored while Rasa was down are forwarded once it is back."""
    while True:
        await asyncio.sleep(interval)
        with contextlib.suppress(Exception):
            def work():
                with session_factory()() as db_session:
                    new = service.retry_pending(db_session=db_session)
                    return [(m.conversation_id, m.conversation.mode, m) for m in new]

            for conversation_id, mode, message in await run_in_threadpool(work):
                await live.publish_messages(conversation_id, [message], mode)
