"""A phone call through the whole stack: baresip (the citizen) → the voice gateway → the real hub,
Rasa and the action server. The call is one hub conversation with channel voice and the caller's
number; speech (Korean, decoded by the real Vosk decoder: the Chinese models cannot be downloaded
here) and keypad digits reach the bot, its replies are spoken back, and hanging up mid-intake
leaves a draft report for staff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from telephony.asr import AsrEngine
from telephony.audio import wav_bytes
from telephony.gateway import Gateway
from telephony.settings import Settings
from tests.e2e.conftest import Stack
from tests.telephony.conftest import espeak, korean_model_path, run
from tests.telephony.peers import Baresip

pytestmark = pytest.mark.voice
CALLER = "13805151234"


@pytest.fixture(scope="module")
def asr() -> Iterator[AsrEngine]:
    engine = AsrEngine(korean_model_path(), workers=1)
    yield engine
    engine.close()


async def until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        await asyncio.sleep(0.2)


def conversation(stack: Stack, conversation_id: str) -> dict | None:
    response = httpx.get(f"{stack.api_url}/api/v1/conversations/{conversation_id}", headers=stack.auth, timeout=30)
    return response.json() if response.status_code == 200 else None


def citizen_texts(stack: Stack, conversation_id: str) -> list[str]:
    found = conversation(stack, conversation_id)
    return [m["text"] for m in (found or {}).get("messages", []) if m["role"] == "citizen"]


async def _call(stack: Stack, asr: AsrEngine, tmp: Path) -> str:
    settings = Settings(
        sip_bind="127.0.0.1", sip_port=0, health_port=0, rtp_port_min=0, vosk_model_path=korean_model_path(),
        tts_engines=["espeak"], prompt_cache_dir=tmp / "prompts", service_token=stack.service_token,
        api_url=stack.api_url,
    )
    silence = np.zeros(8000 * 200, dtype=np.int16)  # baresip hangs up when its source file ends
    (tmp / "silence.wav").write_bytes(wav_bytes(silence))
    (tmp / "speech.wav").write_bytes(wav_bytes(np.concatenate([espeak("안녕하세요 반갑습니다", "ko"), silence])))
    gateway = Gateway(settings, asr=asr)
    phone: Baresip | None = None
    try:
        await gateway.start()
        phone = Baresip(tmp / "baresip", user=CALLER, source_wav=tmp / "silence.wav")
        phone.start(f"sip:bot@127.0.0.1:{gateway.ua.local_port}", seconds=180)
        await until(lambda: gateway.active, 60, "the call never reached the gateway")
        session = next(iter(gateway.active.values()))
        conversation_id = session.state.conversation_id
        await until(lambda: any(t.source == "greeting" for t in session.state.completed_timings), 90, "no greeting")
        await until(lambda: not session.state.playing(), 90, "the greeting never ended")

        phone.command(f"/ausrc aufile,{tmp / 'speech.wav'}")
        await until(lambda: citizen_texts(stack, conversation_id), 90, "the caller's speech never reached the hub")
        await until(lambda: not session.state.playing(), 120, "the bot's spoken reply never ended")
        phone.command(f"/sndcode {CALLER}#")
        await until(lambda: CALLER in citizen_texts(stack, conversation_id), 60, "the keyed number never arrived")
        await asyncio.sleep(1.0)
        phone.command("/hangup")
        await until(lambda: (conversation(stack, conversation_id) or {}).get("mode") == "closed", 60,
                    "hanging up did not close the conversation")
        return conversation_id
    finally:
        if phone is not None:
            phone.stop()
        await gateway.stop()


def test_a_call_is_a_hub_conversation_and_a_hang_up_leaves_a_draft(stack: Stack, asr: AsrEngine,
                                                                 tmp_path: Path) -> None:
    conversation_id = run(_call(stack, asr, tmp_path), timeout=420)
    found = conversation(stack, conversation_id)
    assert found is not None and found["channel"] == "voice"
    citizen = [m for m in found["messages"] if m["role"] == "citizen"]
    bot = [m for m in found["messages"] if m["role"] == "bot"]
    assert citizen[0]["text"] and citizen[0]["intent"], "decoded speech goes to Rasa and is understood somehow"
    assert citizen[-1]["text"] == CALLER
    assert len(bot) >= 2, "Rasa answered both turns"
    assert found["closed_reason"] == "caller_hangup"
    assert CALLER in found["draft"]["citizen_text"]
    # A voice transcript carries the caller's number: not readable without the service token.
    assert httpx.get(f"{stack.api_url}/api/v1/conversations/{conversation_id}", timeout=30).status_code == 401
