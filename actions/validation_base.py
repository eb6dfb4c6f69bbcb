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
ASKED_SLOT = "asked"
# Slots a turn may set without answering anything (the question is then asked in other words).
QUIET_SLOTS = ("next_matter", "channel", "caller_number", "screening", "pending_text", "form_exit")
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
        following = None if result.end else self.next_requested_slot_name(slots)
        # How often the same question is asked in a row: the ask actions word it differently.
        asked: dict[str, int] = dict(slots.get(ASKED_SLOT) or {})
        # The same question again, its slot still empty: other words. (The read-back after a
        # correction is a new read-back, said in full.)
        progressed = any(
            tracker.get_slot(k) != v for k, v in result.updates.items() if k not in (FAILURES_SLOT, ASKED_SLOT, *QUIET_SLOTS)
        )
        if requested and following == requested and slots.get(requested) is None and not (
            requested == "report_confirmed" and progressed
        ):
            asked[requested] = asked.get(requested, 0) + 1
        elif requested:
            asked.pop(requested, None)
        updates[ASKED_SLOT] = asked
        events: list[EventType] = [SlotSet(k, v) for k, v in updates.items()]
        events.append(SlotSet("requested_slot", following))
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
        end: bool = False,
    ) -> None:
        self.updates = updates or {}
        self.messages = messages or []
        self.failed = failed
        self.reason = reason
        self.skip = skip
        self.end = end  # the form ends now (the citizen left, a person takes over…)
