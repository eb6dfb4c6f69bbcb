"""A real call over loopback: baresip (the citizen) → Kamailio (registrar/proxy) → the gateway.

The gateway registers with digest auth, answers, plays the recording notice and the greeting;
the caller's speech (Korean, espeak-ng made, played by baresip) is decoded by the real Vosk
decoder, a second utterance barges in over a long reply and is recognised against the buttons'
phrase list, then keypad input (RFC 2833 from baresip) gives a phone number and a yes, and the
bot ends the call.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from telephony.asr import AsrEngine
from telephony.audio import wav_bytes
from telephony.gateway import Gateway
from telephony.settings import Settings
from telephony.turns import Prompts
from tests.telephony.conftest import espeak, run
from tests.telephony.peers import Baresip, Kamailio, window_rms
from tests.telephony.scripted_hub import ScriptedHub, reply

pytestmark = pytest.mark.voice

LONG_REPLY = (
    "好的，您反映的情况我已经记下了。为了把您的诉求准确转给承办部门，我需要和您再核对几个细节，"
    "包括发生的具体地点、持续的时间、以及对您生活造成的影响。请您先确认一下，刚才说的内容是否准确？"
)


async def until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        await asyncio.sleep(0.05)


async def _scenario(tmp: Path, settings: Settings, asr: AsrEngine) -> None:
    hub = ScriptedHub([
        lambda t: reply(LONG_REPLY, buttons=[("안녕하세요", "/affirm"), ("감사합니다", "/deny")]),
        lambda t: reply("请输入您的联系电话，以井号键结束。"),
        lambda t: reply("您的号码是" + t + "，对吗？", buttons=[("是", "/affirm"), ("不是", "/deny")]),
        lambda t: reply("您的诉求已受理，感谢您的来电，再见。", mode="closed"),
    ])
    await hub.start()
    kam = Kamailio(tmp / "kamailio", password="s3cret-pw")
    kam.start()
    settings.api_url = hub.url
    settings.sip_user = "bot"
    settings.sip_registrar = kam.uri
    settings.sip_password = "s3cret-pw"
    gateway = Gateway(settings, asr=asr)
    phone: Baresip | None = None
    try:
        await gateway.start()
        await asyncio.wait_for(gateway.ua.registered.wait(), 20)

        # The caller's audio is switched at run time (baresip's /ausrc), driven by what the bot
        # does, so the test never depends on how fast this machine decodes or speaks.
        notice = (await gateway.synth.speak(Prompts().notice, cache=True)).pcm.size / 8000
        silence = np.zeros(8000 * 300, dtype=np.int16)  # baresip hangs up when its source file ends
        for name, text in (("first", "안녕하세요 반갑습니다 잘 부탁드립니다"), ("second", "감사합니다")):
            (tmp / f"{name}.wav").write_bytes(wav_bytes(np.concatenate([espeak(text, "ko"), silence])))
        (tmp / "silence.wav").write_bytes(wav_bytes(silence))

        phone = Baresip(tmp / "baresip", user="13805150000", source_wav=tmp / "silence.wav")
        phone.start(f"sip:bot@127.0.0.1:{kam.port}", seconds=280)

        await until(lambda: gateway.active, 30, "the call never reached the gateway")
        session = next(iter(gateway.active.values()))
        # greeting (after the notice) has started, then finished
        await until(lambda: any(t.source == "greeting" for t in session.state.completed_timings), 60, "no greeting")
        await until(lambda: not session.state.playing(), 60, "greeting never ended")
        phone.command(f"/ausrc aufile,{tmp / 'first.wav'}")
        await hub.wait_for(lambda: len(hub.messages) >= 1, timeout=60)
        await until(session.state.playing, 30, "the long reply never played")
        await asyncio.sleep(2.0)  # well into the long reply (it lasts over 20 s)
        assert session.state.playing()
        phone.command(f"/ausrc aufile,{tmp / 'second.wav'}")  # barge in with a choice
        await hub.wait_for(lambda: len(hub.messages) >= 2, timeout=60)
        await asyncio.sleep(1.0)  # the phone-number prompt has begun
        phone.command("/sndcode 13805150000#")
        await hub.wait_for(lambda: len(hub.messages) >= 3, timeout=30)
        await asyncio.sleep(1.0)
        phone.command("/sndcode 1")
        await hub.wait_for(lambda: len(hub.messages) >= 4, timeout=30)
        deadline = time.monotonic() + 60
        while not gateway.records and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        # baresip has seen the BYE once it reports the call terminated
        while "terminated" not in phone.log() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)
    finally:
        if phone is not None:
            phone.stop()
        await gateway.stop()
        kam.stop()
        await hub.stop()

    sent = [(m["text"], m.get("payload")) for m in hub.messages]
    assert hub.rejected == []
    assert all(m["channel"] == "voice" and m["caller_number"] == "13805150000" for m in hub.messages)
    assert sent[0][0] and sent[0][1] is None, f"free speech should reach the hub as text: {sent}"
    assert sent[1] == ("감사합니다", "/deny"), f"감사합니다 should match its button via the phrase list: {sent}"
    assert sent[2] == ("13805150000", None)
    assert sent[3] == ("是", "/affirm")
    assert len({m["conversation_id"] for m in hub.messages}) == 1

    record = gateway.records[0]
    assert record.end_reason == "completed"
    assert record.barge_ins >= 1, "the second utterance should have stopped the long reply"
    assert record.closed_with is None  # the hub closed it itself (mode=closed)
    speech_turns = [t for t in record.timings if t.source == "speech"]
    assert speech_turns and all(t.first_audio and t.speech_end and t.first_audio > t.speech_end for t in speech_turns)

    log = phone.log()
    assert "Call established" in log and "terminated" in log
    assert re.search(r"authenticated REGISTER sip:bot@127\.0\.0\.1", kam.log())
    assert "routing INVITE for sip:bot@127.0.0.1" in kam.log()
    assert "in-dialog BYE via record-route" in kam.log()
    heard, rate = phone.heard()
    assert heard.size > 10 * rate
    # the recording notice is audible from the first seconds of the call; baresip heard it
    assert window_rms(heard, 0.5, 5.0, rate) > 300
    assert window_rms(heard, 0.5, notice, rate) > 300


def test_call_through_kamailio_with_baresip(tmp_path: Path, gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    run(_scenario(tmp_path, gateway_settings, asr_engine), timeout=400)
