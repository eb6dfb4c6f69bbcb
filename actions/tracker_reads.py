"""What the tracker says about the turn at hand (intent, ranking, the hub's metadata) and the slot reset
for a new matter: read by the intake form, the FAQ, triage and status actions alike, so it sits below them."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.report import REPORT_SLOTS
from bot.numbers import parse_phone

# Slots reset when a new matter starts in the same conversation.
RESET_SLOTS = (
    *REPORT_SLOTS,
    "phone_use_caller",
    "report_confirmed",
    "correction_pending",
    "failed_attempts",
    "handoff_reason",
    "ticket_no",
    "ticket_pending",
    "screening",
    "form_exit",
    "emergency",
    "urgency",
    "risk",
    "risk_kind",
    "asked",
    "help_advised",
)


def new_matter_events(slots: dict[str, Any]) -> list[EventType]:
    """A new matter after a filed one: fresh report slots, the citizen's name and phone kept aside."""
    events: list[EventType] = [SlotSet(slot, None) for slot in RESET_SLOTS]
    contact = {k: slots.get(k) for k in ("citizen_name", "phone") if slots.get(k) and slots.get(k) not in ("匿名", "不留")}
    if contact:
        events.append(SlotSet("previous_contact", contact))
    return events


def metadata_slots(tracker: Tracker) -> list[EventType]:
    """channel / caller_number from the hub's metadata (it rides on the message that has it)."""
    meta = tracker.latest_message.get("metadata") or {}
    if not isinstance(meta, dict):
        return []
    events: list[EventType] = []
    channel = meta.get("channel")
    if channel in ("chat", "voice") and tracker.get_slot("channel") != channel:
        events.append(SlotSet("channel", channel))
    caller = meta.get("caller_number")
    if caller:
        parsed = parse_phone(str(caller))
        value = parsed.value if parsed and parsed.value else None
        if value and tracker.get_slot("caller_number") != value:
            events.append(SlotSet("caller_number", value))
    return events


def intent_ranking(tracker: Tracker) -> list[tuple]:
    ranking = tracker.latest_message.get("intent_ranking") or []
    return [(r.get("name"), float(r.get("confidence") or 0.0)) for r in ranking if isinstance(r, dict)]


def intent_of(tracker: Tracker) -> tuple[str | None, float]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)
