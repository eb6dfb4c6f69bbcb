"""Helpers for the back-office API tests (imported by conftest and the tests)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

SERVICE = {"Authorization": "Bearer dev-service-token"}
PASSWORD = "test-pass-123"


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def new_ticket(client: TestClient, headers: dict[str, str] | None = None, **fields) -> dict:
    body = {
        "demand_type": "complaint",
        "description": "人民路和冠华路路口的路灯坏了一个多星期，晚上很黑",
        "location": "近湖街道人民路冠华路路口",
        "location_town": "近湖街道",
        "phone": "13812345678",
        "citizen_name": "王建华",
        **fields,
    }
    r = client.post("/api/v1/tickets", json=body, headers={**(headers or SERVICE), "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    return r.json()


def act(client: TestClient, headers: dict[str, str], ticket_no: str, action: str, expect: int = 200, **body) -> dict:
    r = client.post(f"/api/v1/tickets/{ticket_no}/transitions", json={"action": action, **body}, headers=headers)
    assert r.status_code == expect, f"{action}: {r.status_code} {r.text}"
    return r.json()


def get(client: TestClient, headers: dict[str, str], ticket_no: str) -> dict:
    r = client.get(f"/api/v1/tickets/{ticket_no}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()
