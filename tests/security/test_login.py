"""Staff login: throttling per account and per client, revocation, short access tokens with refresh."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.auth.throttle import LoginThrottle
from tests.api.backoffice_helpers import PASSWORD, login


def _try(client: TestClient, username: str, password: str):  # noqa: ANN202
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_the_31st_wrong_login_gets_429_with_retry_after(client: TestClient) -> None:
    codes = [_try(client, "admin", f"wrong-{i}").status_code for i in range(31)]
    assert codes[:5] == [401] * 5  # a few typos are free
    assert codes[5] == 429  # then the account waits
    assert codes[30] == 429
    refused = _try(client, "admin", "admin12345")  # even the right password waits: nothing is checked
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "秒后再试" in refused.json()["detail"]


def test_one_client_spraying_many_accounts_is_stopped(client: TestClient) -> None:
    codes = [_try(client, f"user{i}", "guess-123").status_code for i in range(31)]
    assert codes[:30] == [401] * 30 and codes[30] == 429
    assert int(_try(client, "someone-new", "x").headers["Retry-After"]) > 60  # the rest of the window


def test_account_delays_grow_and_success_resets() -> None:
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    waits = []
    for _ in range(8):
        while (wait := throttle.refusal(account="Agent", client=f"c{len(waits)}")) is not None:
            waits.append(wait)
            now[0] += wait
        throttle.failed(account="agent", client=f"c{len(waits)}")
    assert waits == [1, 2, 4]  # 5 free failures, then 1 s, 2 s, 4 s …
    assert throttle.refusal(account="AGENT", client="other") == 8  # the account, whatever the client
    now[0] += 8
    throttle.succeeded(account="agent")
    throttle.failed(account="agent", client="c9")
    assert throttle.refusal(account="agent", client="c9") is None


def test_access_tokens_are_short_and_refresh_rotates(client: TestClient, staff) -> None:
    body = _try(client, "agent", PASSWORD).json()
    assert body["expires_in"] == 15 * 60 and body["refresh_token"]
    # A refresh token is not an access token.
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['refresh_token']}"}).status_code == 401
    renewed = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert renewed.status_code == 200
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {renewed.json()['access_token']}"})
    assert me.json()["username"] == "agent"
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": body["access_token"]}).status_code == 401


def test_tokens_die_on_password_reset_deactivation_and_own_change(client: TestClient, staff) -> None:
    old = _try(client, "agent", PASSWORD).json()
    headers = {"Authorization": f"Bearer {old['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    reset = client.patch("/api/v1/users/agent", json={"password": "brand-new-pass-1"}, headers=staff["admin"])
    assert reset.status_code == 200
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}).status_code == 401

    fresh = login(client, "agent", "brand-new-pass-1")
    changed = client.post("/api/v1/auth/password", headers=fresh,
                          json={"current_password": "brand-new-pass-1", "new_password": "my-own-pass-22"})
    assert changed.status_code == 200
    assert client.get("/api/v1/auth/me", headers=fresh).status_code == 401
    mine = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=mine).status_code == 200

    assert client.patch("/api/v1/users/agent", json={"active": False}, headers=staff["admin"]).status_code == 200
    assert client.get("/api/v1/auth/me", headers=mine).status_code == 401
    assert client.patch("/api/v1/users/agent", json={"active": True}, headers=staff["admin"]).status_code == 200
    assert client.get("/api/v1/auth/me", headers=mine).status_code == 401  # reactivation does not revive old tokens


def test_wrong_current_password_changes_nothing(client: TestClient, staff) -> None:
    r = client.post("/api/v1/auth/password", headers=staff["agent"],
                    json={"current_password": "not-it", "new_password": "whatever-123"})
    assert r.status_code == 403
    assert client.get("/api/v1/auth/me", headers=staff["agent"]).status_code == 200


def test_logout_revokes(client: TestClient, staff) -> None:
    assert client.post("/api/v1/auth/logout", headers=staff["supervisor"]).status_code == 204
    assert client.get("/api/v1/auth/me", headers=staff["supervisor"]).status_code == 401


def test_console_socket_takes_the_token_in_the_first_message_not_the_url(client: TestClient, staff) -> None:
    token = staff["agent"]["Authorization"].split()[1]
    with client.websocket_connect(f"/ws/console?token={token}") as socket:
        socket.send_text('{"type": "hello"}')  # the URL token is ignored; no auth message → closed
        message = socket.receive()
        assert message["type"] == "websocket.close" and message["code"] == 4401
    with client.websocket_connect("/ws/console") as socket:
        socket.send_json({"type": "auth", "token": token})
        socket.send_text("ping")  # accepted and kept open: a console listens
    with client.websocket_connect("/ws/console") as socket:
        socket.send_json({"type": "auth", "token": staff["handler_cgj"]["Authorization"].split()[1]})
        assert socket.receive()["code"] == 4403
