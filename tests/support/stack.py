"""The real stack for end-to-end tests: uvicorn (API), `rasa run` and the action server on free ports.

One stack per test session (the `stack` fixture is registered in tests/conftest.py), shared by
tests/e2e, tests/security and anyone else who needs the real processes.

The action server reaches the API, and the API reaches Rasa, through SwitchableProxy instances,
so a test can cut either link (an outage) and restore it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.processes import RASA_ENV, ROOT, Service, SwitchableProxy, free_port

SERVICE_TOKEN = "e2e-service-token"
ADMIN_PASSWORD = "e2e-admin-password"
RASA_TOKEN = "e2e-rasa-token"
ACTIONS_TOKEN = "e2e-actions-token"


@dataclass
class Stack:
    api_url: str
    rasa_url: str
    actions_url: str
    service_token: str
    api_proxy: SwitchableProxy  # action server → API
    rasa_proxy: SwitchableProxy  # API → Rasa
    web_proxy: SwitchableProxy  # browser → API (a citizen's network)
    voice_gateway_port: int  # where the API expects a voice gateway's control server (tests start one)
    services: dict[str, Service] = field(default_factory=dict)
    session_tokens: dict[str, str] = field(default_factory=dict)  # conversation id → citizen's token

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.service_token}"}

    def new_conversation(self) -> str:
        """A web chat as the chat page starts one: server-issued id and token (kept for chat() and friends)."""
        response = httpx.post(f"{self.api_url}/api/v1/conversations", headers=self.auth, timeout=30)
        assert response.status_code == 201, response.text
        session = response.json()
        self.session_tokens[session["conversation_id"]] = session["token"]
        return session["conversation_id"]

    def citizen_auth(self, conversation_id: str) -> dict[str, str]:
        """The citizen's own header for a conversation made by new_conversation()."""
        return {"Authorization": f"Bearer {self.session_tokens[conversation_id]}"}

    def chat_page_url(self, conversation_id: str, base: str | None = None) -> str:
        """The chat page opening this conversation (id and token handed over in the URL fragment)."""
        return f"{base or self.api_url}/chat#c={conversation_id}&t={self.session_tokens[conversation_id]}"

    def chat(self, conversation_id: str, text: str, *, payload: str | None = None, **extra) -> dict:
        """A citizen's message: with the session token (new_conversation), or the service token for voice."""
        body = {"text": text, **extra}
        if payload is not None:
            body["payload"] = payload
        if extra.get("channel") == "voice":
            headers = self.auth
        else:
            headers = self.citizen_auth(conversation_id) if conversation_id in self.session_tokens else {}
        response = httpx.post(
            f"{self.api_url}/api/v1/conversations/{conversation_id}/messages", json=body, headers=headers, timeout=60
        )
        response.raise_for_status()
        return response.json()

    def get_ticket(self, ticket_no: str) -> dict:
        response = httpx.get(f"{self.api_url}/api/v1/tickets/{ticket_no}", headers=self.auth, timeout=30)
        response.raise_for_status()
        return response.json()

    def get_conversation(self, conversation_id: str) -> dict:
        response = httpx.get(
            f"{self.api_url}/api/v1/conversations/{conversation_id}", headers=self.auth, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def login(self, username: str, password: str) -> dict[str, str]:
        response = httpx.post(f"{self.api_url}/api/v1/auth/token", data={"username": username, "password": password},
                              timeout=30)
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def ensure_staff(self, username: str, role: str, password: str = "staff-password-1", **extra) -> dict[str, str]:
        """Create a staff account (as the first admin) if missing; return its auth header."""
        admin = self.login("admin", ADMIN_PASSWORD)
        response = httpx.post(f"{self.api_url}/api/v1/users", headers=admin, timeout=30,
                              json={"username": username, "password": password, "role": role, **extra})
        assert response.status_code in (201, 409), response.text
        return self.login(username, password)

    def new_conversation_id(self) -> str:
        """A client-chosen id: only services (the voice gateway) may open one. Chats use new_conversation()."""
        return f"e2e-{uuid.uuid4().hex}"


def _model_loaded(response: httpx.Response) -> bool:
    return bool(response.json().get("model_file"))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    model = ROOT / "models" / "current.tar.gz"
    if not model.exists():
        pytest.fail("models/current.tar.gz is missing: run `make train` (make test does it)")
    work: Path = tmp_path_factory.mktemp("stack")
    api_port, rasa_port, actions_port, gateway_port = free_port(), free_port(), free_port(), free_port()
    proxy = SwitchableProxy(api_port)
    rasa_proxy = SwitchableProxy(rasa_port)
    web_proxy = SwitchableProxy(api_port)
    common = {"MINSHENG_SERVICE_TOKEN": SERVICE_TOKEN, "MINSHENG_RASA_TOKEN": RASA_TOKEN, "MINSHENG_ENV": "test"}
    services: dict[str, Service] = {}
    try:
        services["actions"] = Service(
            "actions",
            [str(ROOT / ".venv-rasa/bin/python"), "-m", "actions.server", "--port", str(actions_port),
             "--actions", "actions"],
            {**RASA_ENV, **common, "MINSHENG_ACTIONS_TOKEN": ACTIONS_TOKEN, "MINSHENG_API_URL": f"http://127.0.0.1:{proxy.port}",
             "MINSHENG_OUTBOX_PATH": str(work / "outbox.sqlite3"), "MINSHENG_OUTBOX_RETRY_SECONDS": "1"},
            work,
        )
        services["rasa"] = Service(
            "rasa",
            [str(ROOT / ".venv-rasa/bin/rasa"), "run", "--enable-api", "--interface", "127.0.0.1",
             "--port", str(rasa_port), "--auth-token", RASA_TOKEN, "--model", str(model),
             "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"],
            {**RASA_ENV, "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
             "MINSHENG_ACTIONS_TOKEN": ACTIONS_TOKEN},
            work,
        )
        services["api"] = Service(
            "api",
            [str(ROOT / ".venv/bin/uvicorn"), "api.main:app", "--host", "127.0.0.1", "--port", str(api_port)],
            {**common, "MINSHENG_DATABASE_URL": f"sqlite:///{work / 'api.sqlite3'}",
             "MINSHENG_RASA_URL": f"http://127.0.0.1:{rasa_proxy.port}", "MINSHENG_SECRET_KEY": "e2e-secret-key-" + "x" * 32,
             "MINSHENG_FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD, "MINSHENG_OPEN311_API_KEY": "e2e-open311-key", "MINSHENG_PENDING_RETRY_SECONDS": "1",
             "MINSHENG_VOICE_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}"},
            work,
        )
        services["actions"].wait_http(f"http://127.0.0.1:{actions_port}/health")
        services["api"].wait_http(f"http://127.0.0.1:{api_port}/health")
        services["rasa"].wait_http(f"http://127.0.0.1:{rasa_port}/status?token={RASA_TOKEN}", ok=_model_loaded)
        yield Stack(
            api_url=f"http://127.0.0.1:{api_port}",
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            actions_url=f"http://127.0.0.1:{actions_port}",
            service_token=SERVICE_TOKEN,
            api_proxy=proxy,
            rasa_proxy=rasa_proxy,
            web_proxy=web_proxy,
            voice_gateway_port=gateway_port,
            services=services,
        )
    finally:
        for service in services.values():
            service.stop()
        proxy.cut()
        rasa_proxy.cut()
        web_proxy.cut()

