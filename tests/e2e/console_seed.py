"""Conversations in the states the console queue must tell apart (API test and Chromium test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from api.conversations.models import Conversation, ConversationEvent, Message
from api.tickets.models import Ticket

# conversation id → what it is; QUEUE_ORDER is the order an agent must serve them in.
RISKY, LONGEST, SHORTER, FINISHED, CHATTING = (
    "web-risky-0000000000000001", "web-longest-00000000000001", "web-shorter-00000000000001",
    "web-finished-0000000000001", "web-chatting-0000000000001")
QUEUE_ORDER = [RISKY, LONGEST, SHORTER]


def _conversation(db_session: Session, cid: str, *, now: datetime, waited: int | None, risk: list[str] | None = None,
                  place: str | None = None, matter: str | None = None, said: str, intent: str | None,
                  stale_intent: str | None = None) -> None:
    started = now - timedelta(minutes=(waited or 0) + 5)
    slots = {k: v for k, v in (("location", place), ("description", matter)) if v}
    db_session.add(Conversation(
        id=cid, channel="chat", mode="bot", handoff_requested=waited is not None,
        handoff_reason="citizen_request" if waited is not None else None, risk_flags=risk,
        last_intent=stale_intent or intent, draft={"slots": slots} if slots else None,
        created_at=started, updated_at=now - timedelta(seconds=30),
    ))
    db_session.flush()
    db_session.add(Message(conversation_id=cid, role="citizen", text=said, intent=intent, created_at=started))
    if waited is not None:
        db_session.add(ConversationEvent(conversation_id=cid, action="handoff_request", actor="bot", note="citizen_request",
                                         created_at=now - timedelta(minutes=waited)))


def seed_queue(db_session: Session, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    # Asked for a person 3 minutes ago but flagged at risk: served first.
    _conversation(db_session, RISKY, now=now, waited=3, risk=["自伤风险"], place="上冈镇草堰口村",
                  matter="家里老人说不想活了，想找人帮忙", said="转人工，快点", intent="request_human")
    # Waiting 25 minutes: next. Its last turn was understood as a place answer, not the opening complaint.
    _conversation(db_session, LONGEST, now=now, waited=25, place="近湖街道人民路冠华路路口",
                  matter="路灯坏了一个多星期，晚上很黑，电话13812345678", said="就在人民路冠华路路口",
                  intent="inform", stale_intent="complaint")
    _conversation(db_session, SHORTER, now=now, waited=8, place="钟庄街道建宝新村",
                  matter="楼下饭店油烟太大", said="我要找人工", intent="request_human")
    # The intake finished: its ticket was filed after the citizen's last words.
    _conversation(db_session, FINISHED, now=now, waited=None, place="建阳镇双河村", matter="路灯不亮",
                  said="好的谢谢", intent="thank")
    db_session.add(Ticket(ticket_no="JH20261203-0901", status="已受理", channel="chat", conversation_id=FINISHED,
                          demand_type="complaint", description="建阳镇双河村路灯不亮", location="建阳镇双河村",
                          created_at=now - timedelta(minutes=1), updated_at=now - timedelta(minutes=1)))
    _conversation(db_session, CHATTING, now=now, waited=None, said="我想问一下公积金怎么提取", intent="consult")
    db_session.commit()
