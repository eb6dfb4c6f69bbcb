"""The agent console's list and its 提交工单, on SQLite and PostgreSQL."""

from __future__ import annotations

from api.conversations.models import Conversation
from api.core.db import session_factory
from tests.e2e.console_seed import CHATTING, FINISHED, LONGEST, QUEUE_ORDER, seed_queue


def _rows(client, staff) -> dict[str, dict]:
    r = client.get("/api/v1/console/conversations", headers=staff["agent"])
    assert r.status_code == 200, r.text
    return r.json()["conversations"]


def test_queue_serves_risk_then_longest_wait_and_drops_finished_intakes(client, staff):
    with session_factory()() as db_session:
        seed_queue(db_session)
    rows = _rows(client, staff)
    ids = [r["conversation_id"] for r in rows]
    assert ids[:3] == QUEUE_ORDER  # the handoff queue first, in serving order
    assert FINISHED not in ids and CHATTING in ids
    longest = next(r for r in rows if r["conversation_id"] == LONGEST)
    assert longest["place"] == "近湖街道人民路冠华路路口"
    assert longest["summary"].startswith("路灯坏了一个多星期") and "13812345678" not in longest["summary"]
    assert longest["last_intent"] == "inform"  # the latest turn, not the stale opening intent


def _conversation(cid: str) -> None:
    with session_factory()() as db_session:
        db_session.add(Conversation(id=cid, channel="chat", mode="bot"))
        db_session.commit()


DRAFT = {"demand_type": "complaint", "description": "人民路冠华路路口路灯坏了一个多星期", "location": "近湖街道人民路",
         "phone": "13812345678", "citizen_name": "王建华"}


def test_console_refuses_a_second_ticket_for_the_same_conversation(client, staff):
    cid = "web-console-filing-0001"
    _conversation(cid)
    url = f"/api/v1/console/conversations/{cid}/ticket"
    first = client.post(url, json=DRAFT, headers=staff["agent"])
    assert first.status_code == 201, first.text
    no = first.json()["ticket_no"]
    # Pressing 提交工单 again on the same draft is a retry: the same ticket, nothing new.
    again = client.post(url, json=DRAFT, headers=staff["agent"])
    assert again.status_code == 201 and again.json()["ticket_no"] == no
    # An edited draft would be the same 诉求 filed twice: refused with the number and what to do instead.
    edited = client.post(url, json={**DRAFT, "description": DRAFT["description"] + "，晚上很黑"}, headers=staff["agent"])
    assert edited.status_code == 409 and no in edited.json()["detail"] and "另一诉求" in edited.json()["detail"]
    # A different matter in the same call is filed as its own ticket when the agent says so.
    other = client.post(url, json={**DRAFT, "description": "小区门口饭店油烟很大，熏得没法开窗", "another_matter": True},
                        headers=staff["agent"])
    assert other.status_code == 201 and other.json()["ticket_no"] != no
    listed = client.get("/api/v1/tickets", params={"q": "油烟"}, headers=staff["dispatcher"]).json()
    assert [t["ticket_no"] for t in listed["items"]] == [other.json()["ticket_no"]]
