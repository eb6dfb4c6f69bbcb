"""Citizen status lookup and 催办: right phone, wrong phone (same answer as an unknown number),
throttling, the department's reply, the urge event and the notice to the lead department."""

from __future__ import annotations

import pytest
from backoffice_helpers import SERVICE, act, get, new_ticket

from api.tickets import citizen


@pytest.fixture(autouse=True)
def fresh_throttle():
    citizen.throttle.reset()
    yield
    citizen.throttle.reset()


def lookup(client, ticket_no: str, last4: str, headers=SERVICE):
    return client.post(f"/api/v1/tickets/{ticket_no}/status-lookup", json={"phone_last4": last4}, headers=headers)


def test_right_phone_gets_the_status_in_plain_words(client) -> None:
    t = new_ticket(client, phone="13812345678")
    r = lookup(client, t["ticket_no"], "5678")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ticket_no"] == t["ticket_no"] and body["status"] == t["status"]
    assert "工单" in body["status_text"] and body["reply_text"] is None and body["urge_count"] == 0


def test_wrong_phone_and_unknown_number_get_the_same_answer(client) -> None:
    t = new_ticket(client, phone="13812345678")
    wrong = lookup(client, t["ticket_no"], "1234")
    unknown = lookup(client, "JH20000101-0001", "5678")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
    assert t["ticket_no"] not in wrong.text and "5678" not in wrong.text


def test_the_service_token_is_required(client) -> None:
    t = new_ticket(client)
    assert lookup(client, t["ticket_no"], "5678", headers={}).status_code == 401
    r = client.post(f"/api/v1/tickets/{t['ticket_no']}/urge", json={"phone_last4": "5678"})
    assert r.status_code == 401


def test_guessing_is_throttled_for_right_and_unknown_numbers_alike(client) -> None:
    t = new_ticket(client, phone="13812345678")
    for guess in ("0000", "1111", "2222", "3333", "4444"):
        assert lookup(client, t["ticket_no"], guess).status_code == 404
        assert lookup(client, "JH20000101-0009", guess).status_code == 404
    # locked now, even with the right digits; an unknown number behaves the same
    assert lookup(client, t["ticket_no"], "5678").status_code == 429
    assert lookup(client, "JH20000101-0009", "5678").status_code == 429
    # another ticket is not affected
    other = new_ticket(client, phone="13900001111")
    assert lookup(client, other["ticket_no"], "1111").status_code == 200


def test_malformed_last4_is_rejected(client) -> None:
    t = new_ticket(client)
    assert lookup(client, t["ticket_no"], "56a8").status_code == 422
    assert lookup(client, t["ticket_no"], "45678").status_code == 422


def test_the_department_reply_is_read_back(client, staff) -> None:
    t = new_ticket(client, phone="13812345678")
    no = t["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="城管局")
    assert "城管局" in lookup(client, no, "5678").json()["status_text"]
    act(client, staff["handler_cgj"], no, "sign")
    act(client, staff["handler_cgj"], no, "start")
    body = lookup(client, no, "5678").json()
    assert body["status"] == "办理中" and "正在办理" in body["status_text"] and body["reply_text"] is None
    act(client, staff["handler_cgj"], no, "reply", note="已安排维修班组更换灯具，当晚恢复照明。")
    body = lookup(client, no, "5678").json()
    assert body["reply_text"] == "已安排维修班组更换灯具，当晚恢复照明。"
    assert body["department"] == "城管局" and "答复" in body["status_text"]


def test_urge_is_an_event_staff_see_and_notifies_the_lead_department(client, staff) -> None:
    t = new_ticket(client, phone="13812345678")
    no = t["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="城管局")
    r = client.post(f"/api/v1/tickets/{no}/urge", json={"phone_last4": "5678", "note": "路灯还是不亮"}, headers=SERVICE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["recorded"] is True and body["urge_count"] == 1 and body["notified"] == "城管局"
    again = client.post(f"/api/v1/tickets/{no}/urge", json={"phone_last4": "5678"}, headers=SERVICE).json()
    assert again["urge_count"] == 2

    full = get(client, staff["dispatcher"], no)
    urges = [e for e in full["events"] if e["action"] == "urge"]
    assert [e["actor"] for e in urges] == ["citizen", "citizen"]
    assert "路灯还是不亮" in urges[0]["note"] and "第2次" in urges[1]["note"]

    notes = client.get("/api/v1/notifications", headers=staff["handler_cgj"]).json()
    items = notes["items"] if isinstance(notes, dict) else notes
    urged = [n for n in items if n["kind"] == "催办"]
    assert len(urged) == 1 and no in urged[0]["message"]  # one notice a day, however often urged


def test_urge_with_a_wrong_phone_records_nothing(client, staff) -> None:
    t = new_ticket(client, phone="13812345678")
    r = client.post(f"/api/v1/tickets/{t['ticket_no']}/urge", json={"phone_last4": "0000"}, headers=SERVICE)
    assert r.status_code == 404
    full = get(client, staff["dispatcher"], t["ticket_no"])
    assert not [e for e in full["events"] if e["action"] == "urge"]


def test_urge_on_a_closed_ticket_is_not_recorded(client, staff) -> None:
    t = new_ticket(client, phone="13812345678")
    no = t["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="城管局")
    act(client, staff["handler_cgj"], no, "sign")
    act(client, staff["handler_cgj"], no, "start")
    act(client, staff["handler_cgj"], no, "reply", note="已修复。")
    act(client, staff["supervisor"], no, "review")
    act(client, staff["dispatcher"], no, "approve_reply")
    act(client, staff["agent"], no, "close", satisfaction="满意", note="回访满意")
    body = client.post(f"/api/v1/tickets/{no}/urge", json={"phone_last4": "5678"}, headers=SERVICE).json()
    assert body["recorded"] is False and body["status"]["closed"] is True
    assert body["status"]["reply_text"] == "已修复。"
