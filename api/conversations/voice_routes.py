"""The voice gateway's side door into the hub (service token): line events and the agents' queue."""

from __future__ import annotations

from fastapi import APIRouter

from api.console import service as console
from api.conversations import duty, ordering, service, voice_service
from api.conversations.live import CONSOLE, live
from api.conversations.voice_service import VoiceEventIn
from api.core.db import SessionDep, in_session, utcnow
from api.core.security import ServiceDep

router = APIRouter(prefix="/api/v1/conversations", tags=["voice"])


@router.post("/{conversation_id}/voice-events", status_code=201)
async def voice_event(conversation_id: str, body: VoiceEventIn, _: ServiceDep) -> dict:
    """What happened on the line outside the caller's turns; answers with the conversation's state
    so the gateway learns of a takeover without waiting for the caller to speak."""
    service.check_conversation_id(conversation_id)
    async with ordering.turn(conversation_id):
        conversation, message = await in_session(
            voice_service.record_event, conversation_id=conversation_id, event=body
        )
    if message is not None:
        await live.publish_messages(conversation_id, [message], conversation.mode)
    await console.announce(conversation_id)
    return {"conversation_id": conversation_id, "mode": conversation.mode,
            "handoff_requested": conversation.handoff_requested, "assigned_agent": conversation.assigned_agent,
            "recorded": message is not None}


@router.get("/{conversation_id}/queue")
def queue(conversation_id: str, db_session: SessionDep, _: ServiceDep) -> dict:
    """The caller's place in the agents' queue, for the hold message."""
    place = voice_service.queue_place(db_session=db_session, conversation_id=conversation_id)
    now = utcnow()
    return {**place, "agents_available": duty.in_shift(now) and live.watchers(CONSOLE) > 0}
