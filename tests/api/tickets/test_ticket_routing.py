"""智能派单 wired into intake: /api/v1/classify, automatic dispatch when confident, the dispatcher queue otherwise."""

from __future__ import annotations

import pytest
from backoffice_helpers import SERVICE, act, new_ticket

LAMP = "人民路和冠华路路口的路灯坏了一个多星期，晚上很黑"


@pytest.fixture
def auto_dispatch(monkeypatch):
    from api.core.settings import get_settings

    monkeypatch.setenv("MINSHENG_AUTO_DISPATCH", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_classify_endpoint(client, staff):
    r = client.post("/api/v1/classify", json={"text": LAMP}, headers=SERVICE)
    assert r.status_code == 200
    body = r.json()
    assert body["level1"] == "城乡建设" and body["category"]["level1"] == "城乡建设"
    assert body["lead_department"] == "cgj" and body["lead_department_name"] == "城管局"
    assert body["needs_dispatcher"] is False and body["confidence"] > 0.45 and body["reasons"]
    assert client.post("/api/v1/classify", json={"text": "有人持刀打架"}, headers=staff["agent"]).json()["linkage"][0] == "110"
    assert client.post("/api/v1/classify", json={"text": LAMP}).status_code == 401
    assert client.post("/api/v1/classify", json={"text": ""}, headers=SERVICE).status_code == 422


def test_confident_ticket_is_dispatched_at_once_with_its_dual_copy(client, staff, auto_dispatch):
    t = new_ticket(client, description=LAMP)
    assert t["status"] == "已派单" and t["lead_department"] == "cgj" and t["needs_dispatcher"] is False
    assert [(e["action"], e["actor"]) for e in t["events"]][:2] == [("create", "bot"), ("dispatch", "system")]
    assert t["assignments"][0]["department_id"] == "cgj" and t["sign_due_at"]
    notes = client.get("/api/v1/notifications", headers=staff["leader"]).json()
    assert [n["ticket_no"] for n in notes if n["kind"] == "双交办"] == [t["ticket_no"]]
    assert act(client, staff["handler_cgj"], t["ticket_no"], "sign")["status"] == "已签收"


def test_unsure_ticket_waits_for_the_dispatcher(client, staff, auto_dispatch):
    t = new_ticket(client, description="我想问一下那个事情怎么办", location=None, location_town=None)
    assert t["status"] == "已受理" and t["needs_dispatcher"] is True and t["assignments"] == []
    queue = client.get("/api/v1/tickets", params={"queue": "dispatch"}, headers=staff["dispatcher"]).json()
    assert [x["ticket_no"] for x in queue["items"]] == [t["ticket_no"]]
    if t["lead_department"] is None:  # no suggestion at all: the dispatcher must name the department
        act(client, staff["dispatcher"], t["ticket_no"], "dispatch", expect=422)
    done = act(client, staff["dispatcher"], t["ticket_no"], "dispatch", department="xzspj", note="人工派单")
    assert done["lead_department"] == "xzspj" and done["needs_dispatcher"] is False


def test_dispatcher_accepts_the_suggestion_without_retyping_it(client, staff):
    t = new_ticket(client, description=LAMP)  # auto-dispatch off in tests by default
    assert t["status"] == "已受理" and t["lead_department"] == "cgj"
    done = act(client, staff["dispatcher"], t["ticket_no"], "dispatch")
    assert done["lead_department"] == "cgj"
    assert [a["department_id"] for a in done["assignments"]] == ["cgj", *t["co_departments"]]


def test_numbers_in_the_text_do_not_steer_the_category(client):
    # Phone and ID numbers are stripped before classifying: they say nothing about the matter.
    r = client.post("/api/v1/classify", json={"text": "人民路路灯坏了，电话13812345678，身份证320925199001011234"}, headers=SERVICE)
    assert r.json()["lead_department"] == "cgj"
