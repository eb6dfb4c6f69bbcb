from __future__ import annotations

import asyncio
import json
import logging

from fastapi import APIRouter, HTTPException, Request, WebSocket, WebSocketDisconnect, status
from pydantic import ValidationError

from api.console import service as console
from api.conversations import duty, rasa_client, service
from api.conversations.access import CHAT_ERRORS, TrustedDep
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
    SessionOut,
)
from api.core import redis_store
from api.core.db import SessionDep, in_session, session_factory, utcnow
from api.core.http import client_address
from api.core.limits import RateLimit
from api.core.security import BearerDep, ServiceDep, is_service_token
from api.core.settings import get_settings
from api.core.sockets import first_message_token

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])
ws_router = APIRouter(tags=["conversations"])
_creations = RateLimit()


def reset_rate_limits() -> None:
    """At app start: the limits belong to one app's life."""
    _creations.reset()



@router.post("", response_model=SessionOut, status_code=status.HTTP_201_CREATED,
             responses={429: {"description": "开始对话过于频繁，请按 Retry-After 秒数后再试"}},
             summary="开始一次网页对话：服务端发放对话编号和令牌")
def create_conversation(request: Request, db_session: SessionDep, credentials: BearerDep) -> SessionOut:
    if not (credentials and is_service_token(credentials.credentials)):
        settings = get_settings()
        wait = _creations.hit(client_address(request), limit=settings.conversation_creations_per_client,
                              window=settings.conversation_creation_window_seconds)
        if wait is not None:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail=f"开始对话过于频繁，请{wait}秒后再试。",
                                headers={"Retry-After": str(wait)})
    conversation, token = service.create_session(db_session=db_session)
    return SessionOut(conversation_id=conversation.id, token=token)


async def _receive(conversation_id: str, message_in: MessageIn, trusted: bool) -> ChatResponse:
    conversation, new = await service.receive(conversation_id=conversation_id, message_in=message_in, trusted=trusted)
    mode, handoff = conversation.mode, conversation.handoff_requested
    await live.publish_messages(conversation_id, new, mode)
    await console.announce(conversation_id)
    return ChatResponse(
        conversation_id=conversation_id,
        replies=[Reply(text=m.text, buttons=m.buttons or []) for m in new if m.role != Role.citizen],
        mode=mode,
        handoff_requested=handoff,
    )


@router.post("/{conversation_id}/messages", response_model=ChatResponse, responses=CHAT_ERRORS)
async def post_message(conversation_id: str, message_in: MessageIn, trusted: TrustedDep) -> ChatResponse:
    """A citizen's message. Replies come back in the response (and to open WebSockets)."""
    return await _receive(conversation_id, message_in, trusted)


@router.get("/{conversation_id}", response_model=ConversationOut, responses=CHAT_ERRORS)
def get_conversation(conversation_id: str, db_session: SessionDep, trusted: TrustedDep) -> ConversationOut:
    # A chat transcript is the citizen's own (their session token opens it); voice transcripts carry
    # a caller number and are for services only (they have no session token).
    conversation = service.get_or_404(db_session=db_session, conversation_id=conversation_id)
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
    """The web widget: auth, history, then messages both ways. Reconnect = connect again.

    The first message is `{"type": "auth", "token": …}` (the session token; never in the URL).
    """
    await socket.accept()
    try:
        service.check_conversation_id(conversation_id)
    except HTTPException as exc:
        await socket.send_json({"type": "error", "detail": exc.detail})
        await socket.close(code=4400)
        return
    token = await first_message_token(socket)
    with session_factory()() as db_session:
        conversation = service.get(db_session=db_session, conversation_id=conversation_id)
        allowed = conversation is not None and conversation.channel == Channel.chat and service.holds_token(
            conversation, token)
    if not allowed:
        await socket.send_json({"type": "error", "detail": "对话令牌无效，请刷新页面重新开始。"})
        await socket.close(code=4401 if not token else 4404)
        return
    await live.join(conversation_id, socket)
    try:
        with session_factory()() as db_session:
            conversation = service.get(db_session=db_session, conversation_id=conversation_id)
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
                error = {"type": "error", "detail": exc.detail, "client_message_id": message_in.client_message_id}
                if exc.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:  # busy: the page resends it shortly
                    error["retry_after"] = int((exc.headers or {}).get("Retry-After", "3"))
                await socket.send_json(error)
    except WebSocketDisconnect:
        pass
    finally:
        await live.leave(conversation_id, socket)


async def retry_pending_forever(interval: float) -> None:
    """Background task: citizen words stored while Rasa was down or busy are forwarded once it can take them."""
    while True:
        await asyncio.sleep(interval)
        try:
            for conversation, messages in await service.retry_pending():
                await live.publish_messages(conversation.id, messages, conversation.mode)
                await console.announce(conversation.id)
        except Exception:  # noqa: BLE001  (a database or Redis hiccup: the next round tries again)
            log.exception("retrying waiting messages failed")


async def start_hub() -> list[asyncio.Task]:
    """At app start: the retry of waiting words, and with Redis the live relay and the console count."""
    tasks = [asyncio.create_task(retry_pending_forever(get_settings().pending_retry_seconds))]
    if redis_store.configured():
        tasks += [asyncio.create_task(live.relay_forever()), asyncio.create_task(live.count_consoles_forever())]
    return tasks


async def stop_hub(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await rasa_client.aclose()
    if redis_store.configured():
        await redis_store.aclose()
