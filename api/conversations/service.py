"""The conversation hub: stores every message, forwards to Rasa in bot mode, relays in agent mode.

Plain functions over a SQLAlchemy session; routes and the WebSocket handler call these and then
push the returned messages to connected clients.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.conversations import ordering, rasa_client
from api.conversations.models import CallbackRequest, Channel, Conversation, ConversationEvent, Message, Mode, Role
from api.conversations.schemas import CONVERSATION_ID, MessageIn
from api.core.db import in_session, utcnow
from api.core.settings import get_settings
from api.core.text import clean_text, has_words
from api.routing import risk_judgement

NO_WORDS_PROMPT = "不好意思，我没有看到文字内容。请您用文字说一下遇到了什么问题，我来帮您登记。"
RASA_DOWN_REPLY = (
    "抱歉，系统现在有点忙，您刚才说的话已经记下了，不会丢失。"
    "系统恢复后我会接着回复您，请稍等一下。"
)
CLOSED_REPLY = "这次对话已经结束了。如果还有其他问题，请刷新页面开始新的对话，或者拨打12345热线。"
AGENT_MODE_ACK = ""  # In agent mode the citizen's words go to the agent; no bot reply.

def check_conversation_id(conversation_id: str) -> None:
    if not CONVERSATION_ID.fullmatch(conversation_id):
        raise HTTPException(
            422,
            detail="对话编号格式不对：只能由8到64位字母、数字、下划线或短横线组成。",
        )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(*, db_session: Session) -> tuple[Conversation, str]:
    """A new web chat: the server picks the id and a token only the citizen's browser gets (we keep its hash)."""
    token = secrets.token_urlsafe(32)
    conversation = Conversation(id=f"web-{secrets.token_hex(16)}", channel=Channel.chat, mode=Mode.bot,
                                token_hash=_hash(token))
    db_session.add(conversation)
    db_session.commit()
    return conversation, token


def holds_token(conversation: Conversation | None, token: str | None) -> bool:
    """Does `token` open this conversation? Voice calls and pre-session chats open only to services."""
    if conversation is None or not token or not conversation.token_hash:
        return False
    return hmac.compare_digest(conversation.token_hash, _hash(token))


def get(*, db_session: Session, conversation_id: str) -> Conversation | None:
    return db_session.get(Conversation, conversation_id)


def get_or_404(*, db_session: Session, conversation_id: str) -> Conversation:
    check_conversation_id(conversation_id)
    conversation = get(db_session=db_session, conversation_id=conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="没有找到这个对话。")
    return conversation


def _get_or_create(
    *, db_session: Session, conversation_id: str, message_in: MessageIn, trusted: bool
) -> Conversation:
    conversation = get(db_session=db_session, conversation_id=conversation_id)
    if conversation is not None:
        return conversation
    if not trusted:  # only services (the voice gateway) choose ids; citizens get theirs from POST /conversations
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="没有找到这个对话，请刷新页面重新开始。")
    conversation = Conversation(
        id=conversation_id,
        channel=message_in.channel,
        caller_number=message_in.caller_number if trusted else None,
        mode=Mode.bot,
    )
    db_session.add(conversation)
    try:
        db_session.flush()
    except IntegrityError:  # created concurrently by another request
        db_session.rollback()
        conversation = db_session.get(Conversation, conversation_id)
        assert conversation is not None
    return conversation


def add_message(db_session: Session, conversation: Conversation, role: Role, text: str, **fields: Any) -> Message:
    message = Message(conversation_id=conversation.id, role=role, text=text, **fields)
    db_session.add(message)
    conversation.updated_at = utcnow()
    return message


def _metadata(conversation: Conversation) -> dict[str, Any]:
    return {"channel": conversation.channel, "caller_number": conversation.caller_number, "locale": "zh-CN"}


def _text_for_rasa(conversation: Conversation, text: str, payload: str | None) -> str:
    """Button payloads go to Rasa as-is only if the bot offered them; typed '/intent' is neutralised."""
    if payload and payload in (conversation.offered_payloads or []):
        return payload
    return text.lstrip("/") or text


@dataclass
class Outgoing:
    """A citizen message on its way to Rasa."""

    citizen_id: int
    conversation_id: str
    text: str
    metadata: dict[str, Any]
    sent_before: bool  # forwarded_at was already set: Rasa may have it, ask before sending


@dataclass
class Step:
    """The database part of a turn: what was stored, and which citizen messages go to Rasa (in order)."""

    conversation: Conversation | None
    messages: list[Message]
    waiting: list[int] = field(default_factory=list)  # earlier words still waiting, oldest first
    fresh: Outgoing | None = None  # the new message, already marked forwarded in _take


TURN_BUSY_DETAIL = "请稍等，现在咨询的人比较多，您上一句话还在处理中，请稍后再发送一次。"
BUSY_REPLY = "请稍等，现在咨询的人比较多，您的话已经记下了，我马上回复您。"


async def receive(
    *, conversation_id: str, message_in: MessageIn, trusted: bool
) -> tuple[Conversation, list[Message]]:
    """Store a citizen message; return it with the new messages (bot replies) it leads to.

    A turn holds only this conversation's ordering lock while Rasa thinks: the database work runs in
    short thread-pool steps before and after, and the Rasa call waits on a pooled socket.
    """
    check_conversation_id(conversation_id)
    settings = get_settings()
    if message_in.channel == Channel.voice and not trusted:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="语音渠道的消息只能由语音网关提交。")
    text = clean_text(message_in.text)
    if len(text) > settings.max_message_chars:
        raise HTTPException(
            422,
            detail=f"消息太长了（{len(text)}字），一次最多{settings.max_message_chars}字，请分几次发送。",
        )
    try:
        async with ordering.turn(conversation_id):
            step = await in_session(_take, conversation_id=conversation_id, message_in=message_in, trusted=trusted,
                                    text=text)
            conversation, new, _ = await _forward_in_order(step, notify=True)
    except ordering.TurnBusy as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=TURN_BUSY_DETAIL,
                            headers={"Retry-After": "3"}) from exc
    return conversation or step.conversation, [*step.messages, *new]


async def _forward_in_order(step: Step, *, notify: bool) -> tuple[Conversation | None, list[Message], bool]:
    """Earlier waiting words first, then the new message; stop at the first Rasa cannot take.

    Returns the conversation as last stored, the new messages, and whether all were answered."""
    conversation, new = step.conversation, []
    pending = [*step.waiting, *([step.fresh] if step.fresh is not None else [])]
    for item in pending:
        outgoing = item if isinstance(item, Outgoing) else await in_session(_outgoing, citizen_id=item)
        if outgoing is None:  # answered meanwhile, or the conversation left bot mode
            continue
        answered, stored = await _forward(outgoing, notify=notify)
        if stored is not None:
            conversation, messages = stored
            new.extend(messages)
        if not answered:
            return conversation, new, False
    return conversation, new, True


Stored = tuple[Conversation, list[Message]]


async def _forward(outgoing: Outgoing, *, notify: bool) -> tuple[bool, Stored | None]:
    """Send one citizen message to Rasa at most once: a message sent before is looked up in the tracker.

    Returns whether it is answered (False: still waiting) and what was stored."""
    key = turn_key(conversation_id=outgoing.conversation_id, citizen_id=outgoing.citizen_id)
    if outgoing.sent_before:
        # Sent before (a timeout, or the commit after Rasa answered failed): ask Rasa what it did with it.
        try:
            recovered = await rasa_client.recover_turn(sender=outgoing.conversation_id, message_key=key)
        except rasa_client.RasaUnavailable:
            return False, await _waiting(outgoing, RASA_DOWN_REPLY if notify else None, unsent=False)
        if recovered is not None:
            return True, await in_session(_store_turn, citizen_id=outgoing.citizen_id, turn=recovered)
        await in_session(_mark_forwarded, citizen_id=outgoing.citizen_id)  # Rasa never got it: send it now
    try:
        turn = await rasa_client.send(sender=outgoing.conversation_id, message=outgoing.text,
                                      metadata={**outgoing.metadata, "message_key": key})
    except rasa_client.RasaBusy:  # never sent: the background retry forwards it in a moment
        return False, await _waiting(outgoing, BUSY_REPLY if notify else None, unsent=True)
    except rasa_client.RasaNotReached:  # certainly not delivered: a retry may send it
        return False, await _waiting(outgoing, RASA_DOWN_REPLY if notify else None, unsent=True)
    except rasa_client.RasaUnavailable:  # maybe delivered: a retry asks Rasa first
        return False, await _waiting(outgoing, RASA_DOWN_REPLY if notify else None, unsent=False)
    return True, await in_session(_store_turn, citizen_id=outgoing.citizen_id, turn=turn)


def _take(*, db_session: Session, conversation_id: str, message_in: MessageIn, trusted: bool, text: str) -> Step:
    conversation = _get_or_create(
        db_session=db_session, conversation_id=conversation_id, message_in=message_in, trusted=trusted
    )
    if message_in.client_message_id:
        duplicate = db_session.scalar(
            select(Message).where(
                Message.conversation_id == conversation_id,
                Message.client_message_id == message_in.client_message_id,
            )
        )
        if duplicate is not None:  # a resend after a network drop: answer with what followed it
            if duplicate.pending and conversation.mode == Mode.bot:
                # Not answered yet (Rasa down or busy, or its answer was not stored): forward it now with
                # any earlier words still waiting; one sent before is looked up in Rasa, never re-sent.
                return Step(conversation, [], _waiting_ids(db_session, conversation_id, up_to=duplicate.id))
            return Step(conversation, _messages_after(db_session, conversation_id, duplicate.id))

    shown = text
    if message_in.payload:
        offered = {b["payload"]: b["title"] for b in _last_buttons(db_session, conversation_id)}
        shown = text or offered.get(message_in.payload, "")
    citizen = add_message(
        db_session,
        conversation,
        Role.citizen,
        shown,
        payload=message_in.payload,
        client_message_id=message_in.client_message_id,
    )
    _note_risk(db_session, conversation, text)
    new: list[Message] = []
    step = Step(conversation, [citizen])
    if conversation.mode == Mode.closed:
        new.append(add_message(db_session, conversation, Role.system, CLOSED_REPLY))
    elif conversation.mode == Mode.agent:
        pass  # relayed to the agent console by the caller; Rasa is not called
    elif not message_in.payload and not has_words(text):
        new.append(add_message(db_session, conversation, Role.bot, NO_WORDS_PROMPT))
    elif (followup := _hooked_answer(db_session, conversation, message_in.payload, text)) is not None:
        new.extend(followup)
    else:
        step.waiting = _waiting_ids(db_session, conversation_id)
        citizen.pending = True
        db_session.flush()
        if step.waiting:
            step.waiting.append(citizen.id)  # behind the earlier words, marked when its turn comes
        else:
            # The mark is durable (committed with the words) before Rasa sees the message.
            citizen.forwarded_at = utcnow()
            step.fresh = _outgoing_of(conversation, citizen, sent_before=False)
    db_session.commit()
    step.messages.extend(new)
    return step


def _waiting_ids(db_session: Session, conversation_id: str, up_to: int | None = None) -> list[int]:
    """Citizen messages of this conversation still waiting for Rasa, oldest first (a short list)."""
    query = select(Message.id).where(Message.conversation_id == conversation_id, Message.pending.is_(True))
    if up_to is not None:
        query = query.where(Message.id <= up_to)
    return list(db_session.scalars(query.order_by(Message.id)))


def turn_key(*, conversation_id: str, citizen_id: int) -> str:
    """The idempotency key of one citizen message towards Rasa (sent in the metadata, found in the tracker)."""
    return f"{conversation_id}:{citizen_id}"


def _outgoing_of(conversation: Conversation, citizen: Message, *, sent_before: bool) -> Outgoing:
    return Outgoing(citizen.id, conversation.id, _text_for_rasa(conversation, citizen.text, citizen.payload),
                    _metadata(conversation), sent_before=sent_before)


def _outgoing(*, db_session: Session, citizen_id: int) -> Outgoing | None:
    """A waiting message about to be (re)sent: marked forwarded first, unless it was sent before."""
    citizen = db_session.get(Message, citizen_id)
    if citizen is None or not citizen.pending:
        return None
    conversation = citizen.conversation
    if conversation.mode != Mode.bot:
        citizen.pending = False
        db_session.commit()
        return None
    sent_before = citizen.forwarded_at is not None
    if not sent_before:
        citizen.forwarded_at = utcnow()
        db_session.commit()
    return _outgoing_of(conversation, citizen, sent_before=sent_before)


def _mark_forwarded(*, db_session: Session, citizen_id: int) -> None:
    citizen = db_session.get(Message, citizen_id)
    if citizen is not None:
        citizen.forwarded_at = utcnow()
        db_session.commit()


async def _waiting(outgoing: Outgoing, notice: str | None, *, unsent: bool) -> Stored | None:
    return await in_session(_note_waiting, citizen_id=outgoing.citizen_id, notice=notice, unsent=unsent)


def _note_waiting(*, db_session: Session, citizen_id: int, notice: str | None, unsent: bool) -> Stored | None:
    """Rasa did not answer: the words stay pending (with a notice to the citizen the first time)."""
    citizen = db_session.get(Message, citizen_id)
    if citizen is None:
        return None
    conversation = citizen.conversation
    if unsent:
        citizen.forwarded_at = None  # certainly not delivered: a retry sends it without asking first
    out = [add_message(db_session, conversation, Role.system, notice)] if notice else []
    db_session.commit()
    return conversation, out


# What the console's queue shows for a chat before any ticket exists (place, matter); the full
# draft is still read live from Rasa when an agent opens the conversation.
QUEUE_SLOTS = ("location", "description", "demand_type")


def _keep_understanding(conversation: Conversation, slots: dict[str, Any]) -> None:
    kept = {k: slots[k] for k in QUEUE_SLOTS if slots.get(k) not in (None, "", [], "不清楚")}
    if kept:
        draft = dict(conversation.draft or {})
        draft["slots"] = {**(draft.get("slots") or {}), **kept}
        conversation.draft = draft


def _store_turn(*, db_session: Session, citizen_id: int, turn: rasa_client.Turn) -> Stored:
    citizen = db_session.get(Message, citizen_id)
    assert citizen is not None
    conversation = citizen.conversation
    citizen.pending = False
    citizen.intent, citizen.confidence = turn.intent, turn.confidence
    conversation.last_intent = turn.intent or conversation.last_intent
    _note_confidence(db_session, conversation, turn.confidence)
    _keep_understanding(conversation, turn.slots)
    out = [add_message(db_session, conversation, Role.bot, r.text, buttons=r.buttons or None) for r in turn.replies]
    if turn.replies:
        conversation.offered_payloads = [b["payload"] for r in turn.replies for b in r.buttons]
    db_session.commit()
    return conversation, out


# A higher domain that holds its own dialogue in a chat (the 回访 follow-up, api.callbacks.chat)
# registers here to take the citizen's answer before Rasa does; it returns the replies it stored,
# or None when nothing of its own is waiting in this conversation.
AnswerHook = Callable[..., list[Message] | None]
_answer_hooks: list[AnswerHook] = []


def register_answer_hook(hook: AnswerHook) -> None:
    if hook not in _answer_hooks:
        _answer_hooks.append(hook)


def _hooked_answer(
    db_session: Session, conversation: Conversation, payload: str | None, text: str
) -> list[Message] | None:
    for hook in _answer_hooks:
        replies = hook(db_session=db_session, conversation=conversation, payload=payload, text=text)
        if replies is not None:
            return replies
    return None


def _note_risk(db_session: Session, conversation: Conversation, text: str) -> None:
    """六方联动 judge on each citizen message: flags shown in the console; an emergency, harm, 110 or
    政法委 puts it in the agents' queue (county.risk.RiskJudgement.needs_person_now)."""
    if not text:
        return
    judgement = risk_judgement(text)
    flags = judgement.ordered_partners
    if not flags:
        return
    conversation.risk_flags = sorted(set(conversation.risk_flags or []) | set(flags))
    if judgement.needs_person_now and not conversation.handoff_requested and conversation.mode == Mode.bot:
        conversation.handoff_requested = True
        conversation.handoff_reason = "risk"
        db_session.add(ConversationEvent(conversation_id=conversation.id, action="handoff_request", actor="hub",
                                         note="风险提示：" + "、".join(flags)))


def _note_confidence(db_session: Session, conversation: Conversation, confidence: float | None) -> None:
    """Two unsure turns in a row put the conversation in the agents' escalation queue."""
    if confidence is None:
        return
    if confidence >= get_settings().low_confidence_threshold:
        conversation.low_confidence_turns = 0
        return
    conversation.low_confidence_turns += 1
    if conversation.low_confidence_turns >= 2 and not conversation.handoff_requested:
        conversation.handoff_requested = True
        conversation.handoff_reason = "low_confidence"
        db_session.add(ConversationEvent(conversation_id=conversation.id, action="handoff_request", actor="hub",
                                         note="连续两次没有理解市民的意思"))


def _last_buttons(db_session: Session, conversation_id: str) -> list[dict[str, str]]:
    message = db_session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.role == Role.bot, Message.buttons.is_not(None))
        .order_by(Message.id.desc())
        .limit(1)
    )
    return list(message.buttons or []) if message else []


def _messages_after(db_session: Session, conversation_id: str, message_id: int) -> list[Message]:
    return list(
        db_session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id > message_id, Message.role != Role.citizen)
            .order_by(Message.id)
        )
    )


async def retry_pending(*, limit: int = 50) -> list[Stored]:
    """Forward citizen words stored while Rasa was down or busy: up to `limit` conversations side by
    side (the in-flight limit towards Rasa still applies), each in its own order.

    A message never sent goes at once; one that was sent but not answered waits one Rasa time-out
    first, since Rasa records a turn only when it has finished it (asking earlier would re-send)."""

    async def one(conversation_id: str) -> Stored | None:
        try:
            async with ordering.turn(conversation_id, wait=0.2):
                waiting = await in_session(_waiting_ids_of, conversation_id=conversation_id)
                conversation, new, _ = await _forward_in_order(Step(None, [], waiting), notify=False)
        except ordering.TurnBusy:  # a citizen's turn is running there; it forwards the waiting words itself
            return None
        return (conversation, new) if conversation is not None and new else None

    conversation_ids = await in_session(_conversations_waiting, limit=limit)
    results = await asyncio.gather(*(one(c) for c in conversation_ids))
    return [r for r in results if r is not None]


def _conversations_waiting(*, db_session: Session, limit: int) -> list[str]:
    settled = utcnow() - timedelta(seconds=get_settings().rasa_timeout_seconds + 5)
    ready = or_(Message.forwarded_at.is_(None), Message.created_at < settled)
    rows = db_session.execute(
        select(Message.conversation_id, func.min(Message.id).label("first"))
        .where(Message.pending.is_(True), ready)
        .group_by(Message.conversation_id)
        .order_by("first")
        .limit(limit)
    )
    return [row.conversation_id for row in rows]


def _waiting_ids_of(*, db_session: Session, conversation_id: str) -> list[int]:
    return _waiting_ids(db_session, conversation_id)


def request_handoff(*, db_session: Session, conversation_id: str, reason: str, note: str) -> Conversation:
    conversation = get_or_404(db_session=db_session, conversation_id=conversation_id)
    conversation.handoff_requested = True
    conversation.handoff_reason = reason
    conversation.handoff_note = note or None
    db_session.add(ConversationEvent(conversation_id=conversation.id, action="handoff_request", actor="bot",
                                     note=f"{reason} {note}".strip()))
    db_session.commit()
    return conversation


def request_callback(
    *, db_session: Session, conversation_id: str, phone: str, preferred_time: str | None, note: str
) -> CallbackRequest:
    conversation = get_or_404(db_session=db_session, conversation_id=conversation_id)
    request = CallbackRequest(conversation_id=conversation.id, phone=phone, preferred_time=preferred_time,
                              note=note or None)
    db_session.add(request)
    db_session.add(ConversationEvent(conversation_id=conversation.id, action="callback_request", actor="bot",
                                     note=preferred_time))
    db_session.commit()
    return request


def close(*, db_session: Session, conversation_id: str, reason: str) -> Conversation:
    """Close a conversation, keeping what the bot understood so far as a draft report for staff."""
    conversation = get_or_404(db_session=db_session, conversation_id=conversation_id)
    if conversation.mode != Mode.closed:
        tracker = rasa_client.blocking(rasa_client.tracker, conversation_id)
        slots = {k: v for k, v in ((tracker or {}).get("slots") or {}).items() if v not in (None, [], "")}
        citizen_words = [m.text for m in conversation.messages if m.role == Role.citizen and m.text]
        slots = slots or (conversation.draft or {}).get("slots") or {}  # Rasa unreachable: what the turns kept
        conversation.draft = {"slots": slots, "citizen_text": "\n".join(citizen_words)}
        conversation.mode = Mode.closed
        conversation.closed_reason = reason
        db_session.add(ConversationEvent(conversation_id=conversation.id, action="close", actor="service", note=reason))
        add_message(db_session, conversation, Role.system, "本次对话已结束。")
        db_session.commit()
    return conversation


def post_bot_message(
    *, db_session: Session, conversation_id: str, text: str, unless_said: str | None = None
) -> Message | None:
    """A message from the back office into a conversation (e.g. a ticket filed after an outage).

    `unless_said`: skip it when the bot already told the citizen this (a ticket number), so a replay
    of the same filing does not repeat it.
    """
    conversation = get(db_session=db_session, conversation_id=conversation_id)
    if conversation is None:
        return None
    if unless_said and db_session.scalar(select(Message.id).where(
            Message.conversation_id == conversation_id, Message.role != Role.citizen,
            Message.text.contains(unless_said)).limit(1)) is not None:
        return None
    message = add_message(db_session, conversation, Role.bot, text)
    db_session.commit()
    return message


def list_messages(*, db_session: Session, conversation_id: str) -> list[Message]:
    return list(
        db_session.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id))
    )
