"""Client of the conversation hub (api/): every call is one conversation with channel=voice."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)

CLOSE_REASONS = ("caller_hangup", "completed", "no_input", "one_way_audio", "line_dropped")


class HubError(RuntimeError):
    pass


class HubRejected(HubError):
    """A 4xx: the request itself is wrong, so retrying it cannot help."""


@dataclass
class Button:
    title: str
    payload: str


@dataclass
class Reply:
    text: str
    buttons: list[Button] = field(default_factory=list)


@dataclass
class HubResponse:
    conversation_id: str
    replies: list[Reply]
    mode: str  # bot | agent | closed
    handoff_requested: bool


class HubClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {token}"},
        )

    async def send(self, conversation_id: str, text: str, caller_number: str | None, *,
                   payload: str | None = None) -> HubResponse:
        """A caller turn. A chosen button goes as `payload` (the hub passes offered payloads to
        Rasa as-is and neutralises typed "/intent" text) with its title as the text."""
        body: dict[str, object] = {"text": text, "channel": "voice", "caller_number": caller_number}
        if payload is not None:
            body["payload"] = payload
        url = f"/api/v1/conversations/{conversation_id}/messages"
        last: Exception | None = None
        for _attempt in range(2):  # one retry: a restarting API should not drop a caller
            try:
                resp = await self._client.post(url, json=body)
            except httpx.TransportError as exc:
                last = exc
                continue
            if resp.status_code >= 500:
                last = HubError(f"hub answered {resp.status_code}")
                continue
            if resp.status_code >= 400:
                raise HubError(f"hub rejected message: {resp.status_code} {resp.text[:200]}")
            data = resp.json()
            return HubResponse(
                conversation_id=str(data.get("conversation_id", conversation_id)),
                replies=[
                    Reply(str(r.get("text") or ""), [Button(str(b.get("title", "")), str(b.get("payload", "")))
                                                    for b in r.get("buttons") or []])
                    for r in data.get("replies") or []
                ],
                mode=str(data.get("mode", "bot")),
                handoff_requested=bool(data.get("handoff_requested", False)),
            )
        raise HubError(f"hub unreachable: {last}")

    async def close(self, conversation_id: str, reason: str) -> None:
        if reason not in CLOSE_REASONS:
            raise ValueError(f"unknown close reason {reason}")
        last: Exception | None = None
        for _attempt in range(3):
            try:
                resp = await self._client.post(f"/api/v1/conversations/{conversation_id}/close", json={"reason": reason})
            except httpx.TransportError as exc:
                last = exc
                continue
            if resp.status_code < 500:
                if resp.status_code >= 400 and resp.status_code != 409:
                    raise HubError(f"hub refused close: {resp.status_code} {resp.text[:200]}")
                return
            last = HubError(f"hub answered {resp.status_code}")
        raise HubError(f"close failed: {last}")

    async def voice_event(self, conversation_id: str, kind: str, *, event_id: str, **fields: Any) -> dict[str, Any]:
        """A line event (call answered, a prompt the gateway spoke, silence, keys pressed); the hub
        stores each event id once, so retrying is safe. Returns the conversation's state."""
        body = {"event_id": event_id, "kind": kind, **{k: v for k, v in fields.items() if v is not None}}
        url = f"/api/v1/conversations/{conversation_id}/voice-events"
        last: Exception | None = None
        for _attempt in range(3):
            try:
                resp = await self._client.post(url, json=body)
            except httpx.TransportError as exc:
                last = exc
                continue
            if resp.status_code >= 500:
                last = HubError(f"hub answered {resp.status_code}")
                continue
            if resp.status_code >= 400:
                raise HubRejected(f"hub rejected voice event: {resp.status_code} {resp.text[:200]}")
            return dict(resp.json())
        raise HubError(f"hub unreachable: {last}")

    async def queue_place(self, conversation_id: str) -> dict[str, Any] | None:
        """The caller's place in the agents' queue, or None when the hub cannot tell."""
        try:
            resp = await self._client.get(f"/api/v1/conversations/{conversation_id}/queue")
        except httpx.TransportError:
            return None
        return dict(resp.json()) if resp.status_code == 200 else None

    async def health(self) -> bool:
        try:
            return (await self._client.get("/health")).status_code == 200
        except httpx.TransportError:
            return False

    async def aclose(self) -> None:
        await self._client.aclose()


class LineLog:
    """One call's line events, posted to the hub in order by a single task.

    Posting never holds up the audio: `post` only queues. An event the hub cannot take yet stays
    at the head of the queue and is retried (nothing said on the line is dropped while the call
    lasts); `drain` waits until everything queued so far is stored, so the caller's first turn
    lands after the greeting in the transcript.
    """

    RETRY_SECONDS = 2.0

    def __init__(self, hub: HubClient, conversation_id: str) -> None:
        self.hub = hub
        self.conversation_id = conversation_id
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self.stored = 0
        self.state: dict[str, Any] = {}  # the hub's answer to the last stored event (mode, agent)
        self.on_state: Any = None  # called with that answer

    def post(self, kind: str, **fields: Any) -> None:
        self._queue.put_nowait((kind, {"event_id": f"{self.conversation_id[-40:]}-{next(self._ids)}", **fields}))
        if self._task is None:
            self._task = asyncio.create_task(self._work())

    async def _work(self) -> None:
        while True:
            kind, fields = await self._queue.get()
            while True:
                try:
                    self.state = await self.hub.voice_event(self.conversation_id, kind, **fields)
                    self.stored += 1
                    if self.on_state is not None:
                        self.on_state(self.state)
                    break
                except HubRejected as exc:
                    log.error("[%s] hub refused %s event: %s", self.conversation_id, kind, exc)
                    break
                except HubError as exc:
                    log.warning("[%s] %s event not stored yet: %s", self.conversation_id, kind, exc)
                    await asyncio.sleep(self.RETRY_SECONDS)
            self._queue.task_done()

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued event is stored; False if that takes longer than `timeout`."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
            return True
        except TimeoutError:
            return False

    async def close(self, timeout: float = 5.0) -> None:
        await self.drain(timeout)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
