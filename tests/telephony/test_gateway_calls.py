"""Calls the gateway must end well: hang-ups mid-intake, silence, one-way audio, a human asked for.

Driven by the gateway's own SIP caller over loopback (real SIP, RTP and Vosk), which makes the
caller's timing event-driven: each step waits for what the bot did, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from telephony.asr import AsrEngine
from telephony.audio import rms
from telephony.caller import Caller
from telephony.gateway import Gateway
from telephony.settings import Settings
from telephony.sip.ua import SipError
from tests.telephony.conftest import espeak, run
from tests.telephony.scripted_hub import ScriptedHub, reply

pytestmark = pytest.mark.voice

NOTICE = "您好，本通话将被录音。"  # short notice keeps these tests quick; the full one is in test_call_baresip
GREETING = "请讲。"  # likewise: every test here waits for the greeting (twice for a silent caller)


async def _start(settings: Settings, asr: AsrEngine, script: list) -> tuple[ScriptedHub, Gateway, Caller]:  # type: ignore[type-arg]
    hub = ScriptedHub(script)
    await hub.start()
    settings.api_url = hub.url
    settings.notice = NOTICE
    settings.greeting = GREETING
    gateway = Gateway(settings, asr=asr)
    await gateway.start()
    caller = await Caller.create()
    return hub, gateway, caller


async def _wait_record(gateway: Gateway, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not gateway.records:
        if time.monotonic() > deadline:
            raise TimeoutError("the gateway never finished the call")
        await asyncio.sleep(0.1)


def test_caller_hangup_mid_intake_keeps_the_draft(gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    async def scenario() -> None:
        hub, gateway, caller = await _start(gateway_settings, asr_engine, [
            lambda t: reply("请问具体在什么位置？"),
        ])
        try:
            call = await caller.dial(f"sip:12345@127.0.0.1:{gateway.ua.local_port}")
            assert await caller.wait_voice_after(0, 30)
            assert await caller.wait_silence(1.2, 60)  # notice and greeting are over
            await caller.say(espeak("안녕하세요 반갑습니다", "ko"))
            await hub.wait_for(lambda: len(hub.messages) >= 1)
            await call.hangup()  # the citizen hangs up in the middle of the intake
            await hub.wait_for(lambda: len(hub.closes) >= 1)
            await _wait_record(gateway)
        finally:
            await caller.close()
            await gateway.stop()
            await hub.stop()
        assert hub.closes == [{"conversation_id": hub.messages[0]["conversation_id"], "reason": "caller_hangup"}]
        assert gateway.records[0].end_reason == "caller_hangup"
        assert gateway.ua.active_calls() == 0

    run(scenario)


def test_a_silent_caller_is_asked_again_offered_a_person_or_a_callback_and_listed(
        gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    gateway_settings.no_input_timeout = 1.5

    async def scenario() -> None:
        hub, gateway, caller = await _start(gateway_settings, asr_engine, [lambda t: reply("请问是在哪个镇？")])
        try:
            call = await caller.dial(f"sip:12345@127.0.0.1:{gateway.ua.local_port}")
            assert await caller.wait_voice_after(0, 30)
            assert await caller.wait_silence(0.8, 60)
            await caller.say(espeak("안녕하세요 반갑습니다", "ko"))  # one answer, then the caller goes quiet
            await asyncio.wait_for(call.ended.wait(), 150)  # the bot must hang up by itself
            await _wait_record(gateway)
        finally:
            await caller.close()
            await gateway.stop()
            await hub.stop()
        record = gateway.records[0]
        prompts = gateway.prompts
        bot_lines = [text for who, text in record.transcript if who == "bot"]
        assert record.end_reason == "no_input"
        assert call.end_reason == "remote hangup"  # a BYE from the gateway, not a dead channel
        assert any("没有听清" in line and "请问是在哪个镇" in line for line in bot_lines)
        assert any("按0转人工" in line for line in bot_lines), bot_lines
        assert bot_lines[-3:] == [prompts.still_there, prompts.silent_offer, prompts.silent_bye]
        # The hub's transcript has every silence; the caller is listed for agents and called back.
        kinds = hub.kinds()
        assert kinds[0] == "call_started" and kinds.count("silence") == 5
        assert kinds.index("silent_caller") > kinds.index("silence") and "callback" in kinds
        assert [e["text"] for e in hub.events if e["kind"] == "prompt"][-2:] == [prompts.silent_offer, prompts.silent_bye]
        assert hub.closes == [{"conversation_id": hub.messages[0]["conversation_id"], "reason": "no_input"}]
        assert rms(caller.recording()) > 300

    run(scenario)


def test_a_silent_caller_presses_1_for_a_callback(gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    gateway_settings.no_input_timeout = 1.0

    async def scenario() -> None:
        hub, gateway, caller = await _start(gateway_settings, asr_engine, [lambda t: reply("请讲。")])
        try:
            call = await caller.dial(f"sip:12345@127.0.0.1:{gateway.ua.local_port}")
            await hub.wait_for(lambda: "silent_caller" in hub.kinds(), 120)  # never a word from the caller
            caller.dtmf("1")
            await asyncio.wait_for(call.ended.wait(), 60)
            await _wait_record(gateway)
        finally:
            await caller.close()
            await gateway.stop()
            await hub.stop()
        record = gateway.records[0]
        assert record.end_reason == "callback"
        assert record.transcript[-1] == ("bot", gateway.prompts.callback_bye)
        assert hub.kinds()[-3:] == ["keypad", "callback", "prompt"] and hub.events[-3]["digits"] == "1"
        assert hub.messages == [] and hub.closes == []  # no turn for Rasa; the callback waits with the conversation

    run(scenario)


def test_one_way_audio_gets_a_message_and_a_bye(gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    gateway_settings.media_timeout = 2.0

    async def scenario() -> None:
        hub, gateway, caller = await _start(gateway_settings, asr_engine, [lambda t: reply("请问您要反映什么问题？")])
        try:
            call = await caller.dial(f"sip:12345@127.0.0.1:{gateway.ua.local_port}")
            call.rtp.send_enabled = False  # the caller's audio never arrives
            await asyncio.wait_for(call.ended.wait(), 90)
            await _wait_record(gateway)
        finally:
            await caller.close()
            await gateway.stop()
            await hub.stop()
        record = gateway.records[0]
        assert record.end_reason == "one_way_audio"
        assert "听不到您的声音" in record.transcript[-1][1]
        assert call.end_reason == "remote hangup"
        # The caller never got a word in, yet the call is on record from the first ring, and closed.
        cid = record.conversation_id
        assert hub.messages == []
        assert hub.kinds()[:3] == ["call_started", "prompt", "prompt"] and hub.events[0]["caller_number"]
        assert hub.events[-1] == {**hub.events[-1], "kind": "prompt", "text": record.transcript[-1][1]}
        assert hub.closes == [{"conversation_id": cid, "reason": "one_way_audio"}]

    run(scenario)


def test_keypad_zero_asks_for_a_human(gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    async def scenario() -> None:
        hub, gateway, caller = await _start(gateway_settings, asr_engine, [
            lambda t: reply("正在为您转接人工服务。", mode="agent", handoff=True),
        ])
        try:
            call = await caller.dial(f"sip:12345@127.0.0.1:{gateway.ua.local_port}")
            assert await caller.wait_voice_after(0, 30)
            caller.dtmf("0#")
            await hub.wait_for(lambda: len(hub.messages) >= 1)
            await asyncio.wait_for(call.ended.wait(), 60)
            await _wait_record(gateway)
        finally:
            await caller.close()
            await gateway.stop()
            await hub.stop()
        assert hub.messages[0]["text"] == "转人工"
        assert gateway.records[0].end_reason == "handoff"
        assert hub.closes == []  # the conversation stays open for staff to call back

    run(scenario)


def test_health_endpoint_reports_calls(gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    async def scenario() -> None:
        hub, gateway, caller = await _start(gateway_settings, asr_engine, [lambda t: reply("请讲。")])
        try:
            async with httpx.AsyncClient() as client:
                idle = (await client.get(f"http://127.0.0.1:{gateway.health_port}/health")).json()
                await caller.dial(f"sip:12345@127.0.0.1:{gateway.ua.local_port}")
                busy = (await client.get(f"http://127.0.0.1:{gateway.health_port}/health")).json()
        finally:
            await caller.close()
            await gateway.stop()
            await hub.stop()
        assert idle["status"] == "ok" and idle["calls"] == 0 and idle["model"]
        assert busy["calls"] == 1

    run(scenario)


def test_gateway_refuses_to_start_without_a_model(tmp_path: Path) -> None:
    env = {**os.environ, "VOSK_MODEL_PATH": str(tmp_path / "no-model"), "SIP_PORT": "0", "VOICE_HEALTH_PORT": "0",
           "SIP_BIND": "127.0.0.1", "PROMPT_CACHE_DIR": str(tmp_path / "p")}
    proc = subprocess.run([sys.executable, "-m", "telephony"], env=env, capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 2
    assert "make models" in proc.stderr and "VOSK_MODEL_PATH" in proc.stderr


def test_a_slow_hub_gets_the_filler_and_an_agents_text_is_spoken(gateway_settings: Settings,
                                                                 asr_engine: AsrEngine) -> None:
    gateway_settings.filler_after = 1.0

    async def scenario() -> None:
        hub, gateway, caller = await _start(gateway_settings, asr_engine, [lambda t: reply("请问是在哪个镇？")])
        hub.delay = 4.0  # Rasa and the hub are slow today
        try:
            call = await caller.dial(f"sip:12345@127.0.0.1:{gateway.ua.local_port}")
            assert await caller.wait_voice_after(0, 30)
            assert await caller.wait_silence(0.8, 60)
            await caller.say(espeak("안녕하세요 반갑습니다", "ko"))
            await hub.wait_for(lambda: len(hub.messages) >= 1, 60)
            session = next(iter(gateway.active.values()))
            await hub.wait_for(lambda: any("哪个镇" in t for _, t in session.state.transcript), 30)
            assert await caller.wait_silence(0.8, 60)
            url = f"http://127.0.0.1:{gateway.health_port}/calls/{session.state.conversation_id}/say"
            async with httpx.AsyncClient(timeout=30) as client:
                refused = await client.post(url, json={"text": "您好"})
                bad = await client.post(url, json={"text": ""}, headers={"Authorization": "Bearer test-service-token"})
                asked_at = time.monotonic()
                spoken = await client.post(url, json={"text": "您好，我是坐席，我来帮您登记。"},
                                           headers={"Authorization": "Bearer test-service-token"})
            heard_at = await caller.wait_voice_after(asked_at, 30)
            transcript = list(session.state.transcript)
            await call.hangup()
            await _wait_record(gateway)
        finally:
            await caller.close()
            await gateway.stop()
            await hub.stop()
        bot = [text for who, text in transcript if who == "bot"]
        filler = bot.index(gateway.prompts.filler)
        assert "请问是在哪个镇" in bot[filler + 1]  # the filler first, then the late reply
        assert gateway.records[0].timings  # the reply's own timing is kept
        speech_turn = next(t for t in gateway.records[0].timings if t.source == "speech")
        ms = speech_turn.as_ms()
        assert ms["perceived_silence_ms"] < ms["total_ms"]  # the filler broke the silence before the reply
        assert (refused.status_code, bad.status_code, spoken.status_code) == (401, 422, 200)
        assert heard_at is not None and bot[-1] == "您好，我是坐席，我来帮您登记。"
        # the agent's words are the hub's already: not posted again as a gateway prompt
        assert "您好，我是坐席，我来帮您登记。" not in [e.get("text") for e in hub.events]
        assert [e["text"] for e in hub.events if e["kind"] == "prompt"].count(gateway.prompts.filler) == 1

    run(scenario)


def test_beyond_capacity_a_caller_hears_the_lines_are_full_and_gets_a_callback(
        gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    gateway_settings.max_calls = 1
    gateway_settings.overflow_calls = 1

    async def scenario() -> None:
        hub, gateway, first = await _start(gateway_settings, asr_engine, [lambda t: reply("请讲。")])
        second = await Caller.create(number="13805150002")
        third = await Caller.create(number="13805150003")
        try:
            target = f"sip:12345@127.0.0.1:{gateway.ua.local_port}"
            bot_call = await first.dial(target)
            await until_active(gateway)
            overflow = await second.dial(target)  # the bot's one line is taken: the overflow message
            assert await second.wait_voice_after(0, 30)
            await hub.wait_for(lambda: "prompt" in hub.kinds() and len({e["conversation_id"] for e in hub.events}) >= 2,
                               30)
            with pytest.raises(SipError) as busy:  # beyond the overflow lines too: a plain busy
                await third.dial(target)
            second.dtmf("1")
            await asyncio.wait_for(overflow.ended.wait(), 60)  # the gateway hangs up after its goodbye
            await bot_call.hangup()
            deadline = time.monotonic() + 30
            while len(gateway.records) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            for caller in (first, second, third):
                await caller.close()
            await gateway.stop()
            await hub.stop()
        assert busy.value.status == 486
        record = next(r for r in gateway.records if r.caller_number == "13805150002")
        prompts = gateway.prompts
        assert record.end_reason == "overflow_callback" and record.closed_with is None  # left open for staff
        assert [text for _, text in record.transcript] == [prompts.overflow, prompts.callback_bye]
        events = [e for e in hub.events if e["conversation_id"] == record.conversation_id]
        assert [e["kind"] for e in events] == ["call_started", "prompt", "keypad", "callback", "prompt"]
        assert events[0]["caller_number"] == "13805150002"
        assert overflow.end_reason == "remote hangup" and rms(second.recording()) > 300
        assert not any(m["conversation_id"] == record.conversation_id for m in hub.messages)  # no bot dialogue

    run(scenario)


async def until_active(gateway: Gateway, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not gateway.active:
        if time.monotonic() > deadline:
            raise TimeoutError("the first call never became a bot session")
        await asyncio.sleep(0.05)
