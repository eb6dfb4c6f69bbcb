"""Who may use a conversation: the citizen holding its session token, or a service (voice gateway, bot)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status

from api.conversations import service
from api.core.db import session_factory
from api.core.security import BearerDep, is_service_token

NEEDS_TOKEN = "需要对话令牌：请先 POST /api/v1/conversations 开始对话，再带上 Authorization: Bearer <token>。"
CHAT_ERRORS = {401: {"description": "缺少对话令牌"}, 404: {"description": "对话不存在或令牌不符"}}


def conversation_access(conversation_id: str, credentials: BearerDep) -> bool:
    """True for the service token; otherwise the conversation's own token is required (checked in the hub)."""
    token = credentials.credentials if credentials else None
    if is_service_token(token):
        return True
    service.check_conversation_id(conversation_id)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=NEEDS_TOKEN, headers={"WWW-Authenticate": "Bearer"})
    with session_factory()() as db_session:
        conversation = service.get(db_session=db_session, conversation_id=conversation_id)
        if not service.holds_token(conversation, token):  # a guessed or foreign id: nothing to see
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="没有找到这个对话。")
    return False


TrustedDep = Annotated[bool, Depends(conversation_access)]
