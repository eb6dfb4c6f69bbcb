"""An agent takes a call over by transfer to their SIP extension, through the real API.

baresip #1 (the citizen) calls the voice gateway, which talks to the real hub (uvicorn + Rasa);
an agent whose account has a SIP extension takes the conversation over in the console API and
presses "转接到我的分机"; the gateway REFERs the citizen's phone to extension 1001, where
baresip #2 (the agent's desk phone, registered at Kamailio, auto-answer) receives the call. The
audit trail and the transcript note the transfer.

The stack's API expects the gateway's control server on `stack.voice_gateway_port`; the test's
gateway listens there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from telephony.asr import AsrEngine
from telephony.audio import read_wav, rms, wav_bytes
from telephony.gateway import Gateway
from telephony.settings import Settings
from tests.e2e.conftest import ADMIN_PASSWORD, Stack
from tests.telephony.conftest import korean_model_path, run
from tests.telephony.peers import Kamailio
from tests.telephony.phones import Phone
from tests.telephony.test_call_baresip import until

pytestmark = pytest.mark.voice


async def until_async(probe: Callable[[], Awaitable[object]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        await asyncio.sleep(0.3)


async def _said(messages: Awaitable[list[dict]], text: str) -> bool:
    return any(m["role"] == "citizen" and m["text"] == text for m in await messages)


async def _scenario(tmp: Path, stack: Stack) -> None:
    kam = Kamailio(tmp / "kamailio", password="s3cret-pw")
    kam.start()
    target = f"sip:1001@127.0.0.1:{kam.port}"
    agent_headers = stack.ensure_staff("agent_sip1", "agent", sip_uri=target)
    other_headers = stack.ensure_staff("agent_nosip", "agent")
    settings = Settings(
        sip_bind="127.0.0.1", sip_port=0, health_port=stack.voice_gateway_port, rtp_port_min=0,
        vosk_model_path=korean_model_path(), tts_engines=["espeak"], prompt_cache_dir=tmp / "prompts",
        api_url=stack.api_url, service_token=stack.service_token, agent_hold_seconds=300,
        no_input_timeout=200, media_timeout=60,
    )
    asr = AsrEngine(korean_model_path(), workers=1)
    gateway = Gateway(settings, asr=asr)
    (tmp / "silence.wav").write_bytes(wav_bytes(np.zeros(8000 * 300, dtype=np.int16)))
    agent = Phone(tmp / "agent", user="1001", source_wav=tmp / "silence.wav", registrar=kam, auto_answer=True)
    citizen = Phone(tmp / "citizen", user="13805150000", source_wav=tmp / "silence.wav")
    try:
        await gateway.start()
        agent.start()
        await until(lambda: "authenticated REGISTER sip:1001@" in kam.log(), 30, "the agent's phone never registered")
        citizen.start(f"sip:12345@127.0.0.1:{gateway.ua.local_port}")
        await until(lambda: gateway.active, 30, "the call never reached the gateway")
        cid, session = next(iter(gateway.active.items()))

        async with httpx.AsyncClient(base_url=stack.api_url, timeout=150) as api:
            async def transcript() -> list[dict]:
                found = await api.get(f"/api/v1/console/conversations/{cid}", headers=agent_headers)
                return found.json()["messages"] if found.status_code == 200 else []

            # The call is a conversation from the first ring: no word or key needed to reach agents.
            await until_async(lambda: transcript(), 30, "the answered call never reached the hub")
            first = (await api.get(f"/api/v1/console/conversations/{cid}", headers=agent_headers)).json()
            await until(lambda: any(t.source == "greeting" for t in session.state.completed_timings), 60, "no greeting")
            await until(lambda: not session.state.playing(), 90, "the greeting never ended")
            citizen.command("/sndcode 0#")  # the caller presses 0 for a person
            await until_async(lambda: _said(transcript(), "转人工"), 60, "the keypad press never reached the hub")
            before_takeover = await transcript()
            taken = await api.post(f"/api/v1/console/conversations/{cid}/takeover", headers=agent_headers)
            assert taken.status_code == 200, taken.text
            # The agent types before transferring: the caller hears it (packets sent = the phone's clock).
            # Two quiet seconds on the line before the agent types, so the check below does not hang on
            # the phone's recording being a few hundred ms behind the gateway's packet count (busy CI).
            for _ in range(5):
                await until(lambda: not session.state.playing(), 90, "the hold prompt never ended")
                await asyncio.sleep(2.0)
                if not session.state.playing():
                    break
            said_at = session.call.rtp.packets_out
            typed = await api.post(f"/api/v1/console/conversations/{cid}/messages", headers=agent_headers,
                                   json={"text": "您好，我是坐席，马上把电话转到我这边。"})
            await until(lambda: session.state.playing(), 30, "the agent's text was never spoken")
            await until(lambda: not session.state.playing(), 60, "the agent's text never ended")
            # only the agent holding the conversation may have the call transferred
            refused = await api.post(f"/api/v1/console/conversations/{cid}/transfer", headers=other_headers)
            assert refused.status_code == 409, refused.text
            resp = await api.post(f"/api/v1/console/conversations/{cid}/transfer", headers=agent_headers)
            assert resp.status_code == 200, resp.text
            result = resp.json()
            await agent.wait_log("Call established", 60)  # the agent's desk phone has the call
            await until(lambda: gateway.records, 60, "the gateway never let go of the call")
            detail = (await api.get(f"/api/v1/console/conversations/{cid}", headers=agent_headers)).json()
            again = await api.post(f"/api/v1/console/conversations/{cid}/transfer", headers=agent_headers)
    finally:
        citizen.stop()
        agent.stop()
        await gateway.stop()
        asr.close()
        kam.stop()

    assert first["caller_number"] == "13805150000" and first["channel"] == "voice"
    assert (first["messages"][0]["role"], first["messages"][0]["text"]) == ("system", "电话接通。")
    lines = [(m["role"], m["text"]) for m in before_takeover]
    assert ("bot", settings.greeting or gateway.prompts.greeting) in lines  # what the gateway said itself
    keypad = lines.index(("system", "（来电者按键：0）"))
    assert lines[keypad + 1] == ("citizen", "转人工")  # the key, then the turn it made
    assert typed.status_code == 200 and typed.json()["spoken"] is True, typed.text
    heard, rate = read_wav(sorted(citizen.rec_dir.glob("*-dec.wav"))[0].read_bytes())  # the call with the bot
    start = said_at * 160 * rate // 8000
    assert rms(heard[start - rate:start - rate // 2]) < 100  # quiet line before the agent typed
    assert rms(heard[start:start + 3 * rate]) > 300, "the agent's words were not heard on the phone"
    assert result == {"conversation_id": cid, "target": target, "method": "refer", "status": "completed"}
    assert again.status_code == 409  # the call has left the gateway
    assert gateway.records[0].end_reason == "transferred"
    assert "Call established: sip:1001@" in citizen.log()
    assert detail["channel"] == "voice" and detail["mode"] == "agent" and detail["assigned_agent"] == "agent_sip1"
    transfers = [e for e in detail["events"] if e["action"] == "transfer"]
    assert len(transfers) == 1 and transfers[0]["actor"] == "agent_sip1"
    assert transfers[0]["note"].startswith("refer completed") and target in transfers[0]["note"]
    assert any(m["role"] == "system" and "已转接到坐席 agent_sip1 的分机" in m["text"] for m in detail["messages"])
    assert "draft" in detail  # the draft ticket stays with the agent


def test_agent_takes_call_by_transfer_to_extension(tmp_path: Path, stack: Stack) -> None:
    run(_scenario(tmp_path, stack), timeout=400)


def test_transfer_needs_a_voice_conversation_and_an_extension(stack: Stack) -> None:
    with_sip = stack.ensure_staff("agent_chat1", "agent", sip_uri="sip:1002@127.0.0.1")
    no_sip = stack.ensure_staff("agent_nosip2", "agent")
    service = {"Authorization": f"Bearer {stack.service_token}"}
    chat = stack.new_conversation()  # a web chat opens a server-issued session; a call is opened by the gateway
    cases = [
        (with_sip, chat, {"text": "我要投诉", "channel": "chat"}, stack.citizen_auth(chat), "电话"),
        (no_sip, stack.new_conversation_id(), {"text": "我要投诉", "channel": "voice", "caller_number": "13805150001"},
         service, "分机"),
    ]
    for who, conv, body, auth, reason in cases:
        sent = httpx.post(f"{stack.api_url}/api/v1/conversations/{conv}/messages", json=body, headers=auth, timeout=60)
        assert sent.status_code == 200, sent.text
        taken = httpx.post(f"{stack.api_url}/api/v1/console/conversations/{conv}/takeover", headers=who, timeout=30)
        assert taken.status_code == 200, taken.text
        resp = httpx.post(f"{stack.api_url}/api/v1/console/conversations/{conv}/transfer", headers=who, timeout=30)
        assert resp.status_code == 409 and reason in resp.json()["detail"], resp.text
    users = httpx.get(f"{stack.api_url}/api/v1/users", headers=stack.login("admin", ADMIN_PASSWORD), timeout=30).json()
    assert {u["username"]: u["sip_uri"] for u in users}["agent_chat1"] == "sip:1002@127.0.0.1"
