"""Intake: start the form, validate every message, ask each question, read back, file."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ActiveLoop,
    EventType,
    FollowupAction,
    SessionStarted,
    SlotSet,
)
from rasa_sdk.executor import CollectingDispatcher

from actions import api_client, outbox
from actions.intake_logic import DEMAND_INTENTS, Turn, next_slot, process
from actions.report import (
    DEMAND_LABELS,
    REPORT_SLOTS,
    address_citizen,
    build_payload,
    filed_message,
    idempotency_key,
    read_back,
)
from actions.validation_base import CappedFailuresFormValidationAction, ProcessResult
from bot.numbers import parse_phone, phone_for_speech
from bot.screening import screen

logger = logging.getLogger(__name__)

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
)


def _metadata_slots(tracker: Tracker) -> list[EventType]:
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


def _ranking(tracker: Tracker) -> list[tuple]:
    ranking = tracker.latest_message.get("intent_ranking") or []
    return [(r.get("name"), float(r.get("confidence") or 0.0)) for r in ranking if isinstance(r, dict)]


def _intent(tracker: Tracker) -> tuple[str | None, float]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


RISK_MESSAGE = "您说的情况我们非常重视，已经请人工坐席马上接手，请您稍等。如果有人有生命危险，请立即拨打110或120。"


async def _screen(tracker: Tracker) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Emergency advice (once per kind) and a risk handoff (once), before anything else."""
    result = screen(tracker.latest_message.get("text") or "")
    done: list[str] = list(tracker.get_slot("screening") or [])
    messages: list[dict[str, Any]] = []
    for advice in result.emergency_advice:
        if advice not in done:
            messages.append({"text": advice})
            done.append(advice)
    for kind, advice in zip(result.channels, result.channel_advice, strict=True):
        if kind not in done:  # litigation / arbitration / petition: the channel that handles it
            messages.append({"text": advice})
            done.append(kind)
    if result.risk and "risk" not in done:
        done.append("risk")
        note = "风险研判：" + (tracker.latest_message.get("text") or "")[:300]
        try:
            await api_client.request_handoff(tracker.sender_id, "risk", note)
            messages.append({"text": RISK_MESSAGE})
        except (api_client.ApiUnavailable, api_client.ApiRejected):
            logger.exception("risk handoff failed")
            messages.append({"text": "您说的情况我们非常重视。如果有人有生命危险，请立即拨打110或120。"})
    if not messages:
        return [], {}
    return messages, {"screening": done}


class ActionSessionStart(Action):
    """Keep the channel and caller number the hub sends with the first message."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        meta = tracker.get_slot("session_started_metadata") or {}
        if isinstance(meta, dict):
            if meta.get("channel") in ("chat", "voice"):
                events.append(SlotSet("channel", meta["channel"]))
            parsed = parse_phone(str(meta.get("caller_number") or ""))
            if parsed and parsed.value:
                events.append(SlotSet("caller_number", parsed.value))
        events.append(ActionExecuted("action_listen"))
        return events


class ActionStartIntake(Action):
    """A citizen raised a matter: start a fresh report with what the first message says."""

    def name(self) -> str:
        return "action_start_intake"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        events: list[EventType] = [*_metadata_slots(tracker), SlotSet("confirm_pending", None)]
        if tracker.get_slot("faq_answered"):
            events.append(SlotSet("faq_answered", None))  # an earlier FAQ answer is behind us
        if tracker.get_slot("ticket_no") or tracker.get_slot("ticket_pending"):
            # A second matter in the same conversation: forget the first report.
            events += [SlotSet(slot, None) for slot in RESET_SLOTS]
        intent, confidence = _intent(tracker)
        if intent in DEMAND_INTENTS and confidence >= 0.4:
            events.append(SlotSet("demand_type", intent))
        return events


class ValidateIntakeForm(CappedFailuresFormValidationAction):
    def name(self) -> str:
        return "validate_intake_form"

    def next_requested_slot_name(self, slots: dict[str, Any]) -> str | None:
        return next_slot(slots)

    async def process_message(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> ProcessResult:
        intent, confidence = _intent(tracker)
        requested = tracker.get_slot("requested_slot")
        # requested_slot is only empty on the message that starts the form.
        activating = not requested
        text = tracker.latest_message.get("text") or ""
        meta_events = _metadata_slots(tracker)
        pending = tracker.get_slot("pending_text")
        if activating and pending:
            meta_events.append(SlotSet("pending_text", None))
            if text.startswith("/") or intent == "affirm":
                # A confirmed guess ("是" / "不是，我是想举报"): the form starts from the unclear
                # message itself, with the type the citizen chose.
                text = pending
                intent = tracker.get_slot("demand_type") or (intent if intent in DEMAND_INTENTS else None)
                confidence = 1.0
        slots = dict(tracker.slots)
        for event in meta_events:
            slots[event["name"]] = event["value"]
        outcome = process(
            Turn(
                text=text,
                intent=intent,
                confidence=confidence,
                requested_slot=None if activating else requested,
                slots=slots,
                caller_number=slots.get("caller_number"),
                activating=activating,
                ranking=_ranking(tracker),
            )
        )
        screening_messages, screening_updates = await _screen(tracker)
        if outcome.skip and not screening_messages:
            return ProcessResult(skip=True)
        updates = {e["name"]: e["value"] for e in meta_events}
        updates.update(screening_updates)
        if outcome.skip:  # the safety message must be said; the form then asks its question again
            return ProcessResult(updates=updates, messages=screening_messages)
        updates.update(outcome.updates)
        return ProcessResult(
            updates=updates,
            messages=screening_messages + outcome.messages,
            failed=outcome.failed,
            reason=outcome.reason,
        )


class ActionAskDescription(Action):
    def name(self) -> str:
        return "action_ask_description"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dtype = tracker.get_slot("demand_type")
        if dtype == "consultation":
            text = "好的，您想咨询什么问题？请具体说一下。"
        elif dtype == "suggestion":
            text = "好的，您有什么建议？请具体说一下。"
        elif dtype == "praise":
            text = "好的，您想表扬哪个单位或者哪位工作人员？是因为什么事情呢？"
        elif dtype in DEMAND_LABELS:
            text = f"好的，您要{DEMAND_LABELS[dtype]}什么事情？请具体说一下是什么情况。"
        else:
            text = "请您具体说一下遇到了什么情况。"
        dispatcher.utter_message(text=text)
        return []


class ActionAskLocation(Action):
    def name(self) -> str:
        return "action_ask_location"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("demand_type") in ("consultation", "suggestion", "praise"):
            text = "这件事涉及哪个镇（街道）、哪个村或小区？如果不涉及具体地点，说“没有”就可以。"
        else:
            text = "请问这个事情发生在什么地方？麻烦说到哪个镇（街道）、哪个村或小区，哪条路。"
        dispatcher.utter_message(text=text)
        return []


class ActionAskLocationDetail(Action):
    def name(self) -> str:
        return "action_ask_location_detail"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        town = tracker.get_slot("location_town") or ""
        dispatcher.utter_message(
            text=f"具体是在{town}哪个村（社区）或小区、哪条路呢？门牌号知道的话也说一下，不清楚也没关系。"
        )
        return []


class ActionAskPhone(Action):
    """On the phone line we already have the caller's number: offer it instead of asking."""

    def name(self) -> str:
        return "action_ask_phone"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        caller = tracker.get_slot("caller_number")
        failures = (tracker.get_slot("failed_attempts") or {}).get("phone", 0)
        if caller and tracker.get_slot("phone_use_caller") is None:
            dispatcher.utter_message(
                text=f"处理结果要联系您，就用您现在这个号码（{phone_for_speech(caller)}）联系吗？",
                buttons=[
                    {"title": "就用这个号码", "payload": "/affirm"},
                    {"title": "换一个号码", "payload": "/deny"},
                ],
            )
        elif failures:
            dispatcher.utter_message(text="麻烦您再说一下联系电话，手机号或者带区号的座机都可以。")
        else:
            who = address_citizen(tracker.get_slot("citizen_name"))
            dispatcher.utter_message(
                text=f"{'' if who == '您' else who + '，'}请留一个联系电话，方便承办部门给您回复。"
            )
        return []


class ActionAskConfidential(Action):
    def name(self) -> str:
        return "action_ask_confidential"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("demand_type") in ("complaint", "report"):
            text = "您的个人信息需要对被反映的一方保密吗？"
        else:
            text = "您的姓名和电话需要保密吗？需要的话只有承办部门能看到。"
        dispatcher.utter_message(
            text=text,
            buttons=[
                {"title": "需要保密", "payload": "需要保密"},
                {"title": "不用保密", "payload": "不用保密"},
            ],
        )
        return []


class ActionAskReportConfirmed(Action):
    """The read-back, with the two buttons."""

    def name(self) -> str:
        return "action_ask_report_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        slots = dict(tracker.slots)
        events: list[EventType] = []
        if not slots.get("demand_type"):
            # No demand intent seen yet: questions are consultations, the rest complaints;
            # the read-back shows it so the citizen can correct it.
            text = slots.get("description") or ""
            guess = (
                "consultation"
                if any(w in text for w in ("吗", "怎么", "如何", "？", "?", "能不能", "可不可以"))
                else "complaint"
            )
            slots["demand_type"] = guess
            events.append(SlotSet("demand_type", guess))
        dispatcher.utter_message(
            text=read_back(slots),
            buttons=[
                {"title": "确认提交", "payload": "/affirm"},
                {"title": "我要修改", "payload": "/correct"},
            ],
        )
        return events


async def submit_report(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """File the confirmed report; if the API is down, queue it in the outbox."""
    slots = dict(tracker.slots)
    channel = slots.get("channel") or "chat"
    payload = build_payload(slots, conversation_id=tracker.sender_id, channel=channel)
    key = idempotency_key(payload)
    try:
        filed = await api_client.file_ticket(payload, key)
    except api_client.ApiUnavailable as exc:
        logger.warning("API unavailable, queueing ticket %s: %s", key, exc)
        outbox.default_outbox().add(key, payload)
        outbox.ensure_worker()
        where = "短信告知您" if channel == "voice" else "发到这个对话里"
        dispatcher.utter_message(
            text=(
                "系统暂时连不上，您反映的情况我已经完整记下了，系统恢复后会自动为您登记，"
                f"工单号会{where}。给您添麻烦了。"
            )
        )
        return [SlotSet("ticket_pending", True)]
    except api_client.ApiRejected as exc:
        logger.error("API rejected ticket %s: %s", key, exc)
        dispatcher.utter_message(text="不好意思，登记的时候系统没有受理，我帮您转人工客服处理，请稍等。")
        try:
            await api_client.request_handoff(tracker.sender_id, "form_failures", f"工单提交被拒绝：{exc.detail}")
        except (api_client.ApiUnavailable, api_client.ApiRejected):
            logger.exception("handoff after rejected ticket failed")
        return []
    dispatcher.utter_message(text=filed_message(filed.data, replay=filed.replay))
    if slots.get("callback_requested") and not filed.replay:
        await _request_callback(dispatcher, tracker.sender_id, payload, filed.ticket_no)
    if not filed.replay:
        dispatcher.utter_message(text="请问还有其他需要帮您的吗？")
    return [SlotSet("ticket_no", filed.ticket_no), SlotSet("ticket_pending", None)]


async def _request_callback(
    dispatcher: CollectingDispatcher, conversation_id: str, payload: dict[str, Any], ticket_no: str
) -> None:
    try:
        await api_client.request_callback(conversation_id, payload["phone"], f"工单{ticket_no}，市民下班时间要求人工回电")
    except (api_client.ApiUnavailable, api_client.ApiRejected) as exc:
        logger.error("callback request for %s failed: %s", ticket_no, exc)
        dispatcher.utter_message(text="回电登记暂时没成功，不过工单已经登记好了，承办部门会按这个号码联系您。")
        return
    dispatcher.utter_message(text="回电也帮您登记好了，工作人员上班后会第一时间给您打电话。")


class ActionSubmitTicket(Action):
    def name(self) -> str:
        return "action_submit_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if not tracker.get_slot("description") or not tracker.get_slot("phone"):
            dispatcher.utter_message(text="还有什么需要帮您的吗？")
            return []
        return await submit_report(dispatcher, tracker)


class ActionAfterFiled(Action):
    """ "确认提交" clicked again after filing: the same report again (same key, same ticket);
    a correction after filing goes to a human; anything else: move on."""

    def name(self) -> str:
        return "action_after_filed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = (tracker.latest_message.get("text") or "").strip()
        intent, _ = _intent(tracker)
        filed = tracker.get_slot("ticket_no") or tracker.get_slot("ticket_pending")
        if filed and intent == "correct":
            dispatcher.utter_message(
                text="工单已经提交了，这里不能直接改。需要更正的话，说“转人工”，接线员帮您在工单上补充说明。"
            )
            return []
        if filed and text in ("/affirm", "确认提交", "确认", "提交") and tracker.get_slot("description"):
            return await submit_report(dispatcher, tracker)
        dispatcher.utter_message(text="好的。还有其他需要帮您的，直接跟我说就行。")
        return []


class ActionStopIntake(Action):
    """ "算了不说了": stop politely, nothing is filed."""

    def name(self) -> str:
        return "action_stop_intake"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        in_form = tracker.active_loop.get("name") == "intake_form" or tracker.get_slot("description")
        if in_form and not tracker.get_slot("ticket_no"):
            dispatcher.utter_message(
                text="好的，那这次就先不登记了。您以后有需要，随时拨打12345或者在这里留言，我们随时为您服务。"
            )
        else:
            dispatcher.utter_message(text="好的，有需要随时找我们，祝您生活愉快。")
        events: list[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None)]
        if not tracker.get_slot("ticket_no"):
            events += [SlotSet(slot, None) for slot in RESET_SLOTS]
        return events


class ActionResumeAfterAgent(Action):
    """The agent handed the conversation back: continue the report where it stopped."""

    def name(self) -> str:
        return "action_resume_after_agent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("description") and not tracker.get_slot("ticket_no"):
            return [FollowupAction("intake_form")]
        dispatcher.utter_message(text="请问还有什么可以帮您？")
        return []
