"""Ticket status and 催办: the ticket number plus the last four digits of the phone, then the
status in plain words (and the department's reply), or an urge recorded on the ticket.

A wrong phone is answered exactly like an unknown ticket number: nothing about the ticket is
said. The API does the checking (and throttles guessing); the bot only collects the two facts.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import api_client
from actions.tracker_reads import intent_of, metadata_slots
from actions.validation_base import CappedFailuresFormValidationAction, ProcessResult
from bot.numbers import extract_ticket_numbers, normalize_digits, parse_phone

logger = logging.getLogger(__name__)

STATUS_SLOTS = ("lookup_ticket_no", "phone_last4")
URGE_WORDS = re.compile(r"(催一下|催催|催办|催促|帮我催|给我催|加急|快点办|抓紧办|怎么还没|还没处理|还没人管|还没有人管)")
SKIP_INTENTS = ("stop", "human_handoff")
NOT_FOUND = "没有查到与这个工单号和电话后四位相符的工单。请您核对一下工单号，以及登记时留的电话号码。"
UNAVAILABLE = "不好意思，系统暂时查不了，请稍后再试，或者直接拨打12345由人工帮您查询。"
TOO_MANY = "这个工单号查询失败的次数太多了，为了保护您的信息，请过一会儿再查，或者拨打12345由人工帮您查询。"
URGE_BUTTONS = [
    {"title": "帮我催一下", "payload": "/urge"},
    {"title": "不用了", "payload": "/deny"},
]


@dataclass
class StatusTurn:
    updates: dict[str, Any] = field(default_factory=dict)
    failed: str | None = None
    reason: str | None = None


def last4_from(text: str, ticket_spans: list[tuple[int, int]] | None = None) -> str | None:
    """The last four digits of a phone: "5678", "尾号五六七八", or a whole number (its last four)."""
    plain = normalize_digits(text or "")
    for start, end in sorted(ticket_spans or [], reverse=True):
        plain = plain[:start] + " " + plain[end:]
    phone = parse_phone(plain)
    if phone and phone.value:
        return phone.value[-4:]
    runs = re.findall(r"(?<!\d)\d{4}(?!\d)", plain)
    return runs[-1] if runs else None


def read_status_turn(text: str, requested: str | None, slots: dict[str, Any]) -> StatusTurn:
    """Fill the ticket number and/or the last four digits from one message."""
    out = StatusTurn()
    plain = normalize_digits(text or "")
    tickets = extract_ticket_numbers(text or "")
    if tickets and tickets[0]["value"] != slots.get("lookup_ticket_no"):
        out.updates["lookup_ticket_no"] = tickets[0]["value"]
        if slots.get("phone_last4") and requested != "phone_last4":
            out.updates["phone_last4"] = None  # another ticket: its own phone is asked again
    spans = [(t["start"], t["end"]) for t in extract_ticket_numbers(plain)]
    if requested == "phone_last4" or tickets or re.search(r"(尾号|后四位|后4位|手机|电话)", text or ""):
        last4 = last4_from(text, spans)
        if last4:
            out.updates["phone_last4"] = last4
    if requested == "lookup_ticket_no" and "lookup_ticket_no" not in out.updates:
        out.failed, out.reason = (
            requested,
            "工单号我没有对上。工单号是“JH”加日期和编号，比如JH20261127-0001，登记成功时发给您的消息里有",
        )
    elif requested == "phone_last4" and not out.updates.get("phone_last4"):
        out.failed, out.reason = requested, "这里需要登记时留的电话号码的最后四位数字，比如“5678”"
    return out


def status_message(body: dict[str, Any]) -> str:
    parts = [f"工单{body['ticket_no']}：{body['status_text']}"]
    if body.get("reply_text"):
        parts.append(f"{body.get('department') or '承办部门'}的答复是：{body['reply_text']}")
    return "\n".join(parts)


class ActionStartStatus(Action):
    """进度查询 or 催办: remember which, take what the first message already says."""

    def name(self) -> str:
        return "action_start_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent, _ = intent_of(tracker)
        text = tracker.latest_message.get("text") or ""
        goal = "urge" if intent == "urge" or URGE_WORDS.search(text) else "status"
        events: list[EventType] = [*metadata_slots(tracker), SlotSet("status_goal", goal), SlotSet("confirm_pending", None)]
        if tracker.get_slot("faq_answered"):
            events.append(SlotSet("faq_answered", None))
        slots = dict(tracker.slots)
        if not slots.get("lookup_ticket_no") and slots.get("ticket_no"):
            # "我刚才登记的那个": the ticket filed in this conversation, with the phone given for it.
            slots["lookup_ticket_no"] = slots["ticket_no"]
            events.append(SlotSet("lookup_ticket_no", slots["ticket_no"]))
            if slots.get("phone") and not slots.get("phone_last4"):
                slots["phone_last4"] = str(slots["phone"])[-4:]
                events.append(SlotSet("phone_last4", slots["phone_last4"]))
        if not text.startswith("/"):
            if goal == "urge":
                events.append(SlotSet("urge_note", text[:300]))
            turn = read_status_turn(text, None, slots)
            events += [SlotSet(k, v) for k, v in turn.updates.items()]
        return events


class ValidateStatusForm(CappedFailuresFormValidationAction):
    def name(self) -> str:
        return "validate_status_form"

    def next_requested_slot_name(self, slots: dict[str, Any]) -> str | None:
        return next((s for s in STATUS_SLOTS if not slots.get(s)), None)

    async def process_message(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> ProcessResult:
        intent, _ = intent_of(tracker)
        text = tracker.latest_message.get("text") or ""
        requested = tracker.get_slot("requested_slot")
        if not requested:
            return ProcessResult()  # activation: action_start_status already read the message
        if intent in SKIP_INTENTS and not re.search(r"\d", normalize_digits(text)):
            return ProcessResult(skip=True)
        turn = read_status_turn(text, requested, dict(tracker.slots))
        return ProcessResult(updates=turn.updates, failed=turn.failed, reason=turn.reason)


class ActionTicketStatus(Action):
    """Ask the API; say the status (or record the urge); a refusal reveals nothing."""

    def name(self) -> str:
        return "action_ticket_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ticket_no = tracker.get_slot("lookup_ticket_no")
        last4 = tracker.get_slot("phone_last4")
        goal = tracker.get_slot("status_goal") or "status"
        if not ticket_no or not last4:
            dispatcher.utter_message(text="请告诉我工单号和登记电话的后四位，我帮您查。")
            return []
        forget = [SlotSet(s, None) for s in STATUS_SLOTS] + [SlotSet("status_verified", False)]
        try:
            if goal == "urge":
                text = tracker.get_slot("urge_note") or ""
                body = await api_client.urge_ticket(ticket_no, last4, text or None, tracker.get_slot("channel"))
            else:
                body = await api_client.ticket_status(ticket_no, last4)
        except api_client.ApiRejected as exc:
            if exc.status_code == 429:
                dispatcher.utter_message(text=TOO_MANY)
            else:
                dispatcher.utter_message(text=NOT_FOUND)
            return forget
        except api_client.ApiUnavailable as exc:
            logger.error("status lookup failed: %s", exc)
            dispatcher.utter_message(text=UNAVAILABLE)
            return [SlotSet("status_verified", False)]
        done = [SlotSet("status_verified", True), SlotSet("status_goal", None), SlotSet("urge_note", None)]
        if goal == "urge":
            status = body["status"]
            if not body.get("recorded"):
                dispatcher.utter_message(
                    text=f"{status_message(status)}\n这张工单已经办结，不能再催办了。"
                    "如果对办理结果不满意，或者事情又出现了，可以跟我说说情况，我帮您重新登记。"
                )
                return done
            who = body.get("notified") or "承办部门"
            dispatcher.utter_message(
                text=f"已经帮您催办了，这是这张工单第{body['urge_count']}次催办，{who}会收到催办通知，尽快办理答复。\n"
                f"{status_message(status)}"
            )
            return done
        if body.get("closed"):
            dispatcher.utter_message(text=status_message(body))
        else:
            dispatcher.utter_message(
                text=f"{status_message(body)}\n如果觉得办得太慢，我可以帮您催一下。", buttons=URGE_BUTTONS
            )
        return done
