"""Server-issued chat sessions: the token opens the conversation; an id alone opens nothing."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api.backoffice_helpers import SERVICE


def start(client: TestClient) -> tuple[str, dict[str, str]]:
    response = client.post("/api/v1/conversations")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"conversation_id", "token"} and len(body["token"]) >= 32
    return body["conversation_id"], {"Authorization": f"Bearer {body['token']}"}


def say(client: TestClient, conversation_id: str, headers: dict, text: str = "路灯坏了，我的电话13812345678"):  # noqa: ANN201
    return client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}, headers=headers)


def test_the_token_opens_the_conversation_and_nothing_else_does(client: TestClient) -> None:
    mine, token = start(client)
    other, other_token = start(client)
    assert say(client, mine, token).status_code == 200
    url = f"/api/v1/conversations/{mine}"
    own = client.get(url, headers=token)
    assert own.status_code == 200 and own.json()["messages"][0]["text"].startswith("路灯坏了")
    assert client.get(url, headers=SERVICE).status_code == 200
    for headers, code in (({}, 401), (other_token, 404), ({"Authorization": "Bearer guessed-token"}, 404)):
        response = client.get(url, headers=headers)
        assert response.status_code == code
        assert "13812345678" not in response.text and "路灯" not in response.text
        refused = say(client, mine, headers, "我替他说")
        assert refused.status_code == code
    assert [m["text"] for m in client.get(url, headers=token).json()["messages"] if m["role"] == "citizen"] == [  # nothing added by others
        "路灯坏了,我的电话13812345678"]
    assert client.get(f"/api/v1/conversations/{other}", headers=other_token).json()["messages"] == []


def test_client_chosen_ids_need_a_service(client: TestClient) -> None:
    chosen = "demo-0001"
    assert say(client, chosen, {}).status_code == 401
    assert say(client, chosen, {"Authorization": "Bearer whatever-i-like"}).status_code == 404
    assert client.get(f"/api/v1/conversations/{chosen}", headers=SERVICE).status_code == 404  # nothing was made
    voice = f"voice-{uuid.uuid4().hex}"  # the voice gateway keeps choosing its call ids
    answered = client.post(f"/api/v1/conversations/{voice}/messages", headers=SERVICE,
                           json={"text": "你好", "channel": "voice", "caller_number": "13900001111"})
    assert answered.status_code == 200
    assert client.get(f"/api/v1/conversations/{voice}", headers=SERVICE).status_code == 200


def test_a_handler_who_knows_the_id_reads_nothing(client: TestClient, staff) -> None:
    conversation_id, token = start(client)
    say(client, conversation_id, token)
    ticket = client.post("/api/v1/tickets", headers={**SERVICE, "Idempotency-Key": uuid.uuid4().hex}, json={
        "demand_type": "report", "description": "举报小区旁边的作坊夜里排污", "location": "近湖街道",
        "phone": "13812345678", "confidential": True, "conversation_id": conversation_id, "channel": "chat"}).json()
    seen = client.get(f"/api/v1/tickets/{ticket['ticket_no']}", headers=staff["admin"]).json()
    leaked_id = seen["conversation_id"]
    assert leaked_id == conversation_id
    assert client.get(f"/api/v1/conversations/{leaked_id}", headers=staff["handler_cgj"]).status_code == 404
    assert client.get(f"/api/v1/conversations/{leaked_id}").status_code == 401


def test_staff_views_never_show_the_token(client: TestClient, staff) -> None:
    conversation_id, token = start(client)
    say(client, conversation_id, token)
    secret = token["Authorization"].split()[1]
    for path in ("/api/v1/console/conversations", f"/api/v1/console/conversations/{conversation_id}"):
        response = client.get(path, headers=staff["agent"])
        assert response.status_code == 200 and conversation_id in response.text
        assert secret not in response.text
    assert secret not in client.get(f"/api/v1/conversations/{conversation_id}", headers=SERVICE).text


def test_session_creation_is_rate_limited_per_client(client: TestClient) -> None:
    codes = [client.post("/api/v1/conversations").status_code for _ in range(31)]
    assert codes[:30] == [201] * 30 and codes[30] == 429
    refused = client.post("/api/v1/conversations")
    assert int(refused.headers["Retry-After"]) >= 1 and "频繁" in refused.json()["detail"]
    assert client.post("/api/v1/conversations", headers=SERVICE).status_code == 201  # services are not limited


def test_the_chat_socket_needs_the_token_in_its_first_message(client: TestClient) -> None:
    conversation_id, token = start(client)
    secret = token["Authorization"].split()[1]
    _, other = start(client)
    for first, code in (({"type": "hello"}, 4401), ({"type": "auth", "token": other["Authorization"].split()[1]}, 4404)):
        with client.websocket_connect(f"/ws/chat/{conversation_id}") as socket:
            socket.send_json(first)
            assert socket.receive_json()["type"] == "error"
            try:
                message = socket.receive()
                assert message["type"] == "websocket.close" and message["code"] == code
            except WebSocketDisconnect as closed:
                assert closed.code == code
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as socket:
        socket.send_json({"type": "auth", "token": secret})
        assert socket.receive_json() == {"type": "history", "mode": "bot", "messages": []}
