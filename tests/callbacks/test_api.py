"""The 回访 HTTP API: staff roles, campaigns, worker endpoints, results, 满意率, Excel, 不回访, chat follow-up."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.callbacks import campaigns, chat, queue
from api.callbacks.models import CallbackJob, JobStatus
from api.conversations.models import Conversation, Message
from api.tickets.models import Ticket, TicketStatus
from tests.callbacks.conftest import SERVICE_TOKEN, make_ticket, staff_token

SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@pytest.fixture
def client(database: str) -> TestClient:
    from api.main import create_app

    return TestClient(create_app())  # no lifespan: the fixture already migrated the database


def staff(role: str = "agent", username: str = "zhangli") -> dict[str, str]:
    return {"Authorization": f"Bearer {staff_token(role, username)}"}


def claim(client: TestClient) -> dict:
    r = client.post("/api/v1/callbacks/jobs/claim", json={"worker": "gw-test", "lease_seconds": 60}, headers=SERVICE)
    assert r.status_code == 200, r.text
    return r.json()


def test_staff_roles(client: TestClient) -> None:
    assert client.get("/api/v1/callbacks/queue").status_code == 401
    assert client.get("/api/v1/callbacks/queue", headers=staff("handler", "chengban")).status_code == 403
    assert client.get("/api/v1/callbacks/queue", headers=staff("leader", "lingdao")).status_code == 200
    assert client.post("/api/v1/callbacks/campaigns", json={}, headers=staff("leader", "lingdao")).status_code == 403
    # Workers' endpoints take the service token only.
    assert client.post("/api/v1/callbacks/jobs/claim", json={"worker": "x"}, headers=staff()).status_code == 401


def test_campaign_claim_and_result_over_http(client: TestClient, db_session: Session) -> None:
    ticket = make_ticket(db_session)
    queue = client.get("/api/v1/callbacks/queue", headers=staff()).json()
    assert [j["ticket_no"] for j in queue] == [ticket.ticket_no]
    assert queue[0]["phone"] == "138****1234" and queue[0]["status_label"] == "待拨打"
    assert claim(client) is None  # no campaign yet
    started = client.post("/api/v1/callbacks/campaigns", json={"name": "周五回访"}, headers=staff())
    assert started.status_code == 201 and started.json()["status"] == "running"
    job = claim(client)
    assert job["phone"] == "13805151234" and job["matter"]["citizen_name"] == "王建国"
    progress = client.get("/api/v1/callbacks/progress", headers=staff()).json()
    assert progress["calling"] == 1 and progress["campaign"]["name"] == "周五回访"
    beat = client.post(f"/api/v1/callbacks/jobs/{job['job_id']}/heartbeat", json={"lease_token": job["lease_token"]},
                       headers=SERVICE)
    assert beat.status_code == 200
    wrong = client.post(f"/api/v1/callbacks/jobs/{job['job_id']}/result",
                        json={"lease_token": "not-mine", "outcome": "completed", "rating": "满意"}, headers=SERVICE)
    assert wrong.status_code == 409
    wav = b"RIFF" + b"\0" * 40
    up = client.post(f"/api/v1/callbacks/jobs/{job['job_id']}/recording", params={"lease_token": job["lease_token"]},
                     content=wav, headers={**SERVICE, "Content-Type": "audio/wav"})
    assert up.status_code == 200
    done = client.post(f"/api/v1/callbacks/jobs/{job['job_id']}/result", headers=SERVICE, json={
        "lease_token": job["lease_token"], "outcome": "completed", "solved": False, "rating": "不满意",
        "reason": "路灯还是不亮", "transcript": [{"who": "bot", "text": "您好"}]})
    assert done.status_code == 200 and done.json()["status"] == "done"
    db_session.expire_all()
    t = db_session.get(Ticket, ticket.id)
    assert t.status == TicketStatus.in_progress and t.escalation_level == 1
    detail = client.get(f"/api/v1/callbacks/jobs/{job['job_id']}", headers=staff()).json()
    assert detail["has_recording"] and detail["attempt_log"][0]["outcome"] == "completed"
    assert client.get(f"/api/v1/callbacks/jobs/{job['job_id']}/recording", headers=staff()).content == wav
    campaign_id = started.json()["id"]
    assert client.post(f"/api/v1/callbacks/campaigns/{campaign_id}/pause", headers=staff()).json()["status"] == "paused"
    assert client.post(f"/api/v1/callbacks/campaigns/{campaign_id}/resume", headers=staff()).json()["status"] == "running"


def test_results_filters_stats_and_excel(client: TestClient, db_session: Session) -> None:
    for i, dept in enumerate(["cgj", "cgj", "scjgj"]):
        make_ticket(db_session, phone=f"1370515000{i}", department=dept)
    client.post("/api/v1/callbacks/campaigns", json={}, headers=staff())
    for rating in ("满意", "基本满意", "不满意"):
        job = claim(client)
        client.post(f"/api/v1/callbacks/jobs/{job['job_id']}/result", headers=SERVICE, json={
            "lease_token": job["lease_token"], "outcome": "completed", "solved": rating != "不满意", "rating": rating,
            "reason": "还是有噪音" if rating == "不满意" else None})
    only_bad = client.get("/api/v1/callbacks/results", params={"rating": "不满意"}, headers=staff()).json()
    assert [j["reason"] for j in only_bad] == ["还是有噪音"]
    by_dept = client.get("/api/v1/callbacks/results", params={"department": "cgj"}, headers=staff()).json()
    assert len(by_dept) == 2
    stats = client.get("/api/v1/callbacks/stats", headers=staff()).json()
    assert stats["overall"]["valid"] == 3 and stats["overall"]["rate"] == pytest.approx(2 / 3, abs=1e-4)
    export = client.get("/api/v1/callbacks/results.xlsx", headers=staff())
    assert export.status_code == 200 and export.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(BytesIO(export.content))
    rows = list(book["回访结果"].iter_rows(values_only=True))
    assert rows[0][0] == "工单号" and len(rows) == 4 and {r[6] for r in rows[1:]} == {"满意", "基本满意", "不满意"}
    summary = list(book["满意率"].iter_rows(values_only=True))
    assert summary[-3][0] == "全县合计" and summary[-3][-1] == "66.7%"


def test_optouts_over_http(client: TestClient, db_session: Session) -> None:
    make_ticket(db_session, phone="13805159876")
    client.get("/api/v1/callbacks/queue", headers=staff())
    r = client.post("/api/v1/callbacks/optouts", json={"phone": "138 0515 9876", "reason": "本人要求"}, headers=staff())
    assert r.status_code == 201 and r.json()["phone"] == "13805159876"
    assert client.get("/api/v1/callbacks/results", params={"status": "skipped"}, headers=staff()).json()[0]["skip_reason"]
    assert client.post("/api/v1/callbacks/optouts", json={"reason": "x"}, headers=staff()).status_code == 422
    assert client.delete(f"/api/v1/callbacks/optouts/{r.json()['id']}", headers=staff()).status_code == 204


def test_staff_page_is_served(client: TestClient) -> None:
    page = client.get("/callbacks")
    assert page.status_code == 200 and "智能回访" in page.text
    assert client.get("/static/callbacks/callbacks.js").status_code == 200


# ---- chat follow-up ------------------------------------------------------------------------------

def citizen(conversation_id: str) -> dict[str, str]:
    """The chat page's session token for a conversation made by chat_ticket()."""
    return {"Authorization": f"Bearer token-of-{conversation_id}"}


def chat_ticket(db_session: Session, conversation_id: str, phone: str | None = "13805150777") -> Ticket:
    token_hash = hashlib.sha256(f"token-of-{conversation_id}".encode()).hexdigest()
    db_session.add(Conversation(id=conversation_id, channel="chat", mode="bot", token_hash=token_hash))
    db_session.commit()
    return make_ticket(db_session, channel="chat", conversation_id=conversation_id, phone=phone)


def bot_messages(db_session: Session, conversation_id: str) -> list[Message]:
    db_session.expire_all()
    return list(db_session.scalars(select(Message).where(
        Message.conversation_id == conversation_id, Message.role == "bot").order_by(Message.id)))


def test_chat_follow_up_through_the_hub(client: TestClient, db_session: Session) -> None:
    cid = "c-callback-0001"
    ticket = chat_ticket(db_session, cid)
    assert client.post("/api/v1/callbacks/chat/run", headers=SERVICE).json()["posted"] == 1
    question = bot_messages(db_session, cid)[-1]
    assert "解决了吗" in question.text and [b["title"] for b in question.buttons] == ["已解决", "未解决"]
    # The citizen taps 已解决 on the chat page: the hub stores it (Rasa need not understand it).
    tapped = client.post(f"/api/v1/conversations/{cid}/messages", headers=citizen(cid),
                         json={"text": "已解决", "payload": question.buttons[0]["payload"]})
    assert tapped.status_code == 200
    # The hub hands the answer to the follow-up (not to Rasa) and the next question comes straight back.
    assert [r["text"] for r in tapped.json()["replies"]] == ["请您对这次办理给个评价："]
    client.post("/api/v1/callbacks/chat/run", headers=SERVICE)
    rating = bot_messages(db_session, cid)[-1]
    assert [b["title"] for b in rating.buttons] == ["满意", "基本满意", "不满意"]
    # …or the page calls the dedicated endpoint directly.
    answer = client.post(f"/api/v1/callbacks/chat/{cid}/answer", json={"payload": rating.buttons[0]["payload"]}, headers=citizen(cid))
    assert answer.status_code == 200 and answer.json()["status"] == "done"
    db_session.expire_all()
    t = db_session.get(Ticket, ticket.id)
    assert t.status == TicketStatus.closed and t.satisfaction == "满意"
    job = db_session.scalar(select(CallbackJob).where(CallbackJob.ticket_id == ticket.id))
    assert job.channel == "chat" and job.transcript[0]["channel"] == "chat"


def test_chat_dissatisfied_with_typed_reason(client: TestClient, db_session: Session) -> None:
    cid = "c-callback-0002"
    ticket = chat_ticket(db_session, cid)
    client.post("/api/v1/callbacks/chat/run", headers=SERVICE)
    assert client.post(f"/api/v1/callbacks/chat/{cid}/answer", json={"text": "没有解决"}, headers=citizen(cid)).json()["buttons"]
    ask = client.post(f"/api/v1/callbacks/chat/{cid}/answer", json={"text": "不满意"}, headers=citizen(cid)).json()
    assert "原因" in ask["reply"]
    done = client.post(f"/api/v1/callbacks/chat/{cid}/answer", json={"text": "工人来了一趟就走了，灯还是不亮"}, headers=citizen(cid)).json()
    assert done["status"] == "done"
    db_session.expire_all()
    t = db_session.get(Ticket, ticket.id)
    assert t.status == TicketStatus.in_progress and t.escalation_level == 1
    assert client.post(f"/api/v1/callbacks/chat/{cid}/answer", json={"text": "满意"}, headers=citizen(cid)).status_code == 404


def test_unanswered_chat_falls_back_to_a_phone_call(db_session: Session) -> None:
    ticket = chat_ticket(db_session, "c-callback-0003")
    now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    queue.sync(db_session=db_session, now=now)
    assert len(chat.start_chat_followups(db_session=db_session, now=now)) == 1
    campaigns.start_campaign(db_session=db_session, actor="zhangli", now=now)
    assert queue.claim(db_session=db_session, worker="w1", now=now + timedelta(hours=1)) is None  # chat first
    chat.start_chat_followups(db_session=db_session, now=now + timedelta(hours=5))
    job = db_session.scalar(select(CallbackJob).where(CallbackJob.ticket_id == ticket.id))
    db_session.refresh(job)
    assert job.channel == "phone" and job.status == JobStatus.queued and "改为电话回访" in job.skip_reason
    campaigns.start_campaign(db_session=db_session, actor="zhangli", now=now + timedelta(hours=5))
    claimed = queue.claim(db_session=db_session, worker="w1", now=now + timedelta(hours=5))
    assert claimed is not None and claimed.job.id == job.id
