"""The surface every client sees: headers on every page and response, size limits, clear 4xx instead of 500s."""

from __future__ import annotations

import uuid

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from tests.api.backoffice_helpers import SERVICE

REQUIRED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
}


def _check_headers(response) -> None:  # noqa: ANN001
    for name, value in REQUIRED.items():
        assert response.headers.get(name) == value, (response.url, name)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "'unsafe-inline'" not in csp


def all_routes(routes, prefix: str = ""):  # noqa: ANN001, ANN201
    """(path prefix, route) for every route, through FastAPI's included routers."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from all_routes(route.original_router.routes, prefix + route.include_context.prefix)
        else:
            yield prefix, route


def _pages(client: TestClient) -> list[str]:
    """Every parameterless GET route (pages and API) and every static file, as the app serves them."""
    paths = []
    for prefix, route in all_routes(client.app.routes):
        if isinstance(route, APIRoute) and "GET" in route.methods and "{" not in route.path:
            paths.append(prefix + route.path)
        elif isinstance(route, Mount) and getattr(route.app, "directory", None):
            from pathlib import Path

            for file in sorted(Path(route.app.directory).rglob("*")):
                if file.is_file():
                    paths.append(f"{route.path}/{file.relative_to(route.app.directory)}")
    return paths


def test_every_page_and_response_carries_the_headers(client: TestClient, staff) -> None:
    pages = _pages(client)
    assert {"/", "/chat", "/console", "/docs", "/static/chat/chat.js", "/api/v1/auth/me"} <= set(pages)
    for path in pages:
        _check_headers(client.get(path))  # unauthenticated: 200 pages, 401 APIs, all with headers
        _check_headers(client.get(path, headers=staff["admin"]))
    _check_headers(client.get("/no/such/page"))
    _check_headers(client.post("/api/v1/tickets", json={"x": 1}, headers=SERVICE))  # 400/422


def test_pages_have_no_inline_script_or_style(client: TestClient) -> None:
    import re

    for path in _pages(client):
        response = client.get(path)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html and " style=" not in html and "onclick=" not in html.lower(), path


def test_hsts_over_tls_only(client: TestClient, monkeypatch) -> None:
    assert "strict-transport-security" not in client.get("/chat").headers
    tls = TestClient(client.app, base_url="https://testserver")
    assert "max-age=" in tls.get("/chat").headers["strict-transport-security"]
    forwarded = client.get("/chat", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in forwarded.headers  # the header is not trusted by default
    from api.core.settings import get_settings

    monkeypatch.setenv("MINSHENG_TRUST_FORWARDED_PROTO", "true")
    get_settings.cache_clear()
    assert "strict-transport-security" in client.get("/chat", headers={"X-Forwarded-Proto": "https"}).headers


def test_a_10_mb_body_is_refused_with_413(client: TestClient) -> None:
    big = "我" * 3_500_000
    response = client.post("/api/v1/tickets", content=f'{{"description": "{big}"}}'.encode(),
                           headers={**SERVICE, "Content-Type": "application/json", "Idempotency-Key": "big"})
    assert response.status_code == 413 and "太大" in response.json()["detail"]
    _check_headers(response)

    def chunks():  # noqa: ANN202  (no Content-Length: counted while it streams)
        for _ in range(20):
            yield b"x" * 600_000

    streamed = client.post("/open311/v2/requests.json", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_deeply_nested_json_on_open311_is_a_4xx(client: TestClient) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/open311/v2/requests.json", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 403  # read as no fields at all: no api_key
    nested = '{"api_key": ' + "{\"a\": " * 50_000 + "1" + "}" * 50_000 + "}"
    assert client.post("/open311/v2/requests.json", content=nested,
                       headers={"Content-Type": "application/json"}).status_code in (400, 403)
    deep_ticket = '{"description": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert client.post("/api/v1/tickets", content=deep_ticket,
                       headers={**SERVICE, "Content-Type": "application/json", "Idempotency-Key": "k"}).status_code < 500


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("phone", "12", "联系电话"),
    ("demand_type", "nonsense", "诉求类型"),
    ("location", "很长的地点" * 200, "地点"),
])
def test_console_ticket_with_bad_fields_is_a_clear_422(client: TestClient, staff, field, value, reason) -> None:
    conversation_id = f"voice-{uuid.uuid4().hex}"
    stored = client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=SERVICE,
                         json={"text": "路灯坏了", "channel": "voice", "caller_number": "13812345678"})
    assert stored.status_code == 200, stored.text
    body = {"demand_type": "complaint", "description": "路灯坏了", "location": "人民路", field: value}
    response = client.post(f"/api/v1/console/conversations/{conversation_id}/ticket", json=body, headers=staff["agent"])
    assert response.status_code == 422, response.text
    assert reason in response.json()["detail"]


def test_leaders_see_opt_out_numbers_masked(client: TestClient, staff) -> None:
    added = client.post("/api/v1/callbacks/optouts", json={"phone": "13812345678", "reason": "市民要求不再回访"},
                        headers=staff["supervisor"])
    assert added.status_code == 201, added.text
    seen_by_leader = client.get("/api/v1/callbacks/optouts", headers=staff["leader"]).json()
    assert [o["phone"] for o in seen_by_leader] == ["138****5678"]
    assert "13812345678" not in client.get("/api/v1/callbacks/optouts", headers=staff["leader"]).text
    assert [o["phone"] for o in client.get("/api/v1/callbacks/optouts", headers=staff["supervisor"]).json()] == ["13812345678"]


def test_422_bodies_match_the_published_schema(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["HTTPValidationError"]
    assert schema["properties"]["detail"]["type"] == "string"
    body = client.post("/api/v1/auth/refresh", json={}).json()
    assert isinstance(body["detail"], str) and body["errors"][0]["loc"] == ["body", "refresh_token"]
