"""Consultations answered from the county FAQ, then "这个回答解决您的问题了吗？"; 没解决 -> intake."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import api_client
from actions.tracker_reads import RESET_SLOTS, metadata_slots
from bot.parsing import clean_description

logger = logging.getLogger(__name__)

# Typed answers to "解决了吗": NLU hears "没解决" as affirm (the words are alike); these decide.
UNRESOLVED_RE = re.compile(
    r"(没解决|没有解决|没用|没有用|不对|不是|不清楚|不明白|没明白|没听明白|没懂|不懂|答非所问|不一样|还是不|没回答|没说清)"
)
RESOLVED_RE = re.compile(r"(解决了|清楚了|明白了|懂了|知道了|有用|有帮助|可以了|好的|谢谢|行了)")

RESOLVED_BUTTONS = [
    {"title": "解决了", "payload": "/faq_resolved"},
    {"title": "没解决", "payload": "/faq_unresolved"},
]


def question_text(tracker: Tracker) -> str:
    """The citizen's words: a button payload ("/consultation" after a confirmation) stands
    for the message that was being confirmed."""
    text = (tracker.latest_message.get("text") or "").strip()
    if text.startswith("/") or tracker.latest_message.get("intent", {}).get("name") == "affirm":
        return tracker.get_slot("pending_text") or ""
    return text


def spoken_date(value: str | None) -> str:
    try:
        day = dt.date.fromisoformat(value or "")
    except ValueError:
        return value or ""
    return f"{day.year}年{day.month}月{day.day}日"


def answer_message(answer: dict[str, Any]) -> str:
    """The FAQ answer as said to the citizen: the answer, where it comes from, when checked."""
    return (
        f"{answer['answer']}\n以上信息来自{answer['source']}，更新于{spoken_date(answer.get('updated'))}。"
        "具体以窗口办理时的要求为准。\n这个回答解决您的问题了吗？"
    )


class ActionAnswerFaq(Action):
    """A consultation: answer it from the FAQ when one entry fits; otherwise `faq_answered` is
    false and the rules start the intake (the question is filed as a ticket)."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        _, events = await faq_events(dispatcher, tracker)
        return events


async def faq_events(dispatcher: CollectingDispatcher, tracker: Tracker) -> tuple[bool, list[EventType]]:
    """(answered, events): the FAQ answer with its source and date, or `faq_answered` false."""
    text = question_text(tracker)
    events: list[EventType] = [*metadata_slots(tracker), SlotSet("confirm_pending", None)]
    answer: dict[str, Any] = {}
    if text:
        try:
            answer = await api_client.knowledge_answer(text[:500])
        except (api_client.ApiUnavailable, api_client.ApiRejected) as exc:
            logger.warning("knowledge answer unavailable: %s", exc)
    earlier = tracker.get_slot("faq_question")
    if not answer.get("matched") and earlier and text and earlier != text:
        # "那我在外地能补吗" after "身份证丢了怎么补办": the follow-up is read with the first question.
        try:
            answer = await api_client.knowledge_answer(f"{earlier} {text}"[:500])
        except (api_client.ApiUnavailable, api_client.ApiRejected) as exc:
            logger.warning("knowledge answer unavailable: %s", exc)
        if answer.get("matched"):
            text = f"{earlier} {text}"
    if not answer.get("matched"):
        return False, [*events, SlotSet("faq_answered", False)]
    if tracker.get_slot("ticket_no") or tracker.get_slot("ticket_pending"):
        events += [SlotSet(slot, None) for slot in RESET_SLOTS]  # a new matter after a filed one
    dispatcher.utter_message(text=answer_message(answer), buttons=RESOLVED_BUTTONS)
    return True, [
        *events,
        SlotSet("faq_answered", True),
        SlotSet("faq_id", answer.get("id")),
        SlotSet("faq_question", text),
        SlotSet("pending_text", None),
    ]


class ActionFaqResolved(Action):
    def name(self) -> str:
        return "action_faq_resolved"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text="好的，能帮上您就好。还有其他问题，随时跟我说。")
        return [SlotSet("faq_answered", None), SlotSet("faq_id", None), SlotSet("faq_question", None)]


class ActionFaqUnresolved(Action):
    """The answer did not help: the question becomes a consultation ticket (the intake form
    then asks only what is still missing)."""

    def name(self) -> str:
        return "action_faq_unresolved"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        question = tracker.get_slot("faq_question")
        events: list[EventType] = [SlotSet(slot, None) for slot in RESET_SLOTS]
        events += [SlotSet("faq_answered", None), SlotSet("demand_type", "consultation")]
        if question:
            events.append(SlotSet("description", clean_description(question)))
            dispatcher.utter_message(text="不好意思没能帮上您。我把您的问题登记下来，转给相关部门给您详细答复。")
        else:
            dispatcher.utter_message(text="好的，我帮您登记下来，转给相关部门给您答复。")
        return events


def faq_helped(text: str, intent: str | None) -> bool:
    """Whether a typed answer to "这个回答解决您的问题了吗？" says it helped."""
    if UNRESOLVED_RE.search(text or ""):
        return False
    if RESOLVED_RE.search(text or ""):
        return True
    return intent not in ("deny", "faq_unresolved")


class ActionFaqFollowup(Action):
    """是/不是 typed after a FAQ answer (affirm/deny while `faq_answered`): resolved, or the
    question is filed like 没解决."""

    def name(self) -> str:
        return "action_faq_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if faq_helped(tracker.latest_message.get("text") or "", intent):
            return await ActionFaqResolved().run(dispatcher, tracker, domain)
        events = await ActionFaqUnresolved().run(dispatcher, tracker, domain)
        return [*events, FollowupAction("intake_form")]
