"""WebSocket authentication without secrets in URLs: the first message carries the token."""

from __future__ import annotations

import asyncio
import json

from fastapi import WebSocket, WebSocketDisconnect

AUTH_TIMEOUT_SECONDS = 10.0


async def first_message_token(socket: WebSocket) -> str | None:
    """`{"type": "auth", "token": "…"}` as the first message within 10 s; None otherwise."""
    try:
        raw = await asyncio.wait_for(socket.receive_text(), AUTH_TIMEOUT_SECONDS)
        message = json.loads(raw)
    except (TimeoutError, asyncio.TimeoutError, WebSocketDisconnect, ValueError, KeyError, RuntimeError):
        return None
    if not isinstance(message, dict) or message.get("type") != "auth":
        return None
    token = message.get("token")
    return token if isinstance(token, str) and token else None
