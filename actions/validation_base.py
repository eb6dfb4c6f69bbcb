"""Form validation base that caps repeated failures per slot and then offers a human
(the pattern of RasaHQ/financial-demo's custom form validation).

Subclasses implement `process_message` returning the slot updates, messages and, when the
requested slot could not be filled, the reason. This base turns that into events: the reason
plus the question again; after MAX_FAILURES failures for the same slot, the reason plus an
offer of a human agent (button "转人工"), remembering `handoff_reason = form_failures`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

MAX_FAILURES = 2
FAILURES_SLOT = "failed_attempts"
HUMAN_OFFER = "如果不方便在这里说清楚，我可以帮您转人工客服，由接线员直接帮您登记。"


class CappedFailuresFormValidationAction(FormValidationAction):
    """Validation action with one pass over the message and a failure cap per slot."""

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    async def process_message(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> ProcessResult: ...

    @abstractmethod
    def next_requested_slot_name(self, slots: dict[str, Any]) -> str | None: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        result = await self.process_message(dispatcher, tracker, domain)
        if result.skip:
            # Nothing for the form in this message: the form rejects and rules answer it.
            return []
        updates = dict(result.updates)
        failures: dict[str, int] = dict(tracker.get_slot(FAILURES_SLOT) or {})
        requested = tracker.get_slot("requested_slot")
        for message in result.messages:
            dispatcher.utter_message(**message)
        if result.failed:
            reason = (result.reason or "不好意思，我没听明白").rstrip("，,。") + "。"
            count = failures.get(result.failed, 0) + 1
            failures[result.failed] = count
            if count >= MAX_FAILURES:
                dispatcher.utter_message(
                    text=f"{reason}{HUMAN_OFFER}",
                    buttons=[{"title": "转人工", "payload": "/human_handoff"}],
                )
                updates["handoff_reason"] = "form_failures"
            else:
                dispatcher.utter_message(text=reason)
        elif requested and requested in failures and updates.get(requested) is not None:
            failures.pop(requested)
        updates[FAILURES_SLOT] = failures
        slots = {**tracker.slots, **updates}
        events: list[EventType] = [SlotSet(k, v) for k, v in updates.items()]
        events.append(SlotSet("requested_slot", self.next_requested_slot_name(slots)))
        return events


class ProcessResult:
    """What `process_message` decided (kept small and explicit)."""

    def __init__(
        self,
        updates: dict[str, Any] | None = None,
        messages: list[dict[str, Any]] | None = None,
        failed: str | None = None,
        reason: str | None = None,
        skip: bool = False,
    ) -> None:
        self.updates = updates or {}
        self.messages = messages or []
        self.failed = failed
        self.reason = reason
        self.skip = skip
