"""转人工: record the request on the conversation through the API and tell the citizen plainly."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import api_client
from actions.report import DEMAND_LABELS

logger = logging.getLogger(__name__)

REASONS = ("citizen_request", "form_failures", "risk", "low_confidence")


def handoff_note(slots: dict[str, Any]) -> str:
    """What the agent should see at once: what the citizen already said."""
    parts = []
    if slots.get("demand_type"):
        parts.append(f"类型：{DEMAND_LABELS.get(slots['demand_type'], slots['demand_type'])}")
    for key, label in (
        ("description", "诉求"),
        ("location", "地点"),
        ("incident_time", "时间"),
        ("citizen_name", "称呼"),
        ("phone", "电话"),
    ):
        if slots.get(key):
            parts.append(f"{label}：{slots[key]}")
    if slots.get("failed_attempts"):
        parts.append("多次未能识别：" + "、".join(slots["failed_attempts"].keys()))
    return "；".join(parts) or "市民要求转人工，尚未说明诉求"


class ActionHumanHandoff(Action):
    def name(self) -> str:
        return "action_human_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        reason = tracker.get_slot("handoff_reason")
        if reason not in REASONS:
            reason = "citizen_request"
        note = handoff_note(dict(tracker.slots))
        try:
            await api_client.request_handoff(tracker.sender_id, reason, note)
        except (api_client.ApiUnavailable, api_client.ApiRejected) as exc:
            logger.error("handoff request failed: %s", exc)
            dispatcher.utter_message(
                text="不好意思，人工客服暂时转不过去。您可以直接拨打12345热线找接线员，也可以继续跟我说，我帮您登记。"
            )
            events: list[EventType] = [SlotSet("handoff_reason", None)]
            if tracker.active_loop.get("name"):
                # Carry on with the report where it was.
                events.append(FollowupAction(tracker.active_loop["name"]))
            return events
        dispatcher.utter_message(text="好的，正在为您转接人工客服，请稍等。您刚才说的内容接线员都能看到，不用再重复。")
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("handoff_reason", None)]
