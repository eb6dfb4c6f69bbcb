"""Talks to the Rasa server: REST channel for messages, HTTP API (token) for the tracker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from api.core.settings import get_settings


class RasaUnavailable(Exception):
    """Rasa could not be reached or answered with a server error."""


@dataclass
class BotReply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


def _client() -> httpx.Client:
    settings = get_settings()
    return httpx.Client(base_url=settings.rasa_url, timeout=settings.rasa_timeout_seconds)


class RasaNotReached(RasaUnavailable):
    """The connection itself failed: Rasa certainly did not get the message (safe to send again)."""


def send(*, sender: str, message: str, metadata: dict[str, Any]) -> list[BotReply]:
    try:
        with _client() as client:
            response = client.post(
                "/webhooks/rest/webhook",
                json={"sender": sender, "message": message, "metadata": metadata},
            )
    except httpx.ConnectError as exc:
        raise RasaNotReached(str(exc)) from exc
    except httpx.HTTPError as exc:  # e.g. a timeout: Rasa may have processed the turn
        raise RasaUnavailable(str(exc)) from exc
    if response.status_code >= 500 or response.status_code in (404, 503):
        raise RasaUnavailable(f"Rasa answered {response.status_code}")
    response.raise_for_status()
    return _replies(response.json())


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


def trigger_intent(*, sender: str, intent: str) -> list[BotReply]:
    """Inject an external intent (e.g. resume after an agent hands back) and return what the bot says."""
    settings = get_settings()
    try:
        with _client() as client:
            response = client.post(
                f"/conversations/{sender}/trigger_intent",
                params={"token": settings.rasa_token, "output_channel": "latest"},
                json={"name": intent, "entities": {}},
            )
    except httpx.HTTPError as exc:
        raise RasaUnavailable(str(exc)) from exc
    if response.status_code >= 500:
        raise RasaUnavailable(f"Rasa answered {response.status_code}")
    if response.status_code != 200:
        return []
    return _replies(response.json().get("messages") or [])


def tracker(sender: str) -> dict[str, Any] | None:
    """The tracker (slots, latest parse) or None when Rasa cannot tell us."""
    settings = get_settings()
    try:
        with _client() as client:
            response = client.get(
                f"/conversations/{sender}/tracker",
                params={"token": settings.rasa_token, "include_events": "NONE"},
            )
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


@dataclass
class RecoveredTurn:
    replies: list[BotReply]
    intent: str | None
    confidence: float | None


def recover_turn(*, sender: str, message_key: str) -> RecoveredTurn | None:
    """What Rasa answered to the user message sent with this key, or None if Rasa never got it.

    Raises RasaUnavailable when Rasa cannot tell (then nothing may be re-sent yet).
    """
    settings = get_settings()
    try:
        with _client() as client:
            response = client.get(f"/conversations/{sender}/tracker",
                                  params={"token": settings.rasa_token, "include_events": "ALL"})
    except httpx.HTTPError as exc:
        raise RasaUnavailable(str(exc)) from exc
    if response.status_code != 200:
        raise RasaUnavailable(f"Rasa answered {response.status_code} for the tracker")
    events = response.json().get("events") or []
    for index, event in enumerate(events):
        if event.get("event") == "user" and (event.get("metadata") or {}).get("message_key") == message_key:
            replies = []
            for later in events[index + 1:]:
                if later.get("event") == "user":
                    break
                if later.get("event") == "bot":
                    replies.extend(_replies([{"text": later.get("text"), "buttons": (later.get("data") or {}).get("buttons")}]))
            intent = (event.get("parse_data") or {}).get("intent") or {}
            confidence = intent.get("confidence")
            return RecoveredTurn(replies, intent.get("name"), float(confidence) if confidence is not None else None)
    return None


def latest_parse(tracker_json: dict[str, Any] | None) -> tuple[str | None, float | None]:
    if not tracker_json:
        return None, None
    intent = (tracker_json.get("latest_message") or {}).get("intent") or {}
    name = intent.get("name")
    confidence = intent.get("confidence")
    return name, float(confidence) if confidence is not None else None


def is_up() -> bool:
    try:
        with _client() as client:
            return client.get("/").status_code == 200
    except httpx.HTTPError:
        return False
