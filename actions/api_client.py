"""The one HTTP client from the action server to the Minsheng API.

Sync (httpx.Client) for the outbox thread, async (httpx.AsyncClient) for actions, same rules:
bearer service token, Idempotency-Key on filing, errors split into "try again later"
(ApiUnavailable: connection refused, timeout, 5xx) and "the API said no" (ApiRejected: 4xx).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEV_SERVICE_TOKEN = "dev-service-token"  # accepted only with MINSHENG_ENV=development; never a fallback
TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class ConfigError(RuntimeError):
    """A secret is missing or is the development value outside development: do not start / do not call."""


def required_secret(name: str, dev_value: str) -> str:
    """A secret from the environment; none is a refusal, and the dev value only in development."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set (there is no default)")
    if value == dev_value and os.environ.get("MINSHENG_ENV") != "development":
        raise ConfigError(f"{name} has the development value; set MINSHENG_ENV=development or a real secret")
    return value


def service_token() -> str:
    return required_secret("MINSHENG_SERVICE_TOKEN", DEV_SERVICE_TOKEN)


class ApiUnavailable(Exception):
    """The API could not be reached or failed on its side: retry later."""


class ApiRejected(Exception):
    """The API refused the request (4xx): retrying the same request will not help."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class FiledTicket:
    data: dict[str, Any]
    replay: bool  # 200: the same Idempotency-Key was filed before

    @property
    def ticket_no(self) -> str:
        return str(self.data.get("ticket_no", ""))


def api_url() -> str:
    return os.environ.get("MINSHENG_API_URL", DEFAULT_API_URL).rstrip("/")


def _headers(idempotency_key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {service_token()}", "Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def _result(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 500:
        raise ApiUnavailable(f"API answered {response.status_code}")
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text[:200]
        raise ApiRejected(response.status_code, detail)
    try:
        return response.json()
    except ValueError as exc:
        raise ApiUnavailable("API answered with a body that is not JSON") from exc


def file_ticket_sync(payload: Mapping[str, Any], idempotency_key: str) -> FiledTicket:
    try:
        with httpx.Client(timeout=TIMEOUT) as client:
            response = client.post(f"{api_url()}/api/v1/tickets", json=dict(payload), headers=_headers(idempotency_key))
    except httpx.HTTPError as exc:
        raise ApiUnavailable(str(exc)) from exc
    return FiledTicket(_result(response), replay=response.status_code == 200)


async def file_ticket(payload: Mapping[str, Any], idempotency_key: str) -> FiledTicket:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.post(
                f"{api_url()}/api/v1/tickets", json=dict(payload), headers=_headers(idempotency_key)
            )
    except httpx.HTTPError as exc:
        raise ApiUnavailable(str(exc)) from exc
    return FiledTicket(_result(response), replay=response.status_code == 200)


async def request_callback(conversation_id: str, phone: str, note: str) -> dict[str, Any]:
    """After hours: ask for a person to call the citizen back (the agents' morning queue)."""
    return await _post(f"/api/v1/conversations/{conversation_id}/callback-request", {"phone": phone, "note": note})


async def request_handoff(conversation_id: str, reason: str, note: str) -> dict[str, Any]:
    return await _post(f"/api/v1/conversations/{conversation_id}/handoff", {"reason": reason, "note": note})


async def _post(path: str, body: Mapping[str, Any]) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.post(f"{api_url()}{path}", json=dict(body), headers=_headers())
    except httpx.HTTPError as exc:
        raise ApiUnavailable(str(exc)) from exc
    return _result(response)


async def knowledge_answer(text: str) -> dict[str, Any]:
    """The county FAQ's answer to a consultation: {"matched", "answer", "source", "updated", …}."""
    return await _post("/api/v1/knowledge/answer", {"text": text})


async def ticket_status(ticket_no: str, phone_last4: str) -> dict[str, Any]:
    """The ticket's status for its citizen; ApiRejected 404 = no such ticket or wrong phone (the same)."""
    return await _post(f"/api/v1/tickets/{ticket_no}/status-lookup", {"phone_last4": phone_last4})


async def urge_ticket(ticket_no: str, phone_last4: str, note: str | None, channel: str | None) -> dict[str, Any]:
    """催办: recorded on the ticket; ApiRejected 404 as for the status."""
    body: dict[str, Any] = {"phone_last4": phone_last4, "note": note}
    if channel in ("chat", "voice"):
        body["channel"] = channel
    return await _post(f"/api/v1/tickets/{ticket_no}/urge", body)
