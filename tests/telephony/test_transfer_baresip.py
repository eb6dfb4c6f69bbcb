"""Transfer to an agent's extension, over loopback with real SIP peers.

baresip #1 is the citizen: it calls the gateway through Kamailio, presses 0 for a person and
holds. baresip #2 is the agent's desk phone, registered at Kamailio as extension 1001 and
answering by itself. The transfer is asked for on the gateway's control endpoint (what the
console's API route does) and must end with the agent's phone in a call that carries the
citizen's audio:

- REFER: the citizen's baresip takes the REFER, calls 1001 itself and the gateway leaves;
- bridge: the citizen's baresip refuses REFER (call_transfer=no), so the gateway calls 1001 and
  relays audio both ways until the citizen hangs up, which also ends the agent's call.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import numpy as np
import pytest

from telephony.asr import AsrEngine
from telephony.audio import wav_bytes
from telephony.gateway import Gateway
from telephony.settings import Settings
from tests.telephony.conftest import run
from tests.telephony.peers import Kamailio, window_rms
from tests.telephony.phones import Phone
from tests.telephony.scripted_hub import ScriptedHub, reply
from tests.telephony.test_call_baresip import until

pytestmark = pytest.mark.voice

TOKEN = "test-service-token"


def tone(freq: float, seconds: float, amp: int = 6000) -> np.ndarray:
    t = np.arange(int(seconds * 8000)) / 8000
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


async def _scenario(tmp: Path, settings: Settings, asr: AsrEngine, *, refer: bool) -> None:
    hub = ScriptedHub([lambda t: reply("正在为您转接人工服务。", mode="agent", handoff=True)])
    await hub.start()
    kam = Kamailio(tmp / "kamailio", password="s3cret-pw")
    kam.start()
    settings.api_url = hub.url
    settings.sip_user = "bot"
    settings.sip_registrar = kam.uri
    settings.sip_password = "s3cret-pw"
    settings.agent_hold_seconds = 200
    settings.notice = "您好，本通话将被录音。"  # short prompts: the test waits them out
    settings.greeting = "请讲。"
    gateway = Gateway(settings, asr=asr)
    silence = np.zeros(8000 * 300, dtype=np.int16)
    (tmp / "silence.wav").write_bytes(wav_bytes(silence))
    (tmp / "citizen-tone.wav").write_bytes(wav_bytes(np.concatenate([tone(440, 60)])))
    (tmp / "agent-tone.wav").write_bytes(wav_bytes(tone(1000, 280)))
    agent = Phone(tmp / "agent", user="1001", source_wav=tmp / "agent-tone.wav", registrar=kam, auto_answer=True)
    citizen = Phone(tmp / "citizen", user="13805150000", source_wav=tmp / "silence.wav", transfer=refer)
    target = f"sip:1001@127.0.0.1:{kam.port}"
    control = ""
    try:
        await gateway.start()
        control = f"http://127.0.0.1:{gateway.health_port}"
        await asyncio.wait_for(gateway.ua.registered.wait(), 20)
        agent.start()
        await until(lambda: "authenticated REGISTER sip:1001@" in kam.log(), 30, "the agent's phone never registered")

        citizen.start(f"sip:bot@127.0.0.1:{kam.port}")
        await until(lambda: gateway.active, 30, "the call never reached the gateway")
        cid, session = next(iter(gateway.active.items()))
        await until(lambda: any(t.source == "greeting" for t in session.state.completed_timings), 60, "no greeting")
        citizen.command("/sndcode 0#")
        await hub.wait_for(lambda: len(hub.messages) >= 1, timeout=60)
        await until(lambda: session.turns.holding_since is not None, 30, "the caller was not put on hold")

        async with httpx.AsyncClient(timeout=120) as client:
            auth = {"Authorization": f"Bearer {TOKEN}"}
            assert (await client.post(f"{control}/calls/{cid}/transfer", json={"target": target})).status_code == 401
            assert (await client.post(f"{control}/calls/call-nope/transfer", json={"target": target},
                                      headers=auth)).status_code == 404
            resp = await client.post(f"{control}/calls/{cid}/transfer", json={"target": target}, headers=auth)
            assert resp.status_code == 200, resp.text
            result = resp.json()
            # the agent's phone has the call
            await agent.wait_log("Call established", 60)
            # the citizen's audio reaches the agent (directly after REFER, through the gateway in a bridge)
            citizen.command(f"/ausrc aufile,{tmp / 'citizen-tone.wav'}")
            await asyncio.sleep(4)
            if refer:
                await until(lambda: gateway.records, 60, "the gateway never let go of the transferred call")
            else:
                assert gateway.active.get(cid) is session and session.bridge is not None
                again = await client.post(f"{control}/calls/{cid}/transfer", json={"target": target}, headers=auth)
                assert again.status_code == 409
                citizen.command("/hangup")
                await until(lambda: gateway.records, 60, "the bridged call never ended")
                await agent.wait_log("terminated", 30)  # the agent's leg went with the citizen's
            ended = await client.post(f"{control}/calls/{cid}/transfer", json={"target": target}, headers=auth)
            assert ended.status_code == 409
    finally:
        citizen.stop()
        agent.stop()
        await gateway.stop()
        kam.stop()
        await hub.stop()

    assert hub.messages[0]["text"] == "转人工"
    assert hub.closes == []  # the conversation stays with the agent
    record = gateway.records[0]
    if refer:
        assert result["method"] == "refer" and result["status"] == "completed", result
        assert record.end_reason == "transferred"
        clog = citizen.log()
        assert "Call established: sip:1001@" in clog, clog[-3000:]  # the citizen's phone called 1001 itself
    else:
        assert result["method"] == "bridge" and result["status"] == "bridged", result
        assert result["refer"]["ok"] is False and (result["refer"]["sip_status"] or 0) >= 400, result
        assert record.end_reason == "bridged"
        heard, rate = citizen.heard()
        # the citizen heard the agent's phone (its 1 kHz tone) through the bridge
        spectrum = np.abs(np.fft.rfft(heard[-4 * rate:].astype(np.float64)))
        assert spectrum.argmax() * rate / (4 * rate) == pytest.approx(1000, abs=20)
    assert record.transfer is not None and record.transfer["target"] == target
    heard, rate = agent.heard()
    assert heard.size > 2 * rate
    assert window_rms(heard, heard.size / rate - 3, heard.size / rate, rate) > 500, "no citizen audio at the agent"
    spectrum = np.abs(np.fft.rfft(heard[-2 * rate:].astype(np.float64)))
    assert spectrum.argmax() * rate / (2 * rate) == pytest.approx(440, abs=20)


def test_transfer_by_refer_to_agent_phone(tmp_path: Path, gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    run(_scenario(tmp_path, gateway_settings, asr_engine, refer=True), timeout=400)


def test_transfer_bridges_when_caller_refuses_refer(tmp_path: Path, gateway_settings: Settings,
                                                    asr_engine: AsrEngine) -> None:
    run(_scenario(tmp_path, gateway_settings, asr_engine, refer=False), timeout=400)
