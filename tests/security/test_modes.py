"""Development mode only when asked for: without MINSHENG_ENV=development the dev secrets refuse to start."""

from __future__ import annotations

import os
import subprocess

import jwt

from tests.support.processes import ROOT, free_port


def _start_api(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MINSHENG_")}
    return subprocess.run(
        [str(ROOT / ".venv/bin/uvicorn"), "api.main:app", "--port", str(free_port())],
        cwd=ROOT, env={**base, "MINSHENG_DATABASE_URL": "sqlite:///:memory:", **env},
        capture_output=True, text=True, timeout=120,
    )


def test_api_without_a_mode_refuses_the_dev_secrets() -> None:
    result = _start_api({})
    assert result.returncode != 0 and "MINSHENG_OPEN311_API_KEY" in result.stderr
    result = _start_api({"MINSHENG_OPEN311_API_KEY": "o" * 40})
    assert result.returncode != 0
    for name in ("MINSHENG_SERVICE_TOKEN", "MINSHENG_SECRET_KEY", "MINSHENG_FIRST_ADMIN_PASSWORD", "MINSHENG_RASA_TOKEN"):
        assert name in result.stderr, result.stderr[-2000:]
    assert "MINSHENG_ENV=production" in result.stderr


def test_api_in_test_mode_refuses_one_remaining_dev_secret() -> None:
    result = _start_api({"MINSHENG_ENV": "test", "MINSHENG_SERVICE_TOKEN": "s" * 40, "MINSHENG_RASA_TOKEN": "r" * 40,
                         "MINSHENG_SECRET_KEY": "k" * 40, "MINSHENG_OPEN311_API_KEY": "o" * 40})
    assert result.returncode != 0
    assert "MINSHENG_FIRST_ADMIN_PASSWORD" in result.stderr and "MINSHENG_SECRET_KEY must" not in result.stderr


def test_a_token_signed_with_the_dev_secret_is_not_admin(stack) -> None:
    import httpx

    from api.core.settings import DEV_SECRET_KEY

    forged = jwt.encode({"sub": "admin", "role": "admin", "exp": 4102444800}, DEV_SECRET_KEY, algorithm="HS256")
    response = httpx.get(f"{stack.api_url}/api/v1/users", headers={"Authorization": f"Bearer {forged}"}, timeout=30)
    assert response.status_code == 401


def test_rasa_http_api_needs_its_token_and_listens_on_loopback(stack) -> None:
    import httpx

    from tests.security.test_action_server import _listening_addresses
    from tests.support.stack import RASA_TOKEN

    tracker = f"{stack.rasa_url}/conversations/e2e-anyone-000/tracker"
    assert httpx.get(tracker, timeout=30).status_code == 401
    assert httpx.get(tracker, params={"token": RASA_TOKEN}, timeout=30).status_code == 200
    port = int(stack.rasa_url.rsplit(":", 1)[1])
    assert _listening_addresses(port) == {"0100007F"}


def test_the_stack_action_server_refuses_a_forged_webhook(stack) -> None:
    import httpx

    from tests.security.test_action_server import FORGED_CALL

    assert httpx.post(f"{stack.actions_url}/webhook", json=FORGED_CALL, timeout=30).status_code == 401
