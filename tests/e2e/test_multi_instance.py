"""Several instances on one machine: two APIs, two Rasa replicas, two action servers, Redis, PostgreSQL.

The two APIs share PostgreSQL and Redis (ordering locks, live fan-out); the two Rasa replicas
share their trackers (SQL tracker store on PostgreSQL) and locks (RedisLockStore), each with its
own action server. The tests send one conversation's turns to alternating instances, watch a
chat on B from a console on A, and stop a Rasa replica in the middle of a conversation.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from websockets.sync.client import connect

from tests.support.processes import RASA_ENV, ROOT, Service, free_port

TOKENS = {"MINSHENG_SERVICE_TOKEN": "multi-service-token", "MINSHENG_RASA_TOKEN": "multi-rasa-token",
          "MINSHENG_ACTIONS_TOKEN": "multi-actions-token"}
SERVICE = {"Authorization": f"Bearer {TOKENS['MINSHENG_SERVICE_TOKEN']}"}
ADMIN_PASSWORD = "multi-admin-password"
TICKET_NO = re.compile(r"JH\d{8}-\d{4}")
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/lib/postgresql/15/bin"),
             key=lambda p: p.parent.name)

pytestmark = pytest.mark.postgres


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


@dataclass
class Cluster:
    apis: list[str]
    rasas: list[str]
    services: dict[str, Service] = field(default_factory=dict)

    def new_chat(self, api: int) -> tuple[str, dict[str, str]]:
        r = httpx.post(f"{self.apis[api]}/api/v1/conversations", headers=SERVICE, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()["conversation_id"], {"Authorization": f"Bearer {r.json()['token']}"}

    def say(self, api: int, conversation_id: str, auth: dict[str, str], text: str, payload: str | None = None,
            client_message_id: str | None = None) -> dict:
        body = {"text": text, "client_message_id": client_message_id or uuid.uuid4().hex}
        if payload:
            body["payload"] = payload
        r = httpx.post(f"{self.apis[api]}/api/v1/conversations/{conversation_id}/messages", json=body, headers=auth,
                       timeout=90)
        assert r.status_code == 200, r.text
        return r.json()

    def messages(self, conversation_id: str) -> list[dict]:
        r = httpx.get(f"{self.apis[0]}/api/v1/conversations/{conversation_id}", headers=SERVICE, timeout=30)
        r.raise_for_status()
        return r.json()["messages"]

    def user_events(self, conversation_id: str, rasa: int = -1) -> list[dict]:
        r = httpx.get(f"{self.rasas[rasa]}/conversations/{conversation_id}/tracker",
                      params={"token": TOKENS["MINSHENG_RASA_TOKEN"], "include_events": "ALL"}, timeout=30)
        r.raise_for_status()
        return [e for e in r.json()["events"] if e["event"] == "user"]

    def admin(self, api: int = 0) -> dict[str, str]:
        r = httpx.post(f"{self.apis[api]}/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD},
                       timeout=30)
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _start_postgres() -> tuple[str, list[str]]:
    root = Path(tempfile.mkdtemp(prefix="minsheng-multi-pg-"))  # the postgres user must reach it
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port, data = free_port(), root / "data"
    subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                                "--locale=C.UTF-8"), check=True, capture_output=True)
    subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
                                "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"),
                   check=True, capture_output=True)
    for db in ("minsheng", "rasa"):
        subprocess.run(_as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", db),
                       check=True, capture_output=True)
    return str(port), _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")


def _wait_for_table(port: str, table: str, timeout: float = 300) -> None:
    """Rasa creates its tracker tables at start: the second replica starts once they exist (no create race)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/rasa") as conn:
            if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]:
                return
        time.sleep(1)
    raise RuntimeError(f"Rasa did not create {table}")


def _model_loaded(response: httpx.Response) -> bool:
    return bool(response.json().get("model_file"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not (ROOT / "models" / "current.tar.gz").exists():
        pytest.fail("models/current.tar.gz is missing: run `make train`")
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: run scripts/bootstrap.sh")
    work = tmp_path_factory.mktemp("multi")
    pg_port, stop_pg = _start_postgres()
    redis_port = free_port()
    api_ports, rasa_ports, actions_ports = [free_port(), free_port()], [free_port(), free_port()], [free_port(), free_port()]
    services: dict[str, Service] = {}
    common = {**TOKENS, "MINSHENG_ENV": "test"}
    try:
        services["redis"] = Service("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                              "--save", "", "--appendonly", "no"], {}, work)
        api_env = {**common, "MINSHENG_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{pg_port}/minsheng",
                   "MINSHENG_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                   "MINSHENG_RASA_URLS": ",".join(f"http://127.0.0.1:{p}" for p in rasa_ports),
                   "MINSHENG_SECRET_KEY": "multi-secret-key-" + "x" * 32, "MINSHENG_FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
                   "MINSHENG_PENDING_RETRY_SECONDS": "1", "MINSHENG_RASA_DOWN_SECONDS": "30",
                   "MINSHENG_OPEN311_API_KEY": "multi-open311-key"}
        rasa_env = {**RASA_ENV, "MINSHENG_ACTIONS_TOKEN": TOKENS["MINSHENG_ACTIONS_TOKEN"],
                    "RASA_TRACKER_DB_HOST": "127.0.0.1", "RASA_TRACKER_DB_PORT": pg_port, "RASA_TRACKER_DB": "rasa",
                    "RASA_TRACKER_DB_USER": "postgres", "RASA_TRACKER_DB_PASSWORD": "",
                    "RASA_REDIS_HOST": "127.0.0.1", "RASA_REDIS_PORT": str(redis_port), "RASA_REDIS_DB": "1"}
        for i in range(2):
            services[f"actions{i}"] = Service(
                f"actions{i}", [str(ROOT / ".venv-rasa/bin/python"), "-m", "actions.server", "--port",
                                str(actions_ports[i]), "--actions", "actions"],
                {**RASA_ENV, **common, "MINSHENG_API_URL": f"http://127.0.0.1:{api_ports[i]}",
                 "MINSHENG_OUTBOX_PATH": str(work / f"outbox{i}.sqlite3"), "MINSHENG_OUTBOX_RETRY_SECONDS": "1"}, work)

        def rasa(i: int) -> Service:
            return Service(f"rasa{i}", [str(ROOT / ".venv-rasa/bin/rasa"), "run", "--enable-api", "--interface",
                                        "127.0.0.1", "--port", str(rasa_ports[i]), "--auth-token",
                                        TOKENS["MINSHENG_RASA_TOKEN"], "--model", str(ROOT / "models/current.tar.gz"),
                                        "--endpoints", "deploy/rasa/endpoints.yml", "--credentials", "credentials.yml"],
                           {**rasa_env, "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_ports[i]}/webhook"}, work)

        services["rasa0"] = rasa(0)
        # The first API migrates the database; the second starts on the migrated schema.
        services["api0"] = Service("api0", [str(ROOT / ".venv/bin/uvicorn"), "api.main:app", "--host", "127.0.0.1",
                                            "--port", str(api_ports[0])], api_env, work)
        services["api0"].wait_http(f"http://127.0.0.1:{api_ports[0]}/health")
        services["api1"] = Service("api1", [str(ROOT / ".venv/bin/uvicorn"), "api.main:app", "--host", "127.0.0.1",
                                            "--port", str(api_ports[1])], api_env, work)
        _wait_for_table(pg_port, "events")
        services["rasa1"] = rasa(1)
        services["api1"].wait_http(f"http://127.0.0.1:{api_ports[1]}/health")
        for i in range(2):
            services[f"actions{i}"].wait_http(f"http://127.0.0.1:{actions_ports[i]}/health")
            services[f"rasa{i}"].wait_http(
                f"http://127.0.0.1:{rasa_ports[i]}/status?token={TOKENS['MINSHENG_RASA_TOKEN']}", timeout=600,
                ok=_model_loaded)
        yield Cluster([f"http://127.0.0.1:{p}" for p in api_ports], [f"http://127.0.0.1:{p}" for p in rasa_ports],
                      services)
    finally:
        for service in reversed(list(services.values())):
            service.stop()
        subprocess.run(stop_pg, capture_output=True)


def _buttons(reply: dict) -> dict[str, str]:
    return {b["title"]: b["payload"] for r in reply["replies"] for b in r.get("buttons") or []}


def _text(reply: dict) -> str:
    return "\n".join(r["text"] for r in reply["replies"])


def test_turns_on_alternating_instances_keep_form_state_and_order(cluster: Cluster) -> None:
    phone = "139" + f"{uuid.uuid4().int % 10**8:08d}"
    conversation_id, auth = cluster.new_chat(0)
    said = [f"我是建阳镇双河村的张先生，我们村口那条路坏了好几个月了，电话{phone}"]
    reply = cluster.say(1, conversation_id, auth, said[0])  # created on A, first turn on B
    assert "保密" in _text(reply), _text(reply)
    said.append("不用保密")
    reply = cluster.say(0, conversation_id, auth, "不用保密", payload=_buttons(reply)["不用保密"])
    assert "我跟您核对一下" in _text(reply) and "建阳镇双河村" in _text(reply)  # the form state came along
    said.append("确认提交")
    reply = cluster.say(1, conversation_id, auth, "确认提交", payload=_buttons(reply)["确认提交"])
    [ticket_no] = TICKET_NO.findall(_text(reply))
    ticket = httpx.get(f"{cluster.apis[0]}/api/v1/tickets/{ticket_no}", headers=SERVICE, timeout=30).json()
    assert ticket["phone"] == phone and ticket["location"] == "建阳镇双河村"
    messages = cluster.messages(conversation_id)
    # (stored as the hub cleans them: full-width punctuation folded, as on a single instance)
    assert [m["text"] for m in messages if m["role"] == "citizen"] == [unicodedata.normalize("NFKC", t) for t in said]
    assert not any(m["pending"] for m in messages)
    keys = [e["metadata"]["message_key"] for e in cluster.user_events(conversation_id)]
    citizen_ids = [m["id"] for m in messages if m["role"] == "citizen"]
    assert keys == [f"{conversation_id}:{i}" for i in citizen_ids]  # each turn reached Rasa once, in order


def test_simultaneous_turns_on_two_instances_reach_rasa_in_the_stored_order(cluster: Cluster) -> None:
    conversation_id, auth = cluster.new_chat(0)
    texts = ["你好", "我想反映个问题", "我们小区的路灯坏了", "晚上很黑", "在近湖街道", "麻烦尽快处理"]
    threads = [threading.Thread(target=cluster.say, args=(i % 2, conversation_id, auth, text))
               for i, text in enumerate(texts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    messages = cluster.messages(conversation_id)
    citizen = [m for m in messages if m["role"] == "citizen"]
    assert sorted(m["text"] for m in citizen) == sorted(texts) and not any(m["pending"] for m in citizen)
    keys = [e["metadata"]["message_key"] for e in cluster.user_events(conversation_id)]
    # One turn at a time across both instances: Rasa saw them exactly in the order the hub stored them,
    # and each bot answer follows its own citizen message.
    assert keys == [f"{conversation_id}:{m['id']}" for m in citizen]
    roles = [m["role"] for m in messages]
    for index, m in enumerate(messages):
        if m["role"] == "citizen" and index + 1 < len(messages):
            assert roles[index + 1] == "bot", roles


def test_console_on_a_sees_a_chat_on_b_live_and_takes_it_over(cluster: Cluster) -> None:
    staff = cluster.admin(0)
    token = staff["Authorization"].removeprefix("Bearer ")
    conversation_id, auth = cluster.new_chat(1)
    console_url = cluster.apis[0].replace("http", "ws") + "/ws/console"
    chat_url = cluster.apis[1].replace("http", "ws") + f"/ws/chat/{conversation_id}"
    with connect(console_url, open_timeout=30) as console, connect(chat_url, open_timeout=30) as chat:
        console.send(json.dumps({"type": "auth", "token": token}))
        chat.send(json.dumps({"type": "auth", "token": auth["Authorization"].removeprefix("Bearer ")}))
        assert json.loads(chat.recv(timeout=30))["type"] == "history"
        time.sleep(3)  # the instances exchange their console counts every 2 s
        cluster.say(1, conversation_id, auth, "我要投诉，我们小区的垃圾好几天没人清运了")

        def seen_on_console(role: str, timeout: float = 60) -> dict:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                event = json.loads(console.recv(timeout=max(0.1, deadline - time.monotonic())))
                if event.get("type") == "message" and event.get("conversation_id") == conversation_id \
                        and event["message"]["role"] == role:
                    return event
            raise AssertionError(f"the console on A never saw the {role}'s message")

        assert "垃圾" in seen_on_console("citizen")["message"]["text"]
        assert seen_on_console("bot")["message"]["text"]
        # The agent on A takes over and writes; the citizen on B reads it live.
        taken = httpx.post(f"{cluster.apis[0]}/api/v1/console/conversations/{conversation_id}/takeover",
                           headers=staff, timeout=30)
        assert taken.status_code == 200, taken.text
        written = httpx.post(f"{cluster.apis[0]}/api/v1/console/conversations/{conversation_id}/messages",
                             json={"text": "您好，我是值班员小李，这就帮您联系环卫所。"}, headers=staff, timeout=30)
        assert written.status_code == 200, written.text
        deadline = time.monotonic() + 30
        agent_lines = []
        while not agent_lines and time.monotonic() < deadline:
            event = json.loads(chat.recv(timeout=30))
            if event.get("type") == "message" and event["message"]["role"] == "agent":
                agent_lines.append(event["message"]["text"])
        assert agent_lines == ["您好，我是值班员小李，这就帮您联系环卫所。"]
        # The citizen's next words on B go to the agent, not to Rasa.
        before = len(cluster.user_events(conversation_id))
        reply = cluster.say(1, conversation_id, auth, "好的谢谢")
        assert reply["mode"] == "agent" and reply["replies"] == []
        assert seen_on_console("citizen")["message"]["text"] == "好的谢谢"
        assert len(cluster.user_events(conversation_id)) == before


def test_stopping_one_rasa_replica_mid_conversation_loses_no_message(cluster: Cluster) -> None:
    phone = "139" + f"{uuid.uuid4().int % 10**8:08d}"
    conversation_id, auth = cluster.new_chat(0)
    reply = cluster.say(0, conversation_id, auth, "我要投诉，我们小区门口的下水道堵了一个礼拜了，污水流得到处都是")
    assert reply["replies"]
    cluster.services["rasa0"].stop()  # the replica goes away between two turns of the same citizen
    answers = []
    for api, text in enumerate(["钟庄街道钟庄花园12号楼", "我姓王", f"电话是{phone}"]):
        reply = cluster.say(api % 2, conversation_id, auth, text)
        answers.append(_text(reply))
        assert reply["replies"] and "记下了" not in answers[-1], answers
    messages = cluster.messages(conversation_id)
    assert [m["text"] for m in messages if m["role"] == "citizen"][-3:] == ["钟庄街道钟庄花园12号楼", "我姓王",
                                                                              f"电话是{phone}"]
    assert not any(m["pending"] for m in messages)
    # The surviving replica carried on the same form: it asks neither the place nor the name again.
    assert "保密" in answers[-1], answers
    keys = [e["metadata"]["message_key"] for e in cluster.user_events(conversation_id, rasa=1)]
    assert len(keys) == len(set(keys)) == 4
