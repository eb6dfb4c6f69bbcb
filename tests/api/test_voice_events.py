"""The voice gateway's line events at the hub (real app and migrations, SQLite and PostgreSQL):
a call is a conversation from the first ring, retries store nothing twice, a silent caller is
listed for agents with a place in the queue, and the endpoints want the service token."""

from __future__ import annotations

import uuid

from backoffice_helpers import SERVICE
from fastapi.testclient import TestClient


def _event(client: TestClient, cid: str, event_id: str, kind: str, **fields) -> dict:
    r = client.post(f"/api/v1/conversations/{cid}/voice-events", json={"event_id": event_id, "kind": kind, **fields},
                    headers=SERVICE)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_silent_call_is_a_listed_conversation_from_the_first_ring(client: TestClient, staff) -> None:
    cid, earlier = f"call-{uuid.uuid4().hex}", f"call-{uuid.uuid4().hex}"
    _event(client, earlier, "e1", "call_started", caller_number="13805150001")
    _event(client, earlier, "e2", "silent_caller")  # an earlier silent caller waits ahead

    assert _event(client, cid, "c1", "call_started", caller_number="13805150000")["mode"] == "bot"
    _event(client, cid, "c2", "prompt", text="请问您要反映什么问题？")
    again = _event(client, cid, "c2", "prompt", text="请问您要反映什么问题？")  # the gateway retried
    assert again["recorded"] is False
    _event(client, cid, "c3", "silence", seconds=8)
    _event(client, cid, "c4", "keypad", digits="13805150000")
    listed = _event(client, cid, "c5", "silent_caller")
    assert listed["handoff_requested"] is True

    agent = staff["admin"]
    detail = client.get(f"/api/v1/console/conversations/{cid}", headers=agent).json()
    assert detail["channel"] == "voice" and detail["caller_number"] == "13805150000"
    assert detail["handoff_reason"] == "silent_caller" and detail["waiting_since"]
    assert [(m["role"], m["text"]) for m in detail["messages"]] == [
        ("system", "电话接通。"),
        ("bot", "请问您要反映什么问题？"),
        ("system", "（来电者约8秒没有说话）"),
        ("system", "（来电者按键输入了11位号码）"),  # the number itself is not copied into the log line
        ("system", "来电者一直没有说话（问候和三次提示后），已列入人工队列。"),
    ]
    assert any(e["action"] == "handoff_request" and e["actor"] == "voice_gateway" for e in detail["events"])
    assert cid in [c["conversation_id"] for c in client.get("/api/v1/console/conversations", headers=agent).json()["conversations"]]

    place = client.get(f"/api/v1/conversations/{cid}/queue", headers=SERVICE).json()
    assert (place["waiting"], place["position"], place["queue_length"]) == (True, 2, 2)
    taken = client.post(f"/api/v1/console/conversations/{earlier}/takeover", headers=agent)
    assert taken.status_code == 200, taken.text
    assert client.get(f"/api/v1/conversations/{cid}/queue", headers=SERVICE).json()["position"] == 1
    # the taken call learns of its agent through its next event
    assert _event(client, earlier, "e3", "prompt", text="正在为您转接人工服务，请不要挂机。")["mode"] == "agent"


def test_a_callback_chosen_on_the_keypad_waits_in_the_callback_queue(client: TestClient, staff) -> None:
    cid = f"call-{uuid.uuid4().hex}"
    _event(client, cid, "c1", "call_started", caller_number="13805150002")
    _event(client, cid, "c2", "callback")
    _event(client, cid, "c2", "callback")  # a retry is not a second callback
    waiting = client.get("/api/v1/console/callback-requests", headers=staff["admin"]).json()
    mine = [w for w in waiting if w["conversation_id"] == cid]
    assert len(mine) == 1 and mine[0]["phone_masked"] == "138****0002"


def test_voice_events_need_the_service_token_and_a_valid_event(client: TestClient) -> None:
    cid = f"call-{uuid.uuid4().hex}"
    body = {"event_id": "x1", "kind": "call_started", "caller_number": "13805150000"}
    assert client.post(f"/api/v1/conversations/{cid}/voice-events", json=body).status_code == 401
    assert client.get(f"/api/v1/conversations/{cid}/queue").status_code == 401
    bad = client.post(f"/api/v1/conversations/{cid}/voice-events", json={**body, "kind": "sing"}, headers=SERVICE)
    assert bad.status_code == 422
    assert client.get(f"/api/v1/conversations/{cid}/queue", headers=SERVICE).status_code == 404
    short = client.post("/api/v1/conversations/abc/voice-events", json=body, headers=SERVICE)
    assert short.status_code == 422 and "对话编号" in short.json()["detail"]
