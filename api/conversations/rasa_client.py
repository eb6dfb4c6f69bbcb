"""Talks to Rasa: the hub's channel for turns (bot/channels.py), the HTTP API (token) for the tracker.

One pooled asynchronous client per event loop (one per API process in production): a turn waits on
a socket, not on a thread, while Rasa thinks. `use_client` swaps in another client (a test seam:
any httpx transport). Several replicas (settings.rasa_urls) share one tracker store and lock store,
so any of them serves any turn: turns go round the replicas, and one that refuses connections is
skipped for a while (the turn goes to the next; nothing was delivered).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import httpx

from api.core.settings import get_settings

T = TypeVar("T")
HUB_WEBHOOK = "/webhooks/hub/webhook"


class RasaUnavailable(Exception):
    """Rasa could not be reached or answered with a server error (the turn may have been processed)."""


class RasaNotReached(RasaUnavailable):
    """No replica took the connection: Rasa certainly did not get the message (safe to send again)."""


class RasaBusy(RasaNotReached):
    """Every slot towards Rasa stayed taken for rasa_queue_seconds: not sent, the citizen is asked to wait."""


@dataclass
class BotReply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Turn:
    """What one citizen message led to: the bot's replies and how the bot understood the message."""

    replies: list[BotReply]
    intent: str | None
    confidence: float | None
    slots: dict[str, Any] = field(default_factory=dict)


# ---- the pooled client and the in-flight limit, per event loop ----

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
_override: httpx.AsyncClient | None = None


def use_client(client: httpx.AsyncClient | None) -> None:
    """Send everything through this client (tests: a MockTransport or a proxy); None = the pooled default."""
    global _override
    _override = client


def _new_client() -> httpx.AsyncClient:
    settings = get_settings()
    per_replica = settings.rasa_max_in_flight + 4  # the turns plus the console's tracker reads
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.rasa_timeout_seconds, connect=settings.rasa_connect_timeout_seconds,
                              pool=settings.rasa_queue_seconds),
        limits=httpx.Limits(max_connections=per_replica * len(settings.rasa_replicas),
                            max_keepalive_connections=per_replica * len(settings.rasa_replicas),
                            keepalive_expiry=30),
    )


def client() -> httpx.AsyncClient:
    if _override is not None:
        return _override
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        _clients[loop] = _new_client()
    return _clients[loop]


async def aclose() -> None:
    """At shutdown: close this loop's pooled client."""
    loop = asyncio.get_running_loop()
    pooled = _clients.pop(loop, None)
    _slots.pop(loop, None)
    if pooled is not None:
        await pooled.aclose()


def _slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(get_settings().rasa_max_in_flight * len(get_settings().rasa_replicas))
    return _slots[loop]


def in_flight_free() -> int:
    """Slots towards Rasa not taken in this process (for /health-like views and the bench)."""
    slot = _slots.get(asyncio.get_running_loop())
    return slot._value if slot is not None else get_settings().rasa_max_in_flight  # noqa: SLF001


# ---- replicas ----

class Replicas:
    """Round robin over the configured replicas; one that refused a connection sits out a while."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._down_until: dict[str, float] = {}

    def order(self) -> list[str]:
        urls = get_settings().rasa_replicas
        start = next(self._counter) % len(urls)
        rotated = urls[start:] + urls[:start]
        now = time.monotonic()
        up = [u for u in rotated if self._down_until.get(u, 0) <= now]
        return up + [u for u in rotated if u not in up]  # all down: try them anyway, in order

    def mark_down(self, url: str) -> None:
        self._down_until[url] = time.monotonic() + get_settings().rasa_down_seconds

    def mark_up(self, url: str) -> None:
        self._down_until.pop(url, None)


replicas = Replicas()


async def _request(method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request to the first replica that takes the connection.

    Raises RasaNotReached when none did (certainly not delivered), RasaUnavailable when the request
    went out but no answer came (maybe delivered)."""
    last: Exception | None = None
    for base in replicas.order():
        try:
            response = await client().request(method, base + path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            replicas.mark_down(base)
            last = exc
            continue
        except httpx.PoolTimeout as exc:  # no connection free in the pool: nothing was sent
            raise RasaBusy(str(exc)) from exc
        except httpx.HTTPError as exc:  # a read timeout or a dropped connection: Rasa may have it
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from exc
        replicas.mark_up(base)
        return response
    raise RasaNotReached(str(last))


# ---- the calls ----

async def send(*, sender: str, message: str, metadata: dict[str, Any]) -> Turn:
    """One citizen message to Rasa: replies, intent, confidence and queue slots in one request."""
    settings = get_settings()
    slot = _slot()
    try:
        await asyncio.wait_for(slot.acquire(), settings.rasa_queue_seconds)
    except TimeoutError as exc:
        raise RasaBusy("no free slot towards Rasa") from exc
    try:
        response = await _request("POST", HUB_WEBHOOK,
                                  json={"sender": sender, "message": message, "metadata": metadata})
    finally:
        slot.release()
    if response.status_code >= 500 or response.status_code == 404:
        raise RasaUnavailable(f"Rasa answered {response.status_code}")
    response.raise_for_status()
    body = response.json()
    confidence = body.get("confidence")
    return Turn(_replies(body.get("messages") or []), body.get("intent"),
                float(confidence) if confidence is not None else None, body.get("slots") or {})


def _replies(items: list[dict[str, Any]]) -> list[BotReply]:
    """Rasa's bot messages as text + buttons (images and custom payloads are not relayed)."""
    replies = []
    for item in items:
        text = item.get("text") or ""
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))} for b in item.get("buttons") or []
        ]
        if text or buttons:
            replies.append(BotReply(text=text, buttons=buttons))
    return replies


async def trigger_intent(*, sender: str, intent: str) -> list[BotReply]:
    """Inject an external intent (e.g. resume after an agent hands back) and return what the bot says."""
    response = await _request(
        "POST", f"/conversations/{sender}/trigger_intent",
        params={"token": get_settings().rasa_token, "output_channel": "latest"},
        json={"name": intent, "entities": {}},
    )
    if response.status_code >= 500:
        raise RasaUnavailable(f"Rasa answered {response.status_code}")
    if response.status_code != 200:
        return []
    return _replies(response.json().get("messages") or [])


async def tracker(sender: str) -> dict[str, Any] | None:
    """The tracker (slots, latest parse) or None when Rasa cannot tell us."""
    try:
        response = await _request("GET", f"/conversations/{sender}/tracker",
                                  params={"token": get_settings().rasa_token, "include_events": "NONE"})
    except RasaUnavailable:
        return None
    return response.json() if response.status_code == 200 else None


async def recover_turn(*, sender: str, message_key: str) -> Turn | None:
    """What Rasa answered to the user message sent with this key, or None if Rasa never got it.

    Only after a failure (a timeout, a lost commit), so reading the whole tracker is acceptable here.
    Raises RasaUnavailable when Rasa cannot tell (then nothing may be re-sent yet).
    """
    response = await _request("GET", f"/conversations/{sender}/tracker",
                              params={"token": get_settings().rasa_token, "include_events": "ALL"})
    if response.status_code != 200:
        raise RasaUnavailable(f"Rasa answered {response.status_code} for the tracker")
    body = response.json()
    events = body.get("events") or []
    for index, event in enumerate(events):
        if event.get("event") == "user" and (event.get("metadata") or {}).get("message_key") == message_key:
            replies = []
            for later in events[index + 1:]:
                if later.get("event") == "user":
                    break
                if later.get("event") == "bot":
                    replies.extend(_replies([{"text": later.get("text"),
                                              "buttons": (later.get("data") or {}).get("buttons")}]))
            intent = (event.get("parse_data") or {}).get("intent") or {}
            confidence = intent.get("confidence")
            return Turn(replies, intent.get("name"), float(confidence) if confidence is not None else None,
                        body.get("slots") or {})
    return None


async def any_up() -> bool:
    try:
        return (await _request("GET", "/", timeout=2.0)).status_code == 200
    except RasaUnavailable:
        return False


def is_up() -> bool:
    """For /health (a blocking route): does any replica answer?"""
    return blocking(any_up)


def blocking(fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
    """Run one of the calls above from blocking code: the few staff paths that run in worker threads
    (closing a conversation, the console's draft, handing back, /health) use the loop's pooled client;
    a script or test outside any loop gets a short-lived one."""
    try:
        return anyio.from_thread.run(functools.partial(fn, *args, **kwargs))
    except anyio.NoEventLoopError:
        pass

    async def once() -> T:
        try:
            return await fn(*args, **kwargs)
        finally:
            await aclose()

    return anyio.run(once)
