"""PIPL basics: retention purge per kind of data, a citizen's export and erasure by staff, all audited."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.api.backoffice_helpers import SERVICE
from tests.security.test_sessions import say, start

PHONE = "13955556666"


def _filed(client: TestClient) -> tuple[str, str, dict]:
    conversation_id, token = start(client)
    say(client, conversation_id, token, f"路灯坏了，我姓赵，电话{PHONE}")
    ticket = client.post("/api/v1/tickets", headers={**SERVICE, "Idempotency-Key": uuid.uuid4().hex}, json={
        "demand_type": "complaint", "description": f"路灯坏了，回电{PHONE}", "location": "近湖街道",
        "phone": PHONE, "citizen_name": "赵先生", "conversation_id": conversation_id, "channel": "chat"}).json()
    return ticket["ticket_no"], conversation_id, token


def test_export_and_erasure_on_request_are_audited(client: TestClient, staff) -> None:
    ticket_no, conversation_id, token = _filed(client)
    request = {"phone": PHONE, "reason": "市民12月3日来电申请，坐席王芳受理"}
    assert client.post("/api/v1/privacy/export", json=request, headers=staff["agent"]).status_code == 403
    exported = client.post("/api/v1/privacy/export", json=request, headers=staff["supervisor"])
    assert exported.status_code == 200
    data = exported.json()
    assert [t["ticket_no"] for t in data["tickets"]] == [ticket_no]
    assert PHONE in data["conversations"][0]["messages"][0]["text"]

    erased = client.post("/api/v1/privacy/erase", json=request, headers=staff["admin"])
    assert erased.status_code == 200 and erased.json()["messages"] >= 1
    ticket = client.get(f"/api/v1/tickets/{ticket_no}", headers=SERVICE).json()
    assert ticket["phone"] is None and ticket["citizen_name"] is None and PHONE not in ticket["description"]
    assert client.get(f"/api/v1/conversations/{conversation_id}", headers=token).json()["messages"] == []
    again = client.post("/api/v1/privacy/export", json=request, headers=staff["admin"]).json()
    assert again["tickets"] == [] and PHONE not in str({k: v for k, v in again.items() if k != "phone"})
    log = client.get("/api/v1/privacy/events", headers=staff["admin"]).json()
    assert [e["action"] for e in log][:3] == ["export", "erase", "export"]
    assert all(e["subject"] == "139****6666" for e in log[:3]) and log[1]["actor"] == "admin"
    assert PHONE not in str(log)


def test_retention_purge_by_kind(client: TestClient, staff, tmp_path) -> None:
    from api.conversations.models import Conversation
    from api.core.db import session_factory, utcnow
    from api.tickets.models import Ticket

    old_no, old_conversation, _ = _filed(client)
    new_no, new_conversation, new_token = _filed(client)
    long_ago = utcnow() - timedelta(days=400)
    with session_factory()() as db_session:
        db_session.execute(update(Conversation).where(Conversation.id == old_conversation).values(updated_at=long_ago))
        db_session.execute(update(Ticket).where(Ticket.ticket_no == old_no).values(closed_at=long_ago))
        db_session.commit()
    assert client.post("/api/v1/privacy/purge", headers=staff["supervisor"]).status_code == 403
    counts = client.post("/api/v1/privacy/purge", headers=staff["admin"]).json()
    assert counts["conversations"] == 1 and counts["ticket_contacts"] == 1
    assert client.get(f"/api/v1/conversations/{old_conversation}", headers=SERVICE).json()["messages"] == []
    assert client.get(f"/api/v1/tickets/{old_no}", headers=SERVICE).json()["phone"] is None
    # What is still within its period stays.
    assert client.get(f"/api/v1/conversations/{new_conversation}", headers=new_token).json()["messages"]
    assert client.get(f"/api/v1/tickets/{new_no}", headers=SERVICE).json()["phone"] == PHONE
    policy = client.get("/api/v1/privacy/policy", headers=staff["agent"]).json()["retention"]
    assert {p["kind"] for p in policy} == {"recordings", "transcripts", "contacts"}
    assert client.post("/api/v1/privacy/purge", headers=staff["admin"]).json()["conversations"] == 0


def test_the_chat_page_states_the_consent_notice(client: TestClient) -> None:
    page = client.get("/chat").text
    assert "仅用于办理您反映的问题" in page and "删除您的个人信息" in page
