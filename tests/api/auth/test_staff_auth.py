"""Staff authentication (OAuth2 password + JWT), roles, and the intake contract for the bot."""

from __future__ import annotations

import uuid

import pytest
from backoffice_helpers import PASSWORD, SERVICE, login, new_ticket


def test_runs_on_the_parametrized_database(client, db_url):
    from api.core.db import get_engine

    assert get_engine().dialect.name == ("postgresql" if db_url.startswith("postgresql") else "sqlite")


def test_login_me_and_bad_password(client, staff):
    me = client.get("/api/v1/auth/me", headers=staff["handler_zjj"]).json()
    assert me["role"] == "handler" and me["department_id"] == "zjj"  # the short name 住建局 resolved
    r = client.post("/api/v1/auth/token", data={"username": "agent", "password": "wrong-password"})
    assert r.status_code == 401 and r.json()["detail"] == "用户名或密码不正确。"
    r = client.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong-password"})
    assert r.status_code == 401
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not-a-jwt"}).status_code == 401


def test_only_admin_creates_users_and_rules_are_checked(client, staff):
    body = {"username": "newagent", "password": PASSWORD, "role": "agent"}
    assert client.post("/api/v1/users", json=body, headers=staff["supervisor"]).status_code == 403
    assert client.post("/api/v1/users", json=body, headers=staff["admin"]).status_code == 201
    assert client.post("/api/v1/users", json=body, headers=staff["admin"]).status_code == 409
    r = client.post("/api/v1/users", json={"username": "h2", "password": PASSWORD, "role": "handler"}, headers=staff["admin"])
    assert r.status_code == 422 and "承办单位" in r.json()["detail"]
    r = client.post("/api/v1/users", json={"username": "h3", "password": PASSWORD, "role": "handler", "department_id": "火星局"},
                    headers=staff["admin"])
    assert r.status_code == 422
    r = client.post("/api/v1/users", json={"username": "l2", "password": PASSWORD, "role": "leader", "leader_id": "nobody"},
                    headers=staff["admin"])
    assert r.status_code == 422
    r = client.post("/api/v1/users", json={"username": "s", "password": PASSWORD, "role": "service"}, headers=staff["admin"])
    assert r.status_code == 422
    # A deactivated account can neither log in nor use an old token.
    assert client.patch("/api/v1/users/newagent", json={"active": False}, headers=staff["admin"]).status_code == 200
    assert client.post("/api/v1/auth/token", data={"username": "newagent", "password": PASSWORD}).status_code == 401


def test_departments_and_leaders_come_from_the_county_profile(client, staff):
    departments = client.get("/api/v1/org/departments", headers=staff["agent"]).json()
    cgj = next(d for d in departments if d["id"] == "cgj")
    assert cgj["name"] == "建湖县城市管理局" and cgj["leader_id"] == "deputy_urban"
    leaders = {x["id"]: x for x in client.get("/api/v1/org/leaders", headers=staff["agent"]).json()}
    assert leaders["deputy_urban"]["name"] == "刘志强"


def test_intake_contract_for_the_bot_is_unchanged(client, staff):
    body = {"demand_type": "consultation", "description": "请问公积金怎么提取", "phone": "13900001111"}
    key = uuid.uuid4().hex
    first = client.post("/api/v1/tickets", json=body, headers={**SERVICE, "Idempotency-Key": key})
    assert first.status_code == 201
    again = client.post("/api/v1/tickets", json=body, headers={**SERVICE, "Idempotency-Key": key})
    assert again.status_code == 200 and again.json()["ticket_no"] == first.json()["ticket_no"]
    other = client.post("/api/v1/tickets", json={**body, "description": "别的事情"}, headers={**SERVICE, "Idempotency-Key": key})
    assert other.status_code == 409
    assert client.post("/api/v1/tickets", json=body, headers=SERVICE).status_code == 400
    assert client.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "x"}).status_code == 401
    # The bot reads the full ticket with its service token.
    full = client.get(f"/api/v1/tickets/{first.json()['ticket_no']}", headers=SERVICE).json()
    assert full["phone"] == "13900001111" and full["contact_masked"] is False
    assert full["reply_due_at"] and full["complete_due_at"]


def test_staff_create_with_jwt_and_roles(client, staff):
    t = new_ticket(client, staff["agent"], channel="voice")
    assert t["events"][0]["actor"] == "agent"
    assert t["phone"] == "138****5678"  # staff views are masked
    r = client.post("/api/v1/tickets", json={"demand_type": "complaint", "description": "测试内容"},
                    headers={**staff["handler_cgj"], "Idempotency-Key": "h"})
    assert r.status_code == 403 and "权限不足" in r.json()["detail"]


@pytest.mark.parametrize("bad", [
    {"demand_type": "weird", "description": "内容内容"},
    {"demand_type": "complaint", "description": "x"},
    {"demand_type": "complaint", "description": "内容内容", "phone": "12345"},
    {"demand_type": "complaint", "description": "内容内容", "urgency": "马上"},
])
def test_bad_input_is_422_never_500(client, bad):
    r = client.post("/api/v1/tickets", json=bad, headers={**SERVICE, "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 422 and r.json()["detail"].startswith("请求内容不正确")


def test_open311_key_and_secrets_refused_outside_development():
    from api.core.settings import Open311Settings, Settings

    secrets = {"service_token": "s" * 40, "secret_key": "k" * 40, "first_admin_password": "p" * 12, "rasa_token": "r" * 40}
    with pytest.raises(ValueError, match="MINSHENG_OPEN311_API_KEY"):
        Settings(env="production", **secrets)
    assert Settings(env="production", open311=Open311Settings(api_key="k-123456"), **secrets).open311.api_key == "k-123456"


def test_first_admin_token_works(client):
    headers = login(client, "admin", "admin12345")
    users = client.get("/api/v1/users", headers=headers).json()
    assert [u["username"] for u in users if u["role"] == "admin"] == ["admin"]


def test_odd_queries_are_answered_not_crashed(client, staff):
    no = new_ticket(client)["ticket_no"]
    h = staff["supervisor"]
    assert client.get(f"/api/v1/tickets/{no}/supervisions/99999999999/letter.docx", headers=h).status_code == 422
    assert client.get(f"/api/v1/tickets/{no}/supervisions/2147483647/letter.docx", headers=h).status_code == 404
    assert client.post("/api/v1/notifications/99999999999/read", headers=h).status_code == 422
    naive = client.get("/api/v1/tickets", params={"created_from": "2026-01-01T00:00:00"}, headers=h)
    assert naive.status_code == 200 and naive.json()["total"] == 1
    assert client.get("/api/v1/tickets", params={"created_from": "soon"}, headers=h).status_code == 422
    assert client.get("/api/v1/tickets", params={"offset": 10**12}, headers=h).status_code == 422
    assert client.get("/api/v1/tickets", params={"q": "%_'\""}, headers=h).json()["total"] == 0
    assert client.get("/api/v1/tickets/%E2%80%8B", headers=h).status_code == 404
    r = client.post(f"/api/v1/tickets/{no}/transitions", json={"action": "dispatch", "co_departments": ["cgj"] * 30}, headers=h)
    assert r.status_code == 422
    r = client.post(f"/api/v1/tickets/{no}/transitions", content=b"not json", headers={**h, "content-type": "application/json"})
    assert r.status_code == 422
