"""Promises kept under faults: the ticket number reaches the citizen; a turn reaches Rasa at most once."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.api.backoffice_helpers import SERVICE
from tests.security.test_sessions import start
from tests.support.stack import RASA_TOKEN


def test_a_replayed_filing_posts_the_number_once(client: TestClient) -> None:
    conversation_id, token = start(client)
    body = {"demand_type": "complaint", "description": "小区门口的下水道堵了，污水漫到路上", "location": "近湖街道湖垛社区",
            "phone": "13912345678", "conversation_id": conversation_id, "channel": "chat"}
    headers = {**SERVICE, "Idempotency-Key": f"outbox-{uuid.uuid4().hex}"}
    # The action's own call: the API files it, but the answer never reaches the bot (a timeout).
    first = client.post("/api/v1/tickets", json={**body, "notify_conversation": False}, headers=headers)
    assert first.status_code == 201
    ticket_no = first.json()["ticket_no"]
    # The outbox replays it with notify_conversation: 200, and the citizen gets the number now.
    replay = client.post("/api/v1/tickets", json={**body, "notify_conversation": True}, headers=headers)
    assert replay.status_code == 200 and replay.json()["ticket_no"] == ticket_no

    def told() -> list[str]:
        messages = client.get(f"/api/v1/conversations/{conversation_id}", headers=token).json()["messages"]
        return [m["text"] for m in messages if ticket_no in m["text"]]

    assert len(told()) == 1 and "工单号是" in told()[0]
    client.post("/api/v1/tickets", json={**body, "notify_conversation": True}, headers=headers)
    assert len(told()) == 1  # a second replay does not repeat it


def _user_turns(rasa_url: str, conversation_id: str) -> list[dict]:
    tracker = httpx.get(f"{rasa_url}/conversations/{conversation_id}/tracker",
                        params={"token": RASA_TOKEN, "include_events": "ALL"}, timeout=30).json()
    return [e for e in tracker.get("events") or [] if e.get("event") == "user"]


@pytest.fixture
def hub_on_real_rasa(client: TestClient, stack, monkeypatch):  # noqa: ANN001, ANN201
    """This test's API process talks to the session's real Rasa server, and its commits can be made to fail."""
    from api.conversations import rasa_client
    from api.core.settings import get_settings

    monkeypatch.setenv("MINSHENG_RASA_URL", stack.rasa_url)
    monkeypatch.setenv("MINSHENG_RASA_TOKEN", RASA_TOKEN)
    monkeypatch.setenv("MINSHENG_RASA_TIMEOUT_SECONDS", "60")
    get_settings.cache_clear()
    answered = {"armed": False, "failed": 0}
    real_send, real_commit = rasa_client.send, Session.commit

    def send(**kwargs):  # noqa: ANN003, ANN202
        replies = real_send(**kwargs)
        answered["armed"] = True  # Rasa has processed the turn; the next commit is the one that stores it
        return replies

    def commit(self):  # noqa: ANN001, ANN202
        if answered["armed"] and answered["failed"] == 0:
            answered["failed"] += 1
            self.rollback()
            raise OperationalError("COMMIT", {}, Exception("database is locked"))
        return real_commit(self)

    monkeypatch.setattr(rasa_client, "send", send)
    monkeypatch.setattr(Session, "commit", commit)
    yield answered
    get_settings.cache_clear()


def test_a_failed_commit_does_not_resend_the_turn(client: TestClient, stack, hub_on_real_rasa) -> None:
    conversation_id, token = start(client)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    body = {"text": "你好，我想反映个问题", "client_message_id": "turn-1"}
    failed = client.post(url, json=body, headers=token)
    assert failed.status_code == 503 and "稍后重试" in failed.json()["detail"]  # not a 500
    assert hub_on_real_rasa["failed"] == 1
    assert len(_user_turns(stack.rasa_url, conversation_id)) == 1
    # The page resends the same message: the answer Rasa gave is recovered from its tracker.
    again = client.post(url, json=body, headers=token)
    assert again.status_code == 200 and again.json()["replies"], again.text
    assert len(_user_turns(stack.rasa_url, conversation_id)) == 1
    stored = client.get(f"/api/v1/conversations/{conversation_id}", headers=token).json()["messages"]
    assert [m["role"] for m in stored].count("citizen") == 1 and not stored[0]["pending"]
    assert stored[0]["intent"]  # the turn's understanding is recovered too


def test_the_background_retry_does_not_resend_either(client: TestClient, stack, hub_on_real_rasa) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from api.conversations import service
    from api.conversations.models import Message
    from api.core.db import session_factory, utcnow

    conversation_id, token = start(client)
    failed = client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": "我要投诉路灯坏了"},
                         headers=token)
    assert failed.status_code == 503
    with session_factory()() as db_session:  # an hour later: the pending message has settled
        db_session.execute(update(Message).where(Message.conversation_id == conversation_id)
                           .values(created_at=utcnow() - timedelta(hours=1)))
        db_session.commit()
    recovered = [m for _, messages in asyncio.run(service.retry_pending()) for m in messages]
    assert [m.conversation_id for m in recovered] and all(m.conversation_id == conversation_id for m in recovered)
    assert len(_user_turns(stack.rasa_url, conversation_id)) == 1
    stored = client.get(f"/api/v1/conversations/{conversation_id}", headers=token).json()["messages"]
    assert stored[0]["pending"] is False and any(m["role"] == "bot" for m in stored)
