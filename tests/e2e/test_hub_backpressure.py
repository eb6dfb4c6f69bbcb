"""The hub when Rasa is saturated: citizens are told to wait a moment (not a 500), and answered soon after.

An API of its own (uvicorn) against the session's real Rasa, allowed one turn in flight and a very
short wait for it, so that a handful of simultaneous citizens saturate it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.processes import ROOT, Service, free_port
from tests.support.stack import RASA_TOKEN, SERVICE_TOKEN, Stack

pytestmark = pytest.mark.usefixtures("warm_stack")
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@pytest.fixture(scope="module")
def narrow_api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("narrow")
    port = free_port()
    api = Service("api-narrow", [str(ROOT / ".venv/bin/uvicorn"), "api.main:app", "--host", "127.0.0.1", "--port",
                                 str(port)],
                  {"MINSHENG_ENV": "test", "MINSHENG_SERVICE_TOKEN": SERVICE_TOKEN, "MINSHENG_RASA_TOKEN": RASA_TOKEN,
                   "MINSHENG_SECRET_KEY": "narrow-secret-key-" + "x" * 32, "MINSHENG_FIRST_ADMIN_PASSWORD": "narrow-admin-1",
                   "MINSHENG_DATABASE_URL": f"sqlite:///{work / 'api.sqlite3'}", "MINSHENG_RASA_URL": stack.rasa_url,
                   "MINSHENG_RASA_MAX_IN_FLIGHT": "1", "MINSHENG_RASA_QUEUE_SECONDS": "0.05",
                   "MINSHENG_PENDING_RETRY_SECONDS": "1", "MINSHENG_OPEN311_API_KEY": "narrow-open311-key"}, work)
    try:
        api.wait_http(f"http://127.0.0.1:{port}/health")
        yield f"http://127.0.0.1:{port}"
    finally:
        api.stop()


def _user_turns(stack: Stack, conversation_id: str) -> list[dict]:
    tracker = httpx.get(f"{stack.rasa_url}/conversations/{conversation_id}/tracker",
                        params={"token": RASA_TOKEN, "include_events": "ALL"}, timeout=30).json()
    return [e for e in tracker.get("events") or [] if e.get("event") == "user"]


def test_saturated_rasa_means_a_polite_wait_then_an_answer_never_a_500(stack: Stack, narrow_api: str) -> None:
    sessions = [httpx.post(f"{narrow_api}/api/v1/conversations", headers=SERVICE, timeout=30).json() for _ in range(6)]

    def say(session: dict) -> httpx.Response:
        return httpx.post(f"{narrow_api}/api/v1/conversations/{session['conversation_id']}/messages",
                          json={"text": "你好，我想反映个问题", "client_message_id": "first"},
                          headers={"Authorization": f"Bearer {session['token']}"}, timeout=60)

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(say, sessions))
    assert [r.status_code for r in responses] == [200] * 6, [r.text[:200] for r in responses]
    texts = [" ".join(x["text"] for x in r.json()["replies"]) for r in responses]
    waited = [t for t in texts if "请稍等" in t]
    assert waited, texts  # one turn in flight at a time: the others were asked to wait
    assert all("现在咨询的人比较多" in t and "记下了" in t for t in waited)

    def all_answered() -> bool:
        for session in sessions:
            messages = httpx.get(f"{narrow_api}/api/v1/conversations/{session['conversation_id']}",
                                 headers=SERVICE, timeout=30).json()["messages"]
            if messages[0]["pending"] or not any(m["role"] == "bot" for m in messages):
                return False
        return True

    deadline = time.monotonic() + 90
    while not all_answered():
        assert time.monotonic() < deadline, "the waiting citizens were not answered"
        time.sleep(1)
    for session in sessions:  # each message reached Rasa exactly once
        assert len(_user_turns(stack, session["conversation_id"])) == 1
    # The page resends what it sent when it reconnects: recognised, not sent to Rasa again.
    again = say(sessions[0])
    assert again.status_code == 200 and again.json()["replies"]
    assert len(_user_turns(stack, sessions[0]["conversation_id"])) == 1
