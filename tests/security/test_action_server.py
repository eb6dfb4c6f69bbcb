"""The action server's door: only Rasa, holding the shared secret, may run actions; loopback by default."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.processes import RASA_ENV, ROOT, Service, free_port

TOKEN = "action-door-test-secret"
# What an attacker sent in the probe: a made-up tracker asking the bot to file a ticket.
FORGED_CALL = {
    "next_action": "action_submit_ticket",
    "sender_id": "attacker-0001",
    "version": "3.6.0",
    "tracker": {"sender_id": "attacker-0001", "slots": {"description": "伪造的工单", "phone": "13800000000"},
                "latest_message": {}, "events": [], "paused": False, "followup_action": None,
                "active_loop": {}, "latest_action_name": None},
    "domain": {},
}


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a LISTEN socket on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.fixture(scope="module")
def action_server(tmp_path_factory) -> str:
    port = free_port()
    work = tmp_path_factory.mktemp("actions")
    service = Service(
        "actions-door",
        [str(ROOT / ".venv-rasa/bin/python"), "-m", "actions.server", "--port", str(port), "--actions", "actions"],
        {**RASA_ENV, "MINSHENG_ENV": "test", "MINSHENG_ACTIONS_TOKEN": TOKEN,
         "MINSHENG_SERVICE_TOKEN": "action-door-service-token", "MINSHENG_API_URL": "http://127.0.0.1:9",
         "MINSHENG_OUTBOX_PATH": str(work / "outbox.sqlite3")},
        work,
    )
    try:
        service.wait_http(f"http://127.0.0.1:{port}/health", timeout=180)
        yield f"http://127.0.0.1:{port}"
    finally:
        service.stop()


def test_webhook_without_the_secret_is_refused(action_server: str) -> None:
    assert httpx.post(f"{action_server}/webhook", json=FORGED_CALL, timeout=30).status_code == 401
    wrong = {"Authorization": "Bearer not-the-secret"}
    assert httpx.post(f"{action_server}/webhook", json=FORGED_CALL, headers=wrong, timeout=30).status_code == 401
    assert httpx.post(f"{action_server}/webhook", json=FORGED_CALL, headers={"Authorization": TOKEN},
                      timeout=30).status_code == 401  # the secret without the Bearer scheme
    assert httpx.get(f"{action_server}/actions", timeout=30).status_code == 401


def test_webhook_with_the_secret_reaches_the_actions(action_server: str) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    listed = httpx.get(f"{action_server}/actions", headers=auth, timeout=30)
    assert listed.status_code == 200
    assert any(a["name"] == FORGED_CALL["next_action"] for a in listed.json())
    unknown = {**FORGED_CALL, "next_action": f"action_{uuid.uuid4().hex}"}
    assert httpx.post(f"{action_server}/webhook", json=unknown, headers=auth, timeout=30).status_code == 404


def test_action_server_listens_on_loopback_only(action_server: str) -> None:
    port = int(action_server.rsplit(":", 1)[1])
    addresses = _listening_addresses(port)
    assert addresses == {"0100007F"}, addresses  # 127.0.0.1, not 0.0.0.0 / ::


def _start(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MINSHENG_")}
    return subprocess.run(
        [str(ROOT / ".venv-rasa/bin/python"), "-m", "actions.server", "--port", str(free_port())],
        cwd=ROOT, env={**base, **RASA_ENV, **env}, capture_output=True, text=True, timeout=120,
    )


def test_action_server_has_no_default_secret() -> None:
    result = _start({"MINSHENG_SERVICE_TOKEN": "x-service"})
    assert result.returncode == 2
    assert "MINSHENG_ACTIONS_TOKEN is not set" in result.stderr


def test_action_server_refuses_development_secrets_outside_development() -> None:
    result = _start({"MINSHENG_ACTIONS_TOKEN": "dev-actions-token", "MINSHENG_SERVICE_TOKEN": "x-service"})
    assert result.returncode == 2 and "development value" in result.stderr
    result = _start({"MINSHENG_ACTIONS_TOKEN": "a-real-secret", "MINSHENG_SERVICE_TOKEN": "dev-service-token"})
    assert result.returncode == 2 and "MINSHENG_SERVICE_TOKEN has the development value" in result.stderr
