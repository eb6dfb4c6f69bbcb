"""The 回访 in a chat, driven by the one Survey machine (survey.py, chat mode): the first question
posted into the citizen's conversation, the answers taken from the hub (a registered hook, before
Rasa sees them) or from the answer endpoint, the result onto the ticket, and the switch to a phone
call when the chat stays silent."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.callbacks.models import CallbackAttempt, CallbackJob, JobStatus
from api.callbacks.policy import CallbackPolicy, Outcome, current_policy, in_window, next_window_start
from api.callbacks.service import matter_for
from api.callbacks.survey import Stage, Step, Survey
from api.callbacks.ticket_result import apply_to_ticket
from api.conversations import service as conversations
from api.conversations.models import Conversation, Message
from api.conversations.models import Role as MessageRole
from api.core.db import utcnow
from api.tickets.models import Ticket

CHAT_PREFIX = "/callback_answer"


def _payload(job_id: int, **values: str) -> str:
    return CHAT_PREFIX + json.dumps({"job": job_id, **values}, ensure_ascii=False, separators=(",", ":"))


def parse_payload(payload: str | None) -> dict[str, Any] | None:
    if not payload or not payload.startswith(CHAT_PREFIX):
        return None
    try:
        data = json.loads(payload[len(CHAT_PREFIX):])
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("job"), int) else None


@dataclass
class ChatPost:
    conversation_id: str
    message_id: int


def _post(db_session: Session, job: CallbackJob, text: str, buttons: list[dict[str, str]] | None) -> ChatPost | None:
    conversation = conversations.get(db_session=db_session, conversation_id=job.conversation_id or "")
    if conversation is None:
        return None
    message = conversations.add_message(db_session, conversation, MessageRole.bot, text, buttons=buttons)
    if buttons:  # the hub forwards only payloads it offered
        conversation.offered_payloads = [b["payload"] for b in buttons]
    db_session.flush()
    job.chat_message_id = message.id
    return ChatPost(conversation.id, message.id)


RATINGS = ("满意", "基本满意", "不满意")  # the keypad digits 1, 2, 3 of the phone survey


def _buttons(job: CallbackJob, expect: Stage | None) -> list[dict[str, str]] | None:
    """The survey's closed questions as buttons (the chat's keypad)."""
    if expect == Stage.solved:
        return [{"title": "已解决", "payload": _payload(job.id, solved="yes")},
                {"title": "未解决", "payload": _payload(job.id, solved="no")}]
    if expect == Stage.rating:
        return [{"title": r, "payload": _payload(job.id, rating=r)} for r in RATINGS]
    return None


def _survey(job: CallbackJob, ticket: Ticket, policy: CallbackPolicy) -> Survey:
    """The one 回访 machine (api.callbacks.survey), in chat mode, where this job left it."""
    state = job.chat_state or {}
    return Survey(
        matter=replace(matter_for(ticket, policy), ticket_no=job.ticket_no), stage=Stage(state.get("stage", "solved")),
        confirmed=True, solved=job.solved, rating=job.rating, reason=job.reason,
        transcript=list(state.get("turns") or []), chat=True,
    )


def start_chat_followups(*, db_session: Session, now: datetime | None = None,
                         policy: CallbackPolicy | None = None) -> list[ChatPost]:
    """Post the first question into the conversation of each due chat job (in calling windows too:
    a message at midnight is as unwelcome as a call); switch stale ones over to the phone."""
    now = now or utcnow()
    policy = policy or current_policy()
    posts: list[ChatPost] = []
    if in_window(now, policy):
        due = db_session.scalars(select(CallbackJob).where(
            CallbackJob.channel == "chat", CallbackJob.status == JobStatus.queued, CallbackJob.next_attempt_at <= now,
        ).limit(200)).all()
        for job in due:
            ticket = db_session.get(Ticket, job.ticket_id)
            assert ticket is not None
            survey = Survey(matter=replace(matter_for(ticket, policy), ticket_no=job.ticket_no), chat=True)
            step = survey.start()
            post = _post(db_session, job, step.say, _buttons(job, step.expect))
            if post is None:
                _to_phone(job, now, policy, "对话已不存在")
                continue
            job.status = JobStatus.chat_waiting
            job.chat_state = {"stage": survey.stage.value, "turns": survey.transcript}
            job.chat_deadline_at = now + policy.chat_wait
            job.updated_at = now
            db_session.add(CallbackAttempt(job_id=job.id, number=job.attempts + 1, worker="chat",
                                           lease_token=f"chat-{job.id}", started_at=now))
            posts.append(post)
    for job in db_session.scalars(select(CallbackJob).where(
            CallbackJob.status == JobStatus.chat_waiting, CallbackJob.chat_deadline_at <= now)).all():
        _to_phone(job, now, policy, "对话回访未答复")
    db_session.commit()
    return posts


def _to_phone(job: CallbackJob, now: datetime, policy: CallbackPolicy, why: str) -> None:
    for attempt in job.attempt_log:
        if attempt.ended_at is None:
            attempt.ended_at, attempt.outcome, attempt.detail = now, Outcome.no_answer, why
    if job.phone:
        job.channel, job.status = "phone", JobStatus.queued
        job.next_attempt_at = next_window_start(now, policy)
        job.skip_reason = f"{why}，改为电话回访"
    else:
        job.status, job.completed_at, job.skip_reason = JobStatus.failed, now, f"{why}，且没有联系电话"
    job.updated_at = now


def chat_answer(*, db_session: Session, conversation_id: str, payload: str | None = None, text: str | None = None,
                now: datetime | None = None, policy: CallbackPolicy | None = None) -> tuple[CallbackJob | None, ChatPost | None]:
    """One answer from the citizen in the chat (a button payload or typed text). (job, None): a
    follow-up waits here but the answer said nothing to its question; (None, None): none waits."""
    now = now or utcnow()
    policy = policy or current_policy()
    data = parse_payload(payload)
    query = select(CallbackJob).where(CallbackJob.conversation_id == conversation_id,
                                      CallbackJob.status == JobStatus.chat_waiting)
    if data is not None:
        query = query.where(CallbackJob.id == data["job"])
    job = db_session.scalars(query.order_by(CallbackJob.id.desc()).limit(1)).first()
    if job is None:
        return None, None
    ticket = db_session.get(Ticket, job.ticket_id)
    assert ticket is not None
    survey = _survey(job, ticket, policy)
    step = _feed(survey, data, text)
    if step is None or not step.understood:
        return job, None
    job.solved, job.rating, job.reason = survey.solved, survey.rating, survey.reason
    post = _post(db_session, job, step.say, _buttons(job, step.expect))
    job.chat_state = {"stage": survey.stage.value, "turns": survey.transcript}
    job.updated_at = now
    if survey.finished:
        _finish(db_session, job, ticket, survey, now)
    else:
        db_session.commit()
    return job, post


def _feed(survey: Survey, data: dict[str, Any] | None, text: str | None) -> Step | None:
    """The answer into the survey: a button of the question asked now, or typed words."""
    if survey.stage == Stage.reason:  # the reason is typed, never a button
        return survey.on_reason(text) if text and text.strip() and data is None else None
    if data is not None:
        if survey.stage == Stage.solved and data.get("solved") in ("yes", "no"):
            yes = data["solved"] == "yes"
            return survey.on_choice("1" if yes else "2", "已解决" if yes else "未解决")
        if survey.stage == Stage.rating and data.get("rating") in RATINGS:
            return survey.on_choice(str(RATINGS.index(data["rating"]) + 1), data["rating"])
        return None
    return survey.on_text(text) if text else None


def _finish(db_session: Session, job: CallbackJob, ticket: Ticket, survey: Survey, now: datetime) -> None:
    for attempt in job.attempt_log:
        if attempt.ended_at is None:
            attempt.ended_at, attempt.outcome = now, Outcome.completed
    job.transcript = [*(job.transcript or []), {"attempt": job.attempts + 1, "channel": "chat",
                                                "turns": survey.transcript}]
    job.attempts += 1
    job.outcome, job.status, job.completed_at = survey.outcome or Outcome.completed, JobStatus.done, now
    db_session.flush()
    apply_to_ticket(db_session=db_session, job=job, ticket=ticket, now=now)


def collect_chat_answers(*, db_session: Session, now: datetime | None = None) -> list[ChatPost]:
    """Pick up answers the citizen gave through the hub (their messages are stored there before
    anything else happens), so the follow-up works without any change to the hub."""
    posts: list[ChatPost] = []
    waiting = db_session.scalars(select(CallbackJob).where(CallbackJob.status == JobStatus.chat_waiting)).all()
    for job in waiting:
        if not job.chat_message_id:
            continue
        replies = db_session.scalars(select(Message).where(
            Message.conversation_id == job.conversation_id, Message.role == MessageRole.citizen,
            Message.id > job.chat_message_id).order_by(Message.id)).all()
        for message in replies:
            if job.status != JobStatus.chat_waiting:
                break
            data = parse_payload(message.payload)
            if data is not None and data["job"] != job.id:
                continue
            _, post = chat_answer(db_session=db_session, conversation_id=job.conversation_id or "",
                                  payload=message.payload if data else None, text=None if data else message.text, now=now)
            if post is not None:
                posts.append(post)
    return posts


# ---- the hub's door: an answer typed or tapped in the chat ---------------------------------------

FOLLOWUP_REPROMPT = "不好意思，我没看明白。请您点一下上面的按钮，或者直接回复“满意”“基本满意”或“不满意”。"


def answer_from_hub(
    *, db_session: Session, conversation: Conversation, payload: str | None, text: str
) -> list[Message] | None:
    """A follow-up is waiting in this chat: the answer goes to it, not to Rasa (None: none waits)."""
    if payload and payload.startswith(CHAT_PREFIX) and payload not in (conversation.offered_payloads or []):
        payload = None  # a forged or stale button: treat as typed text
    db_session.flush()
    job, post = chat_answer(
        db_session=db_session, conversation_id=conversation.id, payload=payload, text=None if payload else text
    )
    if job is None:
        return None
    if post is None:
        return [conversations.add_message(db_session, conversation, MessageRole.bot, FOLLOWUP_REPROMPT)]
    message = db_session.get(Message, post.message_id)
    if message is not None and message.buttons:
        conversation.offered_payloads = [b["payload"] for b in message.buttons]
    return [message] if message is not None else []


def register() -> None:
    """Let the hub hand chat answers to the follow-up (called once where the app is put together)."""
    conversations.register_answer_hook(answer_from_hub)
