"""TTS: the edge-tts client against a local server speaking its protocol, espeak-ng, the cache."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from telephony.audio import rms
from telephony.tts import EdgeTts, EspeakTts, PromptCache, Synthesizer, TtsError, split_sentences
from tests.telephony.conftest import run
from tests.telephony.edge_tts_server import EdgeTtsServer

TEXT = "您好，请问有什么可以帮您？"


def test_edge_tts_client_speaks_the_protocol() -> None:
    async def scenario() -> tuple[np.ndarray, list[dict[str, str]]]:
        server = EdgeTtsServer()
        await server.start()
        try:
            engine = EdgeTts(voice="zh-CN-XiaoxiaoNeural", timeout=10, wss_url=server.url)
            pcm = await engine.synth(TEXT)
        finally:
            await server.stop()
        return pcm, server.requests

    pcm, requests = run(scenario, timeout=60)
    assert len(requests) == 1
    req = requests[0]
    assert "(zh-CN, XiaoxiaoNeural)" in req["voice"]
    assert req["text"] == TEXT
    assert "audio-24khz-48kbitrate-mono-mp3" in req["config"]
    assert "Sec-MS-GEC=" in req["query"] and "ConnectionId=" in req["query"]
    # decoded from MP3 to 8 kHz: seconds of real, non-silent speech
    assert 1.0 < pcm.size / 8000 < 15 and rms(pcm) > 500


def test_edge_tts_times_out_and_backs_off() -> None:
    async def scenario() -> tuple[float, bool]:
        server = EdgeTtsServer(delay=5.0)  # answers too late
        await server.start()
        try:
            engine = EdgeTts(timeout=1.0, cooldown=60, wss_url=server.url)
            t0 = time.monotonic()
            with pytest.raises(TtsError):
                await engine.synth(TEXT)
            return time.monotonic() - t0, engine.available()
        finally:
            await server.stop()

    took, available = run(scenario, timeout=60)
    assert took < 4.5  # bounded by our timeout, not the server's delay
    assert available is False  # the breaker keeps the dead service out of the next sentences


def test_falls_back_to_espeak_when_edge_is_unreachable(tmp_path: Path) -> None:
    async def scenario() -> list[tuple[str, bool]]:
        edge = EdgeTts(timeout=2.0, wss_url="ws://127.0.0.1:9/consumer/speech/synthesize/readaloud/edge/v1?x=1")
        synth = Synthesizer([edge, EspeakTts()], PromptCache(tmp_path))
        out = []
        for _ in range(2):
            speech = await synth.speak("请问您要反映什么问题？")
            assert rms(speech.pcm) > 500
            out.append((speech.engine, speech.cached))
        return out

    assert run(scenario, timeout=60) == [("espeak", False), ("espeak", True)]


def test_espeak_speaks_mandarin_at_8khz() -> None:
    pcm = run(EspeakTts().synth("建湖十二三四五政务服务热线"), timeout=30)
    assert pcm.dtype == np.int16 and pcm.size / 8000 > 1.0 and rms(pcm) > 500


def test_prompt_cache_keys_and_one_off_texts(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path)
    pcm = (np.arange(800) % 100).astype(np.int16)
    cache.put(pcm, engine="espeak", voice="cmn", text="再见")
    assert np.array_equal(cache.get(engine="espeak", voice="cmn", text="再见"), pcm)  # type: ignore[arg-type]
    assert cache.get(engine="edge", voice="cmn", text="再见") is None
    assert cache.get(engine="espeak", voice="yue", text="再见") is None
    assert cache.get(engine="espeak", voice="cmn", text="再见。") is None

    calls: list[str] = []

    class Counting(EspeakTts):
        async def synth(self, text: str) -> np.ndarray:
            calls.append(text)
            return await super().synth(text)

    synth = Synthesizer([Counting()], PromptCache(tmp_path / "c"))

    async def twice(text: str) -> None:
        await synth.speak(text)
        await synth.speak(text)

    asyncio.run(twice("感谢您的来电"))
    asyncio.run(twice("您的工单号是JH20261127-0001"))  # one-off (has digits): not cached
    assert calls == ["感谢您的来电", "您的工单号是JH20261127-0001", "您的工单号是JH20261127-0001"]
    assert len(list((tmp_path / "c").glob("*.wav"))) == 1


def test_sentence_splitting() -> None:
    assert split_sentences("好的。请问在哪里？谢谢！") == ["好的。", "请问在哪里？", "谢谢！"]
    long = "为了把您的诉求准确转给承办部门，我需要和您再核对几个细节，包括发生的具体地点、持续的时间、以及对您生活造成的影响。"
    parts = split_sentences(long, max_chars=20)
    assert "".join(parts) == long and all(len(p) <= 22 for p in parts) and len(parts) > 2
    assert split_sentences("  ") == []
