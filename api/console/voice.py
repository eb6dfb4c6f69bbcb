"""Calls in the console: the agent holding a voice conversation has the call transferred to their
SIP extension by the voice gateway (REFER, or a bridge when the far end cannot take REFER)."""

from __future__ import annotations

import logging

import httpx
from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from api.conversations import handoff
from api.conversations.models import Channel, Message, Role
from api.conversations.service import add_message
from api.core.settings import get_settings

# The gateway answers when the agent's phone has the call: ringing (up to 30 s), possibly twice
# (REFER refused late, then the bridge), plus the short "please hold" prompt.
GATEWAY_TIMEOUT = 120.0
SAY_TIMEOUT = 10.0
log = logging.getLogger(__name__)
METHOD_NAMES = {"refer": "REFER 转接", "bridge": "网关桥接"}


def check(*, db_session: Session, conversation_id: str, agent: str, sip_uri: str | None) -> None:
    conversation = handoff._held_by(db_session, conversation_id, agent)
    if conversation.channel != Channel.voice:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="只有电话来电可以转接到分机。")
    if not sip_uri:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="您的账号还没有登记分机（sip_uri），请联系管理员。")


async def ask_gateway(conversation_id: str, target: str) -> dict:
    settings = get_settings()
    url = f"{settings.voice_gateway_url.rstrip('/')}/calls/{conversation_id}/transfer"
    try:
        async with httpx.AsyncClient(timeout=GATEWAY_TIMEOUT) as client:
            resp = await client.post(url, json={"target": target},
                                     headers={"Authorization": f"Bearer {settings.service_token}"})
    except httpx.HTTPError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"语音网关连接失败：{exc}") from None
    if resp.status_code == 404:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="这通电话已不在线上（网关上没有这通来电）。")
    if resp.status_code == 409:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="这通电话已经结束或正在转接。")
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code not in (200, 502) or not isinstance(body, dict) or "status" not in body:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, detail=f"语音网关返回 {resp.status_code}")
    return body


def record(*, db_session: Session, conversation_id: str, agent: str, target: str, result: dict) -> Message:
    method = str(result.get("method", ""))
    ok = result.get("status") != "failed"
    handoff.audit(db_session, conversation_id, "transfer", agent,
                  f"{method} {result.get('status')} → {target}" + ("" if ok else f"：{result.get('detail', '')}"))
    conversation = handoff._held_by(db_session, conversation_id, agent)
    how = METHOD_NAMES.get(method, method)
    text = (f"来电已转接到坐席 {agent} 的分机（{how}）。" if ok
            else f"转接到坐席 {agent} 的分机没有成功（{result.get('detail', '')}），来电方已听到稍后回电的提示。")
    message = add_message(db_session, conversation, Role.system, text)
    db_session.commit()
    return message


async def speak(conversation_id: str, text: str) -> bool:
    """Have the gateway speak an agent's typed reply to the caller. The message is stored whatever
    happens here, so a call that has ended or a gateway that is down only means False."""
    settings = get_settings()
    url = f"{settings.voice_gateway_url.rstrip('/')}/calls/{conversation_id}/say"
    try:
        async with httpx.AsyncClient(timeout=SAY_TIMEOUT) as client:
            resp = await client.post(url, json={"text": text},
                                     headers={"Authorization": f"Bearer {settings.service_token}"})
    except httpx.HTTPError as exc:
        log.warning("voice gateway could not speak into %s: %s", conversation_id, exc)
        return False
    return resp.status_code == 200
