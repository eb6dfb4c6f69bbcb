"""The conversation hub against the real stack: bad input, Rasa outages, button payloads, WebSocket."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from websockets.sync.client import connect

from tests.e2e.conftest import Stack


def post(stack: Stack, conversation_id: str, body: dict, headers: dict | None = None) -> httpx.Response:
    """As the citizen (their session token) unless other headers are given."""
    if headers is None and conversation_id in stack.session_tokens:
        headers = stack.citizen_auth(conversation_id)
    return httpx.post(
        f"{stack.api_url}/api/v1/conversations/{conversation_id}/messages", json=body, headers=headers or {}, timeout=60
    )


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "👍🏻🙏", "\u200b\u200b"])
def test_empty_or_emoji_only_gets_a_polite_reprompt(stack: Stack, text: str) -> None:
    conversation_id = stack.new_conversation()
    response = post(stack, conversation_id, {"text": text})
    assert response.status_code == 200
    body = response.json()
    assert body["mode"] == "bot"
    assert "没有看到文字" in body["replies"][0]["text"]
    stored = stack.get_conversation(conversation_id)["messages"]
    assert [m["role"] for m in stored] == ["citizen", "bot"]


def test_very_long_message_is_refused_with_a_reason(stack: Stack) -> None:
    response = post(stack, stack.new_conversation(), {"text": "路灯坏了" * 2000})
    assert response.status_code == 422
    assert "太长" in response.json()["detail"]


def test_message_of_thousands_of_characters_within_the_limit_is_answered(stack: Stack) -> None:
    text = "我要反映我们小区门口的路灯坏了，晚上出门很不方便。" * 150  # ≈ 3,700 characters
    response = post(stack, stack.new_conversation(), {"text": text})
    assert response.status_code == 200
    assert response.json()["replies"], "the bot should answer a long but valid message"


def test_control_characters_are_stripped_and_markup_kept_as_text(stack: Stack) -> None:
    conversation_id = stack.new_conversation()
    response = post(stack, conversation_id, {"text": "<script>alert(1)</script>\x00\x07路灯\x1b坏了"})
    assert response.status_code == 200
    citizen = stack.get_conversation(conversation_id)["messages"][0]
    assert citizen["text"] == "<script>alert(1)</script>路灯坏了"


@pytest.mark.parametrize("conversation_id", ["short", "has space in it", "a" * 65, "中文编号一二三四五六"])
def test_malformed_conversation_id_is_a_422(stack: Stack, conversation_id: str) -> None:
    response = post(stack, conversation_id, {"text": "你好"})
    assert response.status_code in (404, 422)
    if response.status_code == 422:
        assert "对话编号" in response.json()["detail"]


def test_unknown_conversation_is_a_404(stack: Stack) -> None:
    response = httpx.get(f"{stack.api_url}/api/v1/conversations/{stack.new_conversation_id()}", headers=stack.auth,
                         timeout=30)
    assert response.status_code == 404


def test_malformed_json_is_a_422_not_a_500(stack: Stack) -> None:
    conversation_id = stack.new_conversation()
    response = httpx.post(
        f"{stack.api_url}/api/v1/conversations/{conversation_id}/messages",
        content=b"{not json", headers={"content-type": "application/json", **stack.citizen_auth(conversation_id)},
        timeout=30,
    )
    assert response.status_code == 422


def test_voice_channel_needs_the_service_token(stack: Stack) -> None:
    body = {"text": "你好", "channel": "voice", "caller_number": "13812345678"}
    assert post(stack, stack.new_conversation(), body).status_code == 403  # a citizen's session cannot speak as voice
    assert post(stack, stack.new_conversation_id(), body, stack.auth).status_code == 200


def test_typed_slash_commands_are_not_forwarded_as_intents(stack: Stack) -> None:
    conversation_id = stack.new_conversation()
    post(stack, conversation_id, {"text": "/restart"})
    citizen = stack.get_conversation(conversation_id)["messages"][0]
    assert citizen["intent"] != "restart"


def test_same_client_message_id_is_stored_once(stack: Stack) -> None:
    conversation_id = stack.new_conversation()
    body = {"text": "你好，我想反映个问题", "client_message_id": "resend-1"}
    first = post(stack, conversation_id, body).json()
    second = post(stack, conversation_id, body).json()
    assert [r["text"] for r in first["replies"]] == [r["text"] for r in second["replies"]]
    citizen = [m for m in stack.get_conversation(conversation_id)["messages"] if m["role"] == "citizen"]
    assert len(citizen) == 1


def test_each_citizen_message_is_stored_with_intent_and_confidence(stack: Stack) -> None:
    conversation_id = stack.new_conversation()
    post(stack, conversation_id, {"text": "我要投诉，我们村的路灯坏了一个多月了没人修"})
    citizen = stack.get_conversation(conversation_id)["messages"][0]
    assert citizen["intent"] == "complaint"
    assert 0 < citizen["confidence"] <= 1
    assert citizen["created_at"]


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.5):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def test_rasa_outage_keeps_the_words_and_answers_when_back(stack: Stack) -> None:
    conversation_id = stack.new_conversation()
    stack.rasa_proxy.cut()
    try:
        response = post(stack, conversation_id, {"text": "我要反映一下我们小区的垃圾好几天没人清运了"})
        assert response.status_code == 200
        assert "记下了" in response.json()["replies"][0]["text"]
        stored = stack.get_conversation(conversation_id)["messages"]
        assert stored[0]["pending"] is True
        assert stored[0]["text"] == "我要反映一下我们小区的垃圾好几天没人清运了"
    finally:
        stack.rasa_proxy.resume()

    def answered() -> list[dict]:
        messages = stack.get_conversation(conversation_id)["messages"]
        return [m for m in messages if m["role"] == "bot"] if not messages[0]["pending"] else []

    bot_replies = wait_for(answered)
    assert bot_replies[0]["text"]


def test_websocket_delivers_history_and_replies_and_survives_a_reconnect(stack: Stack) -> None:
    conversation_id = stack.new_conversation()
    url = stack.api_url.replace("http", "ws") + f"/ws/chat/{conversation_id}"
    auth = json.dumps({"type": "auth", "token": stack.session_tokens[conversation_id]})
    with connect(url, open_timeout=30) as socket:
        socket.send(auth)
        history = json.loads(socket.recv(timeout=30))
        assert history == {"type": "history", "mode": "bot", "messages": []}
        socket.send(json.dumps({"text": "你好", "client_message_id": "ws-1"}))
        seen: list[dict] = []
        while not any(m.get("type") == "ack" for m in seen):
            seen.append(json.loads(socket.recv(timeout=60)))
        roles = [m["message"]["role"] for m in seen if m["type"] == "message"]
        assert roles[0] == "citizen" and "bot" in roles
    # The network drops; the page reconnects and gets the whole conversation back.
    with connect(url, open_timeout=30) as socket:
        socket.send(auth)
        history = json.loads(socket.recv(timeout=30))
        assert [m["text"] for m in history["messages"]][0] == "你好"
        assert len(history["messages"]) == len(seen) - 1
        # The resend of an unacknowledged message is recognised and not stored twice.
        socket.send(json.dumps({"text": "你好", "client_message_id": "ws-1"}))
        while json.loads(socket.recv(timeout=60)).get("type") != "ack":
            pass
    citizen = [m for m in stack.get_conversation(conversation_id)["messages"] if m["role"] == "citizen"]
    assert len(citizen) == 1


def test_websocket_rejects_a_malformed_id(stack: Stack) -> None:
    url = stack.api_url.replace("http", "ws") + "/ws/chat/bad id"
    with connect(url.replace(" ", "%20"), open_timeout=30) as socket:
        message = json.loads(socket.recv(timeout=30))
        assert message["type"] == "error" and "对话编号" in message["detail"]


def test_health(stack: Stack) -> None:
    assert httpx.get(f"{stack.api_url}/health", timeout=30).json() == {
        "status": "ok", "database": "ok", "rasa": "up"
    }
    assert httpx.get(f"{stack.api_url}/openapi.json", timeout=30).status_code == 200


def test_a_risk_word_flags_the_conversation_and_queues_it_for_an_agent(stack: Stack) -> None:
    conversation_id = stack.new_conversation()
    post(stack, conversation_id, {"text": "楼下有人打架，还有人拿着刀，快来人啊"})
    conversation = stack.get_conversation(conversation_id)
    assert "110" in conversation["risk_flags"]
    assert conversation["handoff_requested"] is True
    assert conversation["handoff_reason"] == "risk"


def test_an_ordinary_message_raises_no_flag(stack: Stack) -> None:
    conversation_id = stack.new_conversation()
    post(stack, conversation_id, {"text": "我想咨询一下医保异地报销怎么办理"})
    conversation = stack.get_conversation(conversation_id)
    assert conversation["risk_flags"] == []
    assert conversation["handoff_requested"] is False


def test_concurrent_submissions_with_one_idempotency_key_make_one_ticket(stack: Stack) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = {"demand_type": "complaint", "description": "小区门口的下水道堵了，污水漫到路上", "location": "近湖街道湖垛社区",
            "phone": "13912345678", "conversation_id": stack.new_conversation_id()}
    headers = {**stack.auth, "Idempotency-Key": f"race-{body['conversation_id']}"}

    def submit(_: int) -> httpx.Response:
        return httpx.post(f"{stack.api_url}/api/v1/tickets", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(submit, range(6)))
    assert all(r.status_code in (200, 201) for r in responses), [(r.status_code, r.text[:200]) for r in responses]
    assert [r.status_code for r in responses].count(201) == 1
    assert len({r.json()["ticket_no"] for r in responses}) == 1
