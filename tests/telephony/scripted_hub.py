"""A stand-in for the hub (api/) in telephony tests: a real HTTP server with a scripted dialogue.

It implements the hub contract the gateway relies on — service-token auth, voice channel,
conversation ids, replies with buttons, modes, close reasons — and records every request, so
telephony tests do not depend on the API or Rasa being up. It is not the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_args

from aiohttp import web

from api.conversations.schemas import CloseIn

CONV_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
Step = Callable[[str], dict[str, Any]]
VOICE_EVENT_KINDS = ("call_started", "prompt", "silence", "keypad", "silent_caller", "callback")
CLOSE_REASONS = get_args(CloseIn.model_fields["reason"].annotation)  # what the real hub accepts


def reply(text: str, *, buttons: list[tuple[str, str]] | None = None, mode: str = "bot",
          handoff: bool = False) -> dict[str, Any]:
    return {
        "replies": [{"text": text, "buttons": [{"title": t, "payload": p} for t, p in buttons or []]}],
        "mode": mode,
        "handoff_requested": handoff,
    }


@dataclass
class ScriptedHub:
    """`script` answers message n with script[n](text); past the end it repeats the last step."""

    script: list[Step]
    token: str = "test-service-token"
    messages: list[dict[str, Any]] = field(default_factory=list)
    closes: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # voice-events (line events), first of each id
    queue_position: int = 1
    mode: str = "bot"  # what voice-events answer (an agent's takeover shows here)
    delay: float = 0.0
    port: int = 0
    _runner: web.AppRunner | None = None
    _turn: dict[str, int] = field(default_factory=dict)
    changed: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.changed = asyncio.Event()
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_post("/api/v1/conversations/{cid}/messages", self._message)
        app.router.add_post("/api/v1/conversations/{cid}/close", self._close)
        app.router.add_post("/api/v1/conversations/{cid}/voice-events", self._voice_event)
        app.router.add_get("/api/v1/conversations/{cid}/queue", self._queue)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    def _auth(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _message(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        body = await request.json()
        if not self._auth(request):
            self.rejected.append("auth")
            return web.json_response({"detail": "voice channel needs the service token"}, status=403)
        if not CONV_ID.match(cid) or body.get("channel") != "voice" or not isinstance(body.get("text"), str):
            self.rejected.append(f"bad request {cid} {body}")
            return web.json_response({"detail": "bad request"}, status=422)
        if self.delay:
            await asyncio.sleep(self.delay)
        n = self._turn.get(cid, 0)
        self._turn[cid] = n + 1
        self.messages.append({"conversation_id": cid, **body})
        step = self.script[min(n, len(self.script) - 1)]
        out = {"conversation_id": cid, **step(body["text"])}
        assert self.changed is not None
        self.changed.set()
        return web.json_response(out)

    async def _voice_event(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        body = await request.json()
        if not self._auth(request):
            self.rejected.append("auth")
            return web.json_response({"detail": "forbidden"}, status=403)
        if not CONV_ID.match(cid) or not body.get("event_id") or body.get("kind") not in VOICE_EVENT_KINDS:
            self.rejected.append(f"bad voice event {cid} {body}")
            return web.json_response({"detail": "bad voice event"}, status=422)
        known = {e["event_id"] for e in self.events if e["conversation_id"] == cid}
        if body["event_id"] not in known:
            self.events.append({"conversation_id": cid, **body})
        assert self.changed is not None
        self.changed.set()
        return web.json_response({"conversation_id": cid, "mode": self.mode, "handoff_requested": False,
                                  "assigned_agent": None, "recorded": body["event_id"] not in known}, status=201)

    async def _queue(self, request: web.Request) -> web.Response:
        if not self._auth(request):
            return web.json_response({"detail": "forbidden"}, status=403)
        return web.json_response({"conversation_id": request.match_info["cid"], "mode": self.mode, "waiting": True,
                                  "position": self.queue_position, "queue_length": self.queue_position,
                                  "agents_available": True})

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]

    async def _close(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        body = await request.json()
        if not self._auth(request):
            self.rejected.append("auth")
            return web.json_response({"detail": "forbidden"}, status=403)
        if body.get("reason") not in CLOSE_REASONS:
            self.rejected.append(f"bad close {body}")
            return web.json_response({"detail": "bad reason"}, status=422)
        self.closes.append({"conversation_id": cid, **body})
        assert self.changed is not None
        self.changed.set()
        return web.json_response({"conversation_id": cid, "mode": "closed"})

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait (event-driven, with a deadline) until `predicate()` holds."""
        assert self.changed is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"hub never saw the expected exchange; messages={self.messages} closes={self.closes}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.5))
