"""Human agents and the hub: escalation queue, takeover, agent messages, hand-back, closing.

A takeover is an atomic claim (UPDATE … WHERE the conversation is free), so two agents can never
hold one conversation; every step is written to conversation_events.
"""

from __future__ import annotations

from fastapi import HTTPException, status
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from api.conversations import rasa_client
from api.conversations.models import Conversation, ConversationEvent, Message, Mode, Role
from api.conversations.service import add_message, get_or_404
from api.core.db import utcnow

TAKEOVER_NOTICE = "您好，人工坐席已经接入，接下来由工作人员为您服务。您刚才说的内容坐席都能看到，不用重复。"
HANDBACK_NOTICE = "工作人员已经把对话交回给智能客服，我们接着刚才的登记。"
AGENT_CLOSED_NOTICE = "本次对话由工作人员结束了，感谢您对12345热线的支持。如还有问题，欢迎随时再联系我们。"


def audit(db_session: Session, conversation_id: str, action: str, actor: str, note: str | None = None) -> None:
    db_session.add(ConversationEvent(conversation_id=conversation_id, action=action, actor=actor, note=note))


def takeover(*, db_session: Session, conversation_id: str, agent: str) -> tuple[Conversation, Message]:
    conversation = get_or_404(db_session=db_session, conversation_id=conversation_id)
    if conversation.mode == Mode.closed:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="这个对话已经结束，不能接管。")
    claimed = db_session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.mode != Mode.closed,
            or_(Conversation.assigned_agent.is_(None), Conversation.assigned_agent == agent),
        )
        .values(mode=Mode.agent, assigned_agent=agent, taken_over_at=utcnow(), handoff_requested=False)
    )
    if claimed.rowcount != 1:
        db_session.rollback()
        holder = db_session.scalar(select(Conversation.assigned_agent).where(Conversation.id == conversation_id))
        audit(db_session, conversation_id, "takeover_refused", agent, f"已由{holder}接管")
        db_session.commit()
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"这个对话已由坐席 {holder} 接管，不能重复接管。")
    db_session.refresh(conversation)
    notice = add_message(db_session, conversation, Role.system, TAKEOVER_NOTICE)
    audit(db_session, conversation_id, "takeover", agent)
    db_session.commit()
    return conversation, notice


def _held_by(db_session: Session, conversation_id: str, agent: str) -> Conversation:
    conversation = get_or_404(db_session=db_session, conversation_id=conversation_id)
    if conversation.mode != Mode.agent or conversation.assigned_agent != agent:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="您没有接管这个对话，请先点“接管”。")
    return conversation


def agent_message(*, db_session: Session, conversation_id: str, agent: str, text: str) -> Message:
    conversation = _held_by(db_session, conversation_id, agent)
    message = add_message(db_session, conversation, Role.agent, text, author=agent)
    audit(db_session, conversation_id, "agent_message", agent)
    db_session.commit()
    return message


def hand_back(*, db_session: Session, conversation_id: str, agent: str) -> tuple[Conversation, list[Message]]:
    """Give the conversation back to the bot; the intake form resumes where it was."""
    conversation = _held_by(db_session, conversation_id, agent)
    conversation.mode = Mode.bot
    conversation.assigned_agent = None
    conversation.handoff_requested = False
    conversation.low_confidence_turns = 0
    new = [add_message(db_session, conversation, Role.system, HANDBACK_NOTICE)]
    audit(db_session, conversation_id, "hand_back", agent)
    db_session.commit()
    # Rasa kept the tracker (slots, active form) while the agent talked: ask it to carry on.
    try:
        replies = rasa_client.blocking(rasa_client.trigger_intent, sender=conversation_id,
                                       intent="EXTERNAL_resume_after_agent")
    except rasa_client.RasaUnavailable:
        replies = []
    for reply in replies:
        new.append(add_message(db_session, conversation, Role.bot, reply.text, buttons=reply.buttons or None))
    if replies:
        conversation.offered_payloads = [b["payload"] for r in replies for b in r.buttons]
    db_session.commit()
    return conversation, new


def close_by_agent(*, db_session: Session, conversation_id: str, agent: str) -> tuple[Conversation, Message]:
    conversation = _held_by(db_session, conversation_id, agent)
    message = add_message(db_session, conversation, Role.system, AGENT_CLOSED_NOTICE)
    conversation.mode = Mode.closed
    conversation.closed_reason = "agent_closed"
    audit(db_session, conversation_id, "close", agent)
    db_session.commit()
    return conversation, message


def escalation_queue(*, db_session: Session) -> list[Conversation]:
    """Conversations waiting for a person, longest-waiting first."""
    return list(
        db_session.scalars(
            select(Conversation)
            .where(Conversation.handoff_requested.is_(True), Conversation.mode == Mode.bot)
            .order_by(Conversation.updated_at)
        )
    )


def live_conversations(*, db_session: Session, limit: int = 200) -> list[Conversation]:
    return list(
        db_session.scalars(
            select(Conversation).where(Conversation.mode != Mode.closed).order_by(Conversation.updated_at.desc()).limit(limit)
        )
    )


def events(*, db_session: Session, conversation_id: str) -> list[ConversationEvent]:
    return list(
        db_session.scalars(
            select(ConversationEvent).where(ConversationEvent.conversation_id == conversation_id).order_by(ConversationEvent.id)
        )
    )
