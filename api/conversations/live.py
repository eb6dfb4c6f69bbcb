"""Live delivery of new messages to connected browsers (citizen chat pages, agent consoles)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from typing import Any

from fastapi import WebSocket

from api.conversations.models import Message
from api.core import redis_store

log = logging.getLogger(__name__)


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
# How often each instance tells the others how many consoles it has open (and reads theirs).
WATCHER_BEAT_SECONDS = 2.0


class LiveHub:
    """Sockets connected to this process, by conversation id (or CONSOLE).

    With Redis configured every publish goes through one pub/sub channel and each instance
    delivers to its own sockets, so a console on instance A sees a chat on instance B. Without,
    publish delivers locally, as on a single instance."""

    def __init__(self) -> None:
        self._sockets: defaultdict[str, set[WebSocket]] = defaultdict(set)
        self._lock = asyncio.Lock()
        self.instance = uuid.uuid4().hex[:12]
        self._remote_consoles = 0  # consoles open on the other instances, as last heard

    async def join(self, conversation_id: str, socket: WebSocket) -> None:
        async with self._lock:
            self._sockets[conversation_id].add(socket)

    async def leave(self, conversation_id: str, socket: WebSocket) -> None:
        async with self._lock:
            self._sockets[conversation_id].discard(socket)
            if not self._sockets[conversation_id]:
                del self._sockets[conversation_id]

    def watchers(self, conversation_id: str) -> int:
        here = len(self._sockets.get(conversation_id, ()))
        return here + self._remote_consoles if conversation_id == CONSOLE else here

    async def publish(self, conversation_id: str, payload: dict[str, Any]) -> None:
        if redis_store.configured():
            await redis_store.client().publish(redis_store.key("live"), json.dumps(
                {"key": conversation_id, "payload": payload}, ensure_ascii=False, default=str))
            return
        await self.deliver(conversation_id, payload)

    async def deliver(self, conversation_id: str, payload: dict[str, Any]) -> None:
        """To this process's sockets only."""
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

    async def relay_forever(self) -> None:
        """With Redis: deliver what any instance publishes to this one's sockets (runs for the app's life)."""
        while True:
            try:
                pubsub = redis_store.client().pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(redis_store.key("live"))
                try:
                    while True:
                        item = await pubsub.get_message(timeout=1.0)
                        if item is None:
                            continue
                        event = json.loads(item["data"])
                        await self.deliver(event["key"], event["payload"])
                finally:
                    await pubsub.aclose()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001  (Redis restarting: subscribe again in a moment)
                log.exception("live relay lost Redis; subscribing again")
                await asyncio.sleep(1.0)

    async def count_consoles_forever(self) -> None:
        """With Redis: share this instance's console count (a key that expires) and sum the others'."""
        mine = redis_store.key("consoles", self.instance)
        pattern = redis_store.key("consoles", "*")
        while True:
            try:
                redis = redis_store.client()
                await redis.set(mine, len(self._sockets.get(CONSOLE, ())), ex=int(WATCHER_BEAT_SECONDS * 3))
                total = 0
                async for name in redis.scan_iter(match=pattern, count=100):
                    if name.decode() != mine:
                        total += int(await redis.get(name) or 0)
                self._remote_consoles = total
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.warning("console count not shared (Redis unavailable)")
            await asyncio.sleep(WATCHER_BEAT_SECONDS)


live = LiveHub()
