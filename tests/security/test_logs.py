"""No secret in any log: the API's own log (uvicorn access log included) after logins, sockets and tokens."""

from __future__ import annotations

import json
import logging

import httpx
import websockets.sync.client as ws_client

from api.core.http import RedactSecrets, redact


def test_redaction_masks_tokens_in_urls_headers_and_jwts() -> None:
    line = ('127.0.0.1:5 - "GET /ws/console?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl HTTP/1.1" 101 '
            'Authorization: Bearer dev-service-token /tracker?token=e2e-rasa-token&include_events=NONE')
    cleaned = redact(line)
    for secret in ("eyJhbGciOiJIUzI1NiJ9", "dev-service-token", "e2e-rasa-token"):
        assert secret not in cleaned
    assert "include_events=NONE" in cleaned


def test_the_filter_rewrites_access_log_records() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:1", "GET", "/x?refresh_token=abc.def.ghi", "1.1", 200), None)
    RedactSecrets().filter(record)
    assert "abc.def.ghi" not in record.getMessage() and "refresh_token=***" in record.getMessage()


def test_api_log_holds_no_token_after_a_shift(stack) -> None:
    headers = stack.ensure_staff("log_agent", "agent")
    token = headers["Authorization"].split()[1]
    socket_url = stack.api_url.replace("http", "ws") + "/ws/console"
    with ws_client.connect(socket_url) as socket:
        socket.send(json.dumps({"type": "auth", "token": token}))
        socket.send("ping")
    # A client that still puts a token in a URL must not get it logged either.
    httpx.get(f"{stack.api_url}/api/v1/auth/me", params={"token": token}, timeout=30)
    httpx.get(f"{stack.api_url}/api/v1/console/conversations", headers=headers, timeout=30)
    stack.get_conversation(stack.new_conversation())
    log = stack.services["api"].log_path.read_text(errors="replace")
    assert "/api/v1/auth/me" in log  # the access log is on
    for secret in (token, stack.service_token, "e2e-admin-password", "e2e-rasa-token"):
        assert secret not in log
