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


async def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any]) -> bool:
    """Ask the hub for a person and tell the citizen plainly who is there; False when it failed."""
    reason = slots.get("handoff_reason")
    if reason not in REASONS:
        reason = "citizen_request"
    try:
        answer = await api_client.request_handoff(tracker.sender_id, reason, handoff_note(slots))
    except (api_client.ApiUnavailable, api_client.ApiRejected) as exc:
        logger.error("handoff request failed: %s", exc)
        dispatcher.utter_message(
            text="不好意思，人工客服暂时转不过去。您可以直接拨打12345热线找接线员，也可以继续跟我说，我帮您登记。"
        )
        return False
    if answer.get("agents_available") is False:
        # Nobody on duty: say when colleagues are back and offer a callback instead of a wait.
        dispatcher.utter_message(text=after_hours_text(answer.get("agents_back_text")), buttons=CALLBACK_BUTTONS)
    else:
        dispatcher.utter_message(text="好的，正在为您转接人工客服，请稍等。您刚才说的内容接线员都能看到，不用再重复。")
    return True


class ActionHumanHandoff(Action):
    def name(self) -> str:
        return "action_human_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if not await hand_over(dispatcher, tracker, dict(tracker.slots)):
            events: list[EventType] = [SlotSet("handoff_reason", None)]
            if tracker.active_loop.get("name"):
                # Carry on with the report where it was.
                events.append(FollowupAction(tracker.active_loop["name"]))
            return events
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("handoff_reason", None)]


CALLBACK_BUTTONS = [
    {"title": "需要回电", "payload": "/request_callback"},
    {"title": "不用了", "payload": "/decline_callback"},
]


def after_hours_text(back: str | None) -> str:
    when = f"人工坐席{back}上班" if back else "人工坐席上班后"
    return (
        f"现在是下班时间，{when}。您的情况我可以先帮您登记下来，"
        "再请工作人员上班后第一时间给您回电话。需要给您回电吗？"
    )


class ActionRequestCallback(Action):
    """The citizen wants a call back: note it, then make sure we have the matter and a number."""

    def name(self) -> str:
        return "action_request_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ticket_no = tracker.get_slot("ticket_no")
        phone = tracker.get_slot("phone")
        if ticket_no and phone:  # already filed: only the callback is missing
            try:
                await api_client.request_callback(tracker.sender_id, phone, f"工单{ticket_no}，市民下班时间要求人工回电")
            except (api_client.ApiUnavailable, api_client.ApiRejected) as exc:
                logger.error("callback request failed: %s", exc)
                dispatcher.utter_message(text="不好意思，回电登记暂时没成功。您也可以在上班时间直接拨打12345。")
                return []
            dispatcher.utter_message(text=f"好的，已经帮您登记了回电，工作人员上班后会打{phone}这个号码联系您。")
            return [SlotSet("callback_requested", True)]
        dispatcher.utter_message(text="好的，我先把您的情况和联系电话记下来，工作人员上班后第一时间给您回电。")
        return [SlotSet("callback_requested", True), FollowupAction("intake_form")]


class ActionDeclineCallback(Action):
    def name(self) -> str:
        return "action_decline_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("description") and not tracker.get_slot("ticket_no"):
            dispatcher.utter_message(text="好的，那我接着帮您把情况登记下来。")
            return [SlotSet("callback_requested", False), FollowupAction("intake_form")]
        dispatcher.utter_message(text="好的。您有什么需要，随时跟我说就行。")
        return [SlotSet("callback_requested", False)]
