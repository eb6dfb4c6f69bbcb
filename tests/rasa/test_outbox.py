"""The outbox against a real HTTP server started here: failures are retried with the same
Idempotency-Key and notify_conversation=true, and a success is recorded."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from actions import api_client
from actions.outbox import Outbox, OutboxWorker


class FakeApi:
    def __init__(self) -> None:
        self.fail_next = 0  # answer 503 this many times
        self.reject = False
        self.requests: list[dict[str, Any]] = []
        self.tickets: dict[str, str] = {}
        self.filed = threading.Event()


@pytest.fixture()
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    state = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if state.fail_next > 0:
                state.fail_next -= 1
                return self._send(503, {"detail": "down"})
            if state.reject:
                return self._send(422, {"detail": "bad"})
            if self.path.endswith("/handoff"):
                return self._send(200, {"ok": True})
            key = self.headers["Idempotency-Key"]
            status = 200 if key in state.tickets else 201
            state.tickets.setdefault(key, f"JH20261127-{len(state.tickets) + 1:04d}")
            self._send(status, {"ticket_no": state.tickets[key], "reply_due_at": "2026-12-02T17:30:00+08:00"})
            state.filed.set()

        def _send(self, status: int, data: dict[str, Any]) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("MINSHENG_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("MINSHENG_SERVICE_TOKEN", "test-token")
    yield state
    server.shutdown()


PAYLOAD = {"conversation_id": "c-1", "description": "路灯坏了", "phone": "13812345678", "notify_conversation": False}


def test_worker_retries_until_the_api_is_back(fake_api: FakeApi, tmp_path) -> None:
    fake_api.fail_next = 2
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.add("key-1", PAYLOAD)
    outbox.add("key-1", PAYLOAD)  # a double click queues nothing new
    worker = OutboxWorker(outbox, interval=0.05)
    worker.start()
    try:
        assert fake_api.filed.wait(timeout=30)
    finally:
        worker.stop()
        worker.join(timeout=5)
    attempts = [r for r in fake_api.requests if r["path"] == "/api/v1/tickets"]
    assert len(attempts) >= 3
    assert {r["headers"]["Idempotency-Key"] for r in attempts} == {"key-1"}
    assert all(r["body"]["notify_conversation"] is True for r in attempts)
    assert all(r["headers"]["Authorization"] == "Bearer test-token" for r in attempts)
    item = Outbox(tmp_path / "outbox.sqlite3").get("key-1")  # survives reopening the file
    assert item is not None and item.state == "filed" and item.ticket_no == "JH20261127-0001"
    assert outbox.pending_count() == 0


def test_rejected_rows_are_kept_not_retried(fake_api: FakeApi, tmp_path) -> None:
    fake_api.reject = True
    outbox = Outbox(tmp_path / "o.sqlite3")
    outbox.add("key-2", PAYLOAD)
    assert outbox.retry_once() == 0
    assert outbox.get("key-2").state == "rejected"
    outbox.retry_once()
    assert len(fake_api.requests) == 1


def test_client_new_then_replay(fake_api: FakeApi) -> None:
    first = asyncio.run(api_client.file_ticket(PAYLOAD, "key-3"))
    again = asyncio.run(api_client.file_ticket(PAYLOAD, "key-3"))
    assert not first.replay and again.replay and first.ticket_no == again.ticket_no


def test_client_error_kinds(fake_api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_api.fail_next = 1
    with pytest.raises(api_client.ApiUnavailable):
        asyncio.run(api_client.file_ticket(PAYLOAD, "key-4"))
    fake_api.reject = True
    with pytest.raises(api_client.ApiRejected) as info:
        asyncio.run(api_client.request_handoff("c-1", "citizen_request", "note"))
    assert info.value.status_code == 422
    monkeypatch.setenv("MINSHENG_API_URL", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(api_client.ApiUnavailable):
        api_client.file_ticket_sync(PAYLOAD, "key-5")
