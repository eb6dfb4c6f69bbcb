"""Intake: start the form, validate every message, ask each question, read back, file."""

from __future__ import annotations

import logging
import re
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
from actions.handoff import hand_over
from actions.intake_logic import DEMAND_INTENTS, Turn, next_slot, process
from actions.knowledge import faq_events
from actions.report import (
    ANONYMOUS,
    REPORT_SLOTS,
    build_payload,
    filed_message,
    idempotency_key,
    read_back,
)
from actions.tracker_reads import RESET_SLOTS, intent_of, intent_ranking, metadata_slots, new_matter_events
from actions.validation_base import CappedFailuresFormValidationAction, ProcessResult
from bot import replies
from bot import understanding as understood
from bot.numbers import parse_phone, phone_for_speech
from bot.parsing import demand_type_from_text
from bot.safety import CRISIS_LINE, SELF_HARM, alarm_for, urgent_help
from bot.screening import screen

logger = logging.getLogger(__name__)

async def _screen(tracker: Tracker) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Matters already before a court, an arbitration or in petition: the channel that handles
    them (once per kind). Emergencies and risk are judged in the form (actions/intake_logic.py)."""
    result = screen(tracker.latest_message.get("text") or "")
    done: list[str] = list(tracker.get_slot("screening") or [])
    messages: list[dict[str, Any]] = []
    for kind, advice in zip(result.channels, result.channel_advice, strict=True):
        if kind not in done:
            messages.append({"text": advice})
            done.append(kind)
    if not messages:
        return [], {}
    return messages, {"screening": done}


def draft_of(slots: dict[str, Any]) -> dict[str, Any]:
    """What the citizen said so far, kept for staff when nothing is filed."""
    return {k: slots[k] for k in REPORT_SLOTS if slots.get(k) not in (None, "")}


def _end_report(slots: dict[str, Any], how: str) -> dict[str, Any]:
    """The form ends without a ticket: the draft is kept (the hub stores it when the conversation
    closes), the report slots are cleared so a new matter starts fresh."""
    updates: dict[str, Any] = {slot: None for slot in RESET_SLOTS}
    draft = draft_of(slots)
    if draft:
        updates["abandoned_draft"] = {**draft, "ended": how}
    updates["form_exit"] = how
    updates["next_matter"] = None  # the other matter was to follow a filed ticket: none is filed
    return updates


async def risk_of_harm(dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any], text: str) -> dict[str, Any]:
    """Self-harm: honest about who is there. An agent on duty takes over now; after hours the
    crisis line and 110, and a priority callback at opening time (asking once for a number)."""
    opener = "您愿意说出来，我们很重视。"
    try:
        answer = await api_client.request_handoff(tracker.sender_id, "risk", "风险研判（自伤风险）：" + text[:300])
    except (api_client.ApiUnavailable, api_client.ApiRejected):
        logger.exception("risk handoff failed")
        dispatcher.utter_message(
            text=f"{opener}您现在要是很难受、想伤害自己，请马上拨打心理援助热线{CRISIS_LINE}，24小时有人接听；有危险请直接拨打110。"
        )
        return {"risk": "unreachable"}
    if answer.get("agents_available") is not False:
        dispatcher.utter_message(
            text=f"{opener}我已经请值班的人工坐席马上接手，请您别走开，坐席马上就来。如果现在有危险，请马上拨打110。"
        )
        return {"risk": "agent"}
    back = answer.get("agents_back_text")
    dispatcher.utter_message(
        text=(
            f"{opener}现在是下班时间，人工坐席{back + '上班' if back else '上班后'}，这会儿没有人工在线。"
            f"您现在要是很难受、想伤害自己，请马上拨打心理援助热线{CRISIS_LINE}，24小时有人接听；有危险请直接拨打110。"
            "我已经把您的情况标成优先，坐席一上班第一时间给您回电话。"
        )
    )
    phone = slots.get("phone") or slots.get("caller_number")
    if phone:
        await _priority_callback(dispatcher, tracker.sender_id, phone, text)
    return {"risk": "after_hours"}


async def _priority_callback(dispatcher: CollectingDispatcher, conversation_id: str, phone: str, text: str) -> None:
    try:
        await api_client.request_callback(conversation_id, phone, "优先回电（自伤风险）：" + text[:200])
    except (api_client.ApiUnavailable, api_client.ApiRejected) as exc:
        logger.error("priority callback for %s failed: %s", conversation_id, exc)
        dispatcher.utter_message(text=f"回电登记暂时没成功，请您务必拨打{CRISIS_LINE}或者110。")
        return
    dispatcher.utter_message(text=f"回电已经登记好了，坐席上班后第一时间打{phone_for_speech(phone)}这个号码给您。")


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
        events: list[EventType] = [*metadata_slots(tracker), SlotSet("confirm_pending", None)]
        if tracker.get_slot("faq_answered"):
            events.append(SlotSet("faq_answered", None))  # an earlier FAQ answer is behind us
        if tracker.get_slot("ticket_no") or tracker.get_slot("ticket_pending"):
            # A second matter in the same conversation: forget the first report, but remember who
            # the citizen is ("还是刚才那个号").
            events += new_matter_events(dict(tracker.slots))
        elif tracker.get_slot("form_exit"):
            events.append(SlotSet("form_exit", None))
        intent, confidence = intent_of(tracker)
        if tracker.get_slot("next_matter") and tracker.get_slot("ticket_no"):
            # The other matter said during the first one (submit_report brought it back): the same
            # citizen, so the name is kept and the number offered; the form starts from its words.
            name = tracker.get_slot("citizen_name")
            if name and name != ANONYMOUS:
                events.append(SlotSet("citizen_name", name))
            # "我家门口路灯也坏了": the same kind of matter as the first unless the words say otherwise
            dtype = demand_type_from_text(tracker.get_slot("next_matter")) or tracker.get_slot("demand_type")
            if dtype:
                events.append(SlotSet("demand_type", dtype))
            return [*events, FollowupAction("intake_form")]
        if intent in DEMAND_INTENTS and confidence >= 0.4:
            events.append(SlotSet("demand_type", intent))
        return events


# Urgent help for a person (not a utility fault that may be a complaint): always 求助.
PERSON_HELP = ("elderly_alone", "child_alone", "locked_out")

FOLLOWUP_RE = re.compile(r"^(?:那|那么|那如果|如果|还有|另外|要是)|(?:吗|呢|么|吧)[？?]?$|[？?]$|(?:能不能|可不可以|怎么办|怎么弄|要多久|在哪)")


def is_followup_question(text: str) -> bool:
    """ "那我在外地能补吗": a question that leans on the answer just given."""
    return bool(FOLLOWUP_RE.search(text.strip())) and len(text) <= 40


def offered_phone(slots: dict[str, Any]) -> str | None:
    """The number the phone question offers: the caller's, or the one left for the first matter."""
    return slots.get("caller_number") or (slots.get("previous_contact") or {}).get("phone")


class ValidateIntakeForm(CappedFailuresFormValidationAction):
    def name(self) -> str:
        return "validate_intake_form"

    def next_requested_slot_name(self, slots: dict[str, Any]) -> str | None:
        return next_slot(slots)

    async def process_message(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> ProcessResult:
        intent, confidence = intent_of(tracker)
        requested = tracker.get_slot("requested_slot")
        # requested_slot is only empty on the message that starts the form.
        activating = not requested
        text = tracker.latest_message.get("text") or ""
        meta_events = metadata_slots(tracker)
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
        if activating and slots.get("form_exit"):
            slots["form_exit"] = None
        if activating and slots.get("next_matter"):
            # The form follows a filed ticket (ActionStartIntake): its first message is the other matter.
            text = understood.new_matter_words(slots["next_matter"])
            meta_events.append(SlotSet("next_matter", None))
            slots["next_matter"] = None
            intent, confidence = slots.get("demand_type"), 1.0
        outcome = process(
            Turn(
                text=text,
                intent=intent,
                confidence=confidence,
                requested_slot=None if activating else requested,
                slots=slots,
                caller_number=offered_phone(slots),
                activating=activating,
                ranking=intent_ranking(tracker),
            )
        )
        updates = {e["name"]: e["value"] for e in meta_events}
        if activating and slots.get("faq_question") and is_followup_question(text):

            answered, faq = await faq_events(dispatcher, tracker)
            if answered:  # a follow-up of the FAQ answer stays in the FAQ flow
                updates.update({e["name"]: e["value"] for e in faq}, form_exit="faq")
                return ProcessResult(updates=updates, end=True)
        if activating and tracker.get_slot("form_exit"):
            updates["form_exit"] = None
        if slots.get("risk") == "after_hours" and requested == "phone":
            return await self._risk_phone_answer(dispatcher, tracker, slots, outcome, text, updates)
        if outcome.exit:
            return await self._exit(dispatcher, tracker, slots, outcome.exit, updates)
        if outcome.alarm and outcome.alarm.kind == SELF_HARM:
            updates.update(outcome.updates)
            updates.update(await risk_of_harm(dispatcher, tracker, {**slots, **updates}, text))
            if updates["risk"] != "after_hours" or offered_phone(slots) or slots.get("phone"):
                updates.update(_end_report({**slots, **updates}, "risk"))
                return ProcessResult(updates=updates, end=True)
            return ProcessResult(updates=updates)
        screening_messages, screening_updates = await _screen(tracker)
        if outcome.skip and not screening_messages:
            return ProcessResult(skip=True)
        updates.update(screening_updates)
        if outcome.skip:  # the channel advice must be said; the form then asks its question again
            return ProcessResult(updates=updates, messages=screening_messages)
        updates.update(outcome.updates)
        help_messages = self._urgent_help(text, {**slots, **updates}, updates)
        return ProcessResult(
            updates=updates,
            messages=outcome.messages[:1] + screening_messages + help_messages + outcome.messages[1:]
            if outcome.alarm
            else screening_messages + help_messages + outcome.messages,
            failed=outcome.failed,
            reason=outcome.reason,
        )

    @staticmethod
    def _urgent_help(text: str, merged: dict[str, Any], updates: dict[str, Any]) -> list[dict[str, Any]]:
        """求助 that cannot wait (a burst pipe, locked out, an old person alone): the first advice, 紧急."""
        if merged.get("emergency") or merged.get("help_advised") or not text:
            return []
        advice = urgent_help(text)
        if advice is None or merged.get("demand_type") in ("consultation", "suggestion", "praise"):
            return []
        updates.update(help_advised=advice.kind, urgency=advice.urgency)
        if not merged.get("demand_type") or (merged.get("demand_type") == "complaint" and advice.kind in PERSON_HELP):
            # an old neighbour not answering the door is 求助, whatever the NLU guessed from the tone
            updates["demand_type"] = "help_request"
        return [{"text": f"{advice.advice}我这边马上按紧急件帮您登记。"}]

    async def _exit(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any], how: str,
        updates: dict[str, Any],
    ) -> ProcessResult:
        if how == understood.PERSON:
            if not await hand_over(dispatcher, tracker, slots):
                return ProcessResult(updates=updates)  # nobody reachable: carry on with the form
            updates.update(form_exit=how, handoff_reason=None)
            return ProcessResult(updates=updates, end=True)
        if how == understood.NOT_A_REPORT:
            dispatcher.utter_message(text=replies.NOT_A_REPORT_REPLY)
        elif slots.get("risk"):
            dispatcher.utter_message(text=f"好的。您要是难受，随时拨打{CRISIS_LINE}或者110，我们也一直在。")
        else:
            dispatcher.utter_message(text=replies.LEAVING_REPLY if slots.get("description") else replies.LEAVING_NOTHING_REPLY)
        updates.update(_end_report(slots, how))
        return ProcessResult(updates=updates, end=True)

    async def _risk_phone_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any], outcome: Any, text: str,
        updates: dict[str, Any],
    ) -> ProcessResult:
        """After hours, self-harm: the one question was a number for the priority callback."""
        phone = outcome.updates.get("phone")
        if phone:
            await _priority_callback(dispatcher, tracker.sender_id, phone, slots.get("description") or text)
            dispatcher.utter_message(text=f"您现在要是撑不住，随时拨打{CRISIS_LINE}或者110，他们一直有人。")
        else:
            dispatcher.utter_message(text=f"好的，不留也没关系。您要是难受，随时拨打{CRISIS_LINE}或者110，我们也一直在。")
        updates.update(_end_report({**slots, "phone": phone}, "risk"))
        return ProcessResult(updates=updates, end=True)


def _attempt(tracker: Tracker, slot: str) -> int:
    return int((tracker.get_slot("asked") or {}).get(slot, 0))


class AskAction(Action):
    """The form's question for one slot, in other words when it is asked again (bot/replies.py)."""

    slot = ""
    buttons: list[dict[str, str]] | None = None

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(
            text=replies.question(self.slot, dict(tracker.slots), _attempt(tracker, self.slot)), buttons=self.buttons
        )
        return []


class ActionAskDescription(AskAction):
    slot = "description"


class ActionAskLocation(AskAction):
    slot = "location"


class ActionAskLocationTown(AskAction):
    slot = "location_town"


class ActionAskLocationDetail(AskAction):
    slot = "location_detail"


class ActionAskIncidentTime(AskAction):
    slot = "incident_time"


class ActionAskCitizenName(AskAction):
    slot = "citizen_name"


class ActionAskCorrectionRequest(AskAction):
    slot = "correction_request"
    buttons = [
        {"title": "事情经过", "payload": "事情经过要改"},
        {"title": "地点", "payload": "地点要改"},
        {"title": "时间", "payload": "时间要改"},
        {"title": "称呼", "payload": "称呼要改"},
        {"title": "电话", "payload": "电话要改"},
    ]


class ActionAskConfidential(AskAction):
    slot = "confidential"
    buttons = [
        {"title": "需要保密", "payload": "需要保密"},
        {"title": "不用保密", "payload": "不用保密"},
    ]


class ActionAskPhone(Action):
    """On the phone line we already have the caller's number, in a second matter the first one's:
    offer it instead of asking. After hours with a risk of harm: one question for the callback."""

    def name(self) -> str:
        return "action_ask_phone"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        slots = dict(tracker.slots)
        if slots.get("risk") == "after_hours":
            dispatcher.utter_message(text="方便的话留个电话，坐席上班第一时间打给您；不方便也没关系。")
            return [SlotSet("asked", {**(slots.get("asked") or {}), "risk_phone": 1})]
        offered = offered_phone(slots)
        if offered and slots.get("phone_use_caller") is None:
            whose = "现在这个号码" if offered == slots.get("caller_number") else "刚才留的号码"
            dispatcher.utter_message(
                text=f"处理结果要联系您，还用您{whose}（{phone_for_speech(offered)}）联系吗？",
                buttons=[
                    {"title": "就用这个号码", "payload": "/affirm"},
                    {"title": "换一个号码", "payload": "/deny"},
                ],
            )
            return []
        dispatcher.utter_message(text=replies.question("phone", slots, _attempt(tracker, "phone")))
        return []


class ActionAskReportConfirmed(Action):
    """The read-back, with the two buttons; after a turn that was not an answer, a short reminder."""

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
        attempt = _attempt(tracker, "report_confirmed")
        dispatcher.utter_message(
            text=read_back(slots) if attempt == 0 else replies.question("report_confirmed", slots, attempt),
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
    alarm = alarm_for(slots.get("emergency"))
    dispatcher.utter_message(
        text=filed_message(
            filed.data, replay=filed.replay, emergency=bool(slots.get("emergency")),
            call_first=alarm.number if alarm else None,
            no_phone=not payload["phone"],
        )
    )
    if slots.get("callback_requested") and not filed.replay:
        await _request_callback(dispatcher, tracker.sender_id, payload, filed.ticket_no)
    events: list[EventType] = [SlotSet("ticket_no", filed.ticket_no), SlotSet("ticket_pending", None)]
    if filed.replay:
        return events
    return events + _after_filing(dispatcher, tracker, slots)


def _after_filing(dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any]) -> list[EventType]:
    """What follows the ticket number: the other matter said on the way, a goodbye, or "还有其他需要吗"."""
    goodbye = understood.says_goodbye(tracker.latest_message.get("text") or "")
    matter = understood.new_matter_words(slots.get("next_matter") or "")
    if slots.get("next_matter") and not goodbye:
        said = f"：“{matter[:60]}”" if matter else ""
        dispatcher.utter_message(text=f"您刚才还说了另一件事{said}，我接着帮您登记这一件。")
        return [FollowupAction("action_start_intake")]
    if slots.get("next_matter"):
        dispatcher.utter_message(
            text=f"您刚才说的另一件事{'（' + matter[:30] + '）' if matter else ''}这次还没有登记，需要的话随时再找我们。再见！"
        )
        return [SlotSet("next_matter", None)]
    if goodbye:
        dispatcher.utter_message(text="好的，不耽误您了，再见！")  # yes and goodbye in one turn: no further question
        return []
    dispatcher.utter_message(text="请问还有其他需要帮您的吗？")
    return []


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
        if tracker.get_slot("form_exit"):
            return []  # the citizen left, asked for a person or was only asking: said already, nothing filed
        emergency = tracker.get_slot("emergency")
        if not tracker.get_slot("description") or not (tracker.get_slot("phone") or emergency):
            dispatcher.utter_message(text="还有什么需要帮您的吗？")
            return []
        if not emergency and not tracker.get_slot("report_confirmed"):
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
        intent, _ = intent_of(tracker)
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
            ended = _end_report(dict(tracker.slots), understood.LEAVING)
            ended.pop("form_exit")
            events += [SlotSet(k, v) for k, v in ended.items()]
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
