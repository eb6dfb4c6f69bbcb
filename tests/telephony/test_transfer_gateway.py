"""Transfer edge cases with the gateway's own SIP caller (which, like many trunks, refuses REFER):
holding for an agent until the hold runs out, and a transfer whose bridge the agent's side
refuses (busy), which must end the call with the call-back promise and keep the conversation."""

from __future__ import annotations

import httpx
import pytest

from telephony.asr import AsrEngine
from telephony.caller import Caller
from telephony.gateway import Gateway
from telephony.settings import Settings
from telephony.sip.ua import SipUA, UASettings
from telephony.transfer import sipfrag_status
from tests.telephony.conftest import run
from tests.telephony.scripted_hub import ScriptedHub, reply
from tests.telephony.test_gateway_calls import NOTICE, _wait_record

pytestmark = pytest.mark.voice


def test_sipfrag_status() -> None:
    assert sipfrag_status(b"SIP/2.0 200 OK\r\n") == 200
    assert sipfrag_status(b"SIP/2.0 180 Ringing") == 180
    assert sipfrag_status(b"") is None
    assert sipfrag_status(b"garbage") is None


async def _start(settings: Settings, asr: AsrEngine, hold: float) -> tuple[ScriptedHub, Gateway, Caller]:
    hub = ScriptedHub([lambda t: reply("正在为您转接人工服务。", mode="agent", handoff=True)])
    await hub.start()
    settings.api_url = hub.url
    settings.notice = NOTICE
    settings.greeting = "请讲。"  # short: the tests wait it out
    settings.agent_hold_seconds = hold
    settings.transfer_ring_seconds = 10
    gateway = Gateway(settings, asr=asr)
    await gateway.start()
    return hub, gateway, await Caller.create()


def test_hold_runs_out_into_the_call_back_promise(gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    async def scenario() -> None:
        hub, gateway, caller = await _start(gateway_settings, asr_engine, hold=3)
        try:
            call = await caller.dial(f"sip:12345@127.0.0.1:{gateway.ua.local_port}")
            assert await caller.wait_voice_after(0, 30)
            caller.dtmf("0#")
            await hub.wait_for(lambda: len(hub.messages) >= 1)
            await _wait_record(gateway, 90)
            assert call.state == "ended"
        finally:
            await caller.close()
            await gateway.stop()
            await hub.stop()
        record = gateway.records[0]
        said = [text for who, text in record.transcript if who == "bot"]
        assert any("请不要挂机" in t for t in said), said
        assert "工作人员尽快与您联系" in said[-1]
        assert record.end_reason == "handoff" and record.transfer is None
        assert hub.closes == []

    run(scenario)


def test_failed_bridge_ends_with_call_back_promise(gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    async def scenario() -> None:
        hub, gateway, caller = await _start(gateway_settings, asr_engine, hold=300)
        busy = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="1001", max_calls=0))
        await busy.start()
        target = f"sip:1001@127.0.0.1:{busy.local_port}"
        try:
            call = await caller.dial(f"sip:12345@127.0.0.1:{gateway.ua.local_port}")
            assert await caller.wait_voice_after(0, 30)
            caller.dtmf("0#")
            await hub.wait_for(lambda: len(hub.messages) >= 1)
            cid = next(iter(gateway.active))
            async with httpx.AsyncClient(timeout=120) as client:
                resp = await client.post(f"http://127.0.0.1:{gateway.health_port}/calls/{cid}/transfer",
                                         json={"target": target},
                                         headers={"Authorization": f"Bearer {gateway_settings.service_token}"})
            await _wait_record(gateway, 90)
            assert call.state == "ended"
        finally:
            await caller.close()
            await busy.stop()
            await gateway.stop()
            await hub.stop()
        assert resp.status_code == 502
        body = resp.json()
        assert body["method"] == "bridge" and body["status"] == "failed" and body["sip_status"] == 486, body
        assert body["refer"]["ok"] is False and body["refer"]["sip_status"] == 405, body
        record = gateway.records[0]
        assert record.end_reason == "transfer_failed"
        assert "工作人员尽快与您联系" in record.transcript[-1][1]
        assert hub.closes == []

    run(scenario)
