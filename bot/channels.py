"""The hub's channel into Rasa: the bot's messages and the turn's understanding in one answer.

The back office (api/conversations/rasa_client.py) is Rasa's only client. Through the plain REST
channel it had to fetch the tracker after every message to learn the intent and confidence (a
second request per turn, holding a connection); this channel returns them beside the replies,
with the few slots the agents' queue shows. Registered in credentials.yml as
`bot.channels.HubInput`, served at /webhooks/hub/webhook.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)

# What the console's queue shows for a chat before a ticket exists (api/conversations/service.py).
QUEUE_SLOTS = ("location", "description", "demand_type")


class HubInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "hub"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hub = Blueprint("hub_webhook", __name__)

        @hub.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hub.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return response.json({"error": "sender and message (strings) are required"}, status=400)
            collector = CollectingOutputChannel()
            # Unlike the REST channel, a failure is a 500: the hub then asks the tracker what happened
            # instead of storing an empty answer.
            await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
            understanding = await _understanding(request.app.ctx.agent, sender, metadata.get("message_key"))
            return response.json({"messages": collector.messages, **understanding})

        return hub


async def _understanding(agent: Any, sender: str, message_key: str | None) -> dict[str, Any]:
    """Intent, confidence and queue slots of the turn just handled (read in-process, no HTTP)."""
    tracker = agent.tracker_store.retrieve(sender)
    if inspect.isawaitable(tracker):
        tracker = await tracker
    if tracker is None:
        return {"intent": None, "confidence": None, "slots": {}}
    # The user event sent with this key. Usually the latest, but an action may have reverted the
    # turn (UserUtteranceReverted puts the previous message back as latest): look back for it.
    uttered = tracker.latest_message
    if message_key and (uttered.metadata or {}).get("message_key") != message_key:
        uttered = next((e for e in reversed(tracker.events) if isinstance(e, UserUttered)
                        and (e.metadata or {}).get("message_key") == message_key), None)
        if uttered is None:
            log.warning("the user message %s is not in the tracker of %s", message_key, sender)
            return {"intent": None, "confidence": None, "slots": {}}
    intent = uttered.intent or {}
    confidence = intent.get("confidence")
    slots = {name: tracker.get_slot(name) for name in QUEUE_SLOTS if name in tracker.slots}
    return {"intent": intent.get("name"), "confidence": float(confidence) if confidence is not None else None,
            "slots": slots}
