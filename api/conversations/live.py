"""Live delivery of new messages to connected browsers (citizen chat pages, agent consoles)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from fastapi import WebSocket

from api.conversations.models import Message


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role,
        "text": message.text,
        "buttons": message.buttons or [],
        "intent": message.intent,
        "confidence": message.confidence,
        "pending": message.pending,
        "client_message_id": message.client_message_id,
        "created_at": message.created_at.isoformat(),
    }


# Agent consoles subscribe to every conversation's traffic under this key.
CONSOLE = "__console__"


class LiveHub:
    def __init__(self) -> None:
        self._sockets: defaultdict[str, set[WebSocket]] = defaultdict(set)
        self._lock = asyncio.Lock()

    async def join(self, conversation_id: str, socket: WebSocket) -> None:
        async with self._lock:
            self._sockets[conversation_id].add(socket)

    async def leave(self, conversation_id: str, socket: WebSocket) -> None:
        async with self._lock:
            self._sockets[conversation_id].discard(socket)
            if not self._sockets[conversation_id]:
                del self._sockets[conversation_id]

    def watchers(self, conversation_id: str) -> int:
        return len(self._sockets.get(conversation_id, ()))

    async def publish(self, conversation_id: str, payload: dict[str, Any]) -> None:
        async with self._lock:
            sockets = list(self._sockets.get(conversation_id, ()))
        for socket in sockets:
            try:
                await socket.send_json(payload)
            except Exception:  # noqa: BLE001  (any send failure means a dead socket; the page reconnects)
                await self.leave(conversation_id, socket)

    async def publish_messages(self, conversation_id: str, messages: list[Message], mode: str) -> None:
        for message in messages:
            payload = {"type": "message", "mode": mode, "message": message_json(message)}
            await self.publish(conversation_id, payload)
            await self.publish(CONSOLE, {**payload, "conversation_id": conversation_id})

    async def publish_console(self, payload: dict[str, Any]) -> None:
        await self.publish(CONSOLE, payload)


live = LiveHub()
