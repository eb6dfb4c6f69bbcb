"""Low NLU confidence: confirm instead of guessing; after two failures offer a human.

"您是想投诉这件事，对吗？" with buttons built from the two likeliest intents:
是 (the first), 不是，是想<second> (its intent as payload), 都不是. A confirmed guess goes on as if
the citizen had said it clearly, with the words of the unclear message; a second failure
(gibberish again, or 都不是 again) offers 转人工 — and when nobody is on duty the handoff offers
a callback instead (actions/handoff.py).
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.intake import _screen, is_followup_question
from actions.knowledge import faq_events
from actions.tracker_reads import intent_of, intent_ranking, metadata_slots, new_matter_events
from bot import replies
from bot import understanding as understood
from bot.parsing import has_substance, is_gibberish
from bot.safety import judge

MAX_FAILURES = 2
# What the citizen may want, as said back in a confirmation question / a button.
GUESSES = {
    "complaint": ("投诉这件事", "投诉"),
    "consultation": ("咨询这个问题", "咨询"),
    "help_request": ("请我们帮忙解决这件事", "求助"),
    "report": ("举报这件事", "举报"),
    "suggestion": ("提个建议", "提建议"),
    "praise": ("表扬", "表扬"),
    "ticket_status": ("查工单的办理进度", "查进度"),
    "urge": ("催办已经登记的工单", "催办"),
}
# These all lead to the intake form; the read-back shows the type and the citizen can change it.
INTAKE_TYPES = ("complaint", "help_request", "report", "suggestion", "praise")
# A clear lead of an intake type over a different flow needs no question.
CLEAR_MARGIN = 0.1
HUMAN_OFFER = "不好意思，我还是没能弄明白您的意思。我帮您转人工客服，由接线员直接跟您沟通，好吗？"
HUMAN_BUTTONS = [{"title": "转人工", "payload": "/human_handoff"}]


QUESTION_RE = re.compile(r"(吗|么|怎么|如何|什么|哪|能不能|可不可以|是否|多少|几|？|\?)")
STATUS_RE = re.compile(r"(工单|单号|进度|催|办得怎么样|有没有结果|答复了|回复了|JH\d)", re.IGNORECASE)


def candidates(ranking: list[tuple[str, float]], text: str | None = None) -> list[tuple[str, float]]:
    """The intents worth confirming, likeliest first. A statement without a question cannot be a
    consultation ("河里有死鱼"), and status/催办 need words about a ticket."""
    found = [(name, score) for name, score in ranking if name in GUESSES]
    if text is not None:
        if not QUESTION_RE.search(text):
            found = [(n, s) for n, s in found if n != "consultation"]
        if not STATUS_RE.search(text):
            found = [(n, s) for n, s in found if n not in ("ticket_status", "urge")]
    return found


def top_two(ranking: list[tuple[str, float]], text: str | None = None) -> list[str]:
    """The two likeliest intents that can be confirmed (demand types, status, urge)."""
    names = [name for name, _ in candidates(ranking, text)]
    if not names:
        names = ["complaint"]
    if len(names) == 1:
        names.append("report" if names[0] == "complaint" else "complaint")
    return names[:2]


def needs_confirmation(ranking: list[tuple[str, float]], text: str | None = None) -> bool:
    """Ask only when the two likeliest intents lead to different flows (filing a ticket, the
    FAQ, a status lookup): between 投诉 and 举报 the read-back is the confirmation."""
    first, second = top_two(ranking, text)
    if first not in INTAKE_TYPES:
        return True
    if second in INTAKE_TYPES:
        return False
    scores = dict(ranking)
    return scores.get(first, 0.0) - scores.get(second, 0.0) < CLEAR_MARGIN


def confirmation(ranking: list[tuple[str, float]], text: str | None = None) -> tuple[str, list[dict[str, str]], str]:
    """(question, buttons, the first guess)."""
    first, second = top_two(ranking, text)
    question = f"不好意思，我想确认一下：您是想{GUESSES[first][0]}，对吗？"
    buttons = [
        {"title": "是", "payload": "/affirm"},
        {"title": f"不是，我是想{GUESSES[second][1]}", "payload": f"/{second}"},
        {"title": "都不是", "payload": "/deny"},
    ]
    return question, buttons, first


def failure_events(dispatcher: CollectingDispatcher, tracker: Tracker, retry_text: str) -> list[EventType]:
    """One more failure: ask again, or after MAX_FAILURES offer a human."""
    count = int(tracker.get_slot("low_confidence_failures") or 0) + 1
    events: list[EventType] = [SlotSet("confirm_pending", None), SlotSet("pending_text", None)]
    if count >= MAX_FAILURES:
        dispatcher.utter_message(text=HUMAN_OFFER, buttons=HUMAN_BUTTONS)
        return [*events, SlotSet("low_confidence_failures", 0), SlotSet("handoff_reason", "low_confidence")]
    dispatcher.utter_message(text=retry_text)
    return [*events, SlotSet("low_confidence_failures", count)]


async def proceed_with(guess: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Go on as if the citizen had said `guess` clearly (the unclear words are kept)."""
    events: list[EventType] = [SlotSet("confirm_pending", None), SlotSet("low_confidence_failures", 0)]
    if guess == "consultation":
        answered, faq = await faq_events(dispatcher, tracker)
        if answered:
            return [*events, *faq]
        events += faq
    if guess in ("ticket_status", "urge"):
        return [*events, SlotSet("pending_text", None), SlotSet("status_goal", "urge" if guess == "urge" else "status"),
                FollowupAction("status_form")]
    if tracker.get_slot("ticket_no") or tracker.get_slot("ticket_pending"):
        events += new_matter_events(dict(tracker.slots))
    return [*events, SlotSet("demand_type", guess), FollowupAction("intake_form")]


class ActionTriage(Action):
    """nlu_fallback with nothing in progress: words that describe something get a confirmation
    question; gibberish a polite request to say it again; twice -> a human."""

    def name(self) -> str:
        return "action_triage"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        safety, screened = await _screen(tracker)  # an unclear message may still say "着火了"
        for message in safety:
            dispatcher.utter_message(**message)
        if screened.get("screening"):
            safety_events: list[EventType] = [SlotSet("screening", screened["screening"])]
        else:
            safety_events = []
        if judge(text) is not None:
            # An emergency or risk is never a confirmation question: the form says the number
            # first and asks where at most (actions/intake_logic.py).
            return [*safety_events, *metadata_slots(tracker), SlotSet("pending_text", None),
                    *await proceed_with("help_request", dispatcher, tracker)]
        if tracker.get_slot("faq_question") and is_followup_question(text):
            answered, faq = await faq_events(dispatcher, tracker)  # "那我在外地能补吗" after a FAQ answer
            if answered:
                return [*safety_events, *faq]
        if understood.is_leaving(text):
            dispatcher.utter_message(text=replies.LEAVING_NOTHING_REPLY)
            return safety_events
        if is_gibberish(text) or not has_substance(text, min_chars=4):
            return safety_events + failure_events(
                dispatcher, tracker, "不好意思，我没太明白您的意思，能换个说法再说一遍吗？需要人工的话也可以说“转人工”。"
            )
        ranking = intent_ranking(tracker)
        if not needs_confirmation(ranking, text):
            # Words that describe a matter ("河里有死鱼"): the intake, with the likeliest type.
            guess = top_two(ranking, text)[0]
            return [
                *safety_events,
                *metadata_slots(tracker),
                SlotSet("pending_text", None),
                *await proceed_with(guess, dispatcher, tracker),
            ]
        question, buttons, first = confirmation(ranking, text)
        dispatcher.utter_message(text=question, buttons=buttons)
        return [
            *safety_events,
            *metadata_slots(tracker),
            SlotSet("pending_text", text[:500]),
            SlotSet("triage_guess", first),
            SlotSet("confirm_pending", True),
        ]


class ActionConfirmIntent(Action):
    """The answer to the confirmation question: 是 -> go on with the guess; 不是/都不是 -> ask
    the citizen to say it another way (or, the second time, offer a human)."""

    def name(self) -> str:
        return "action_confirm_intent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent, _ = intent_of(tracker)
        guess = tracker.get_slot("triage_guess")
        if intent == "affirm" and guess in GUESSES:
            return await proceed_with(guess, dispatcher, tracker)
        return failure_events(dispatcher, tracker, "好的，那麻烦您换个说法，具体说说遇到了什么事情，或者想问什么。")
