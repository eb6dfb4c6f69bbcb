"""Each stage of the turn pipeline, tested by feeding frames in and checking frames out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from telephony.asr import AsrEngine
from telephony.frames import DTMF, AudioIn, BargeIn, BotText, FinalText, Frame, SpeechEnd, SpeechStart, TTSAudio
from telephony.gazetteer import Gazetteer
from telephony.hub import HubClient
from telephony.pipeline import AsrProcessor, CallState, FrameCollector, Playout, TtsProcessor, VadProcessor
from telephony.tts import Synthesizer
from telephony.turns import TurnManager
from tests.telephony.conftest import espeak, run
from tests.telephony.scripted_hub import ScriptedHub, reply

GAZETTEER = Path(__file__).resolve().parents[2] / "county" / "jianhu" / "gazetteer.yml"


def tone(seconds: float, amp: float = 8000) -> np.ndarray:
    return (np.sin(2 * np.pi * 300 * np.arange(int(seconds * 8000)) / 8000) * amp).astype(np.int16)


async def until(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


def kinds(frames: list[Frame]) -> list[str]:
    return [type(f).__name__ for f in frames if not isinstance(f, AudioIn)]


def test_vad_processor_emits_barge_in_only_over_interruptible_playback() -> None:
    async def scenario() -> tuple[list[str], list[str], float]:
        audio = np.concatenate([np.zeros(1600, dtype=np.int16), tone(0.6), np.zeros(8000, dtype=np.int16)])
        out = []
        for interruptible in (True, False):
            state = CallState("call-test0001", None)
            state.playing = lambda: True
            state.interruptible = lambda interruptible=interruptible: interruptible  # type: ignore[misc]
            vad = VadProcessor(state)
            sink = FrameCollector()
            vad.next = sink
            t0 = time.monotonic()
            await vad.process(AudioIn(audio, created=t0))  # one big packet: re-cut into 20 ms frames
            out.append(sink)
        end = [f for f in out[0].frames if isinstance(f, SpeechEnd)][0]
        return kinds(out[0].frames), kinds(out[1].frames), end.speech_end - t0

    with_barge, protected, end_offset = run(scenario, timeout=30)
    assert with_barge == ["BargeIn", "SpeechStart", "SpeechEnd"]
    assert protected == ["SpeechStart", "SpeechEnd"]  # the notice is not interrupted, but speech is heard
    # speech ended 0.8 s into the packet, which (as one packet) arrived at t0 + 0: the
    # reported end is packet time minus the trailing silence the VAD waited through
    assert -1.0 < end_offset < -0.3


def test_playout_flushes_on_barge_in_unless_protected() -> None:
    async def scenario() -> tuple[int, int, int]:
        queued: list[tuple[np.ndarray, object]] = []
        state = CallState("call-test0002", None)
        playout = Playout(state, lambda pcm, tag: queued.append((pcm, tag)), lambda: len(queued) and queued.clear() or 1,
                          lambda: 0.0)
        playout.next = FrameCollector()
        await playout.process(TTSAudio(tone(1.0), 1, True, True, interruptible=False))
        await playout.process(BargeIn())
        protected = playout.barge_ins
        playout._protected_until = 0  # the notice has played out
        await playout.process(TTSAudio(tone(1.0), 2, True, True))
        await playout.process(BargeIn())
        return protected, playout.barge_ins, len(queued)

    protected, barged, left = run(scenario, timeout=30)
    assert protected == 0 and barged == 1 and left == 0


def test_tts_processor_speaks_sentence_by_sentence_and_drops_on_barge_in(espeak_synth: Synthesizer) -> None:
    async def scenario() -> tuple[list[TTSAudio], list[TTSAudio]]:
        state = CallState("call-test0003", None)
        tts = TtsProcessor(state, espeak_synth)
        sink = FrameCollector()
        tts.next = sink
        task = asyncio.create_task(tts.run())
        tts.queue.put_nowait(BotText("第一句话。第二句话。", 1))
        await until(lambda: len(sink.of(TTSAudio)) >= 2)
        first = list(sink.of(TTSAudio))  # type: ignore[arg-type]
        sink.frames.clear()
        tts.queue.put_nowait(BotText("这一段会被打断。" * 6, 2))
        tts.queue.put_nowait(BargeIn())
        tts.queue.put_nowait(BotText("打断之后的新回答。", 3))
        await until(lambda: any(isinstance(f, TTSAudio) and f.turn_id == 3 for f in sink.frames))
        await tts.stop()
        task.cancel()
        return first, [f for f in sink.frames if isinstance(f, TTSAudio)]  # type: ignore[misc]

    first, after = run(scenario, timeout=60)
    assert [(f.turn_id, f.first, f.last) for f in first] == [(1, True, False), (1, False, True)]
    assert all(f.pcm.size > 4000 for f in first)
    assert len([f for f in after if f.turn_id == 2]) < 6  # rendering of the interrupted reply stopped
    assert after[-1].turn_id == 3


def test_asr_processor_decodes_with_the_phrase_list(asr_engine: AsrEngine) -> None:
    speech = espeak("감사합니다", "ko")

    async def scenario() -> list[FinalText]:
        state = CallState("call-test0004", None)
        state.grammar = ["안녕하세요", "감사합니다"]
        asr = AsrProcessor(state, asr_engine.stream())
        sink = FrameCollector()
        asr.next = sink
        silence = np.zeros(160, dtype=np.int16)
        for _ in range(10):
            await asr.process(AudioIn(silence))  # pre-roll
        await asr.process(SpeechStart())
        for i in range(0, speech.size, 160):
            await asr.process(AudioIn(speech[i:i + 160]))
        await asr.process(SpeechEnd(time.monotonic()))
        return sink.of(FinalText)  # type: ignore[return-value]

    finals = run(scenario, timeout=60)
    assert [f.text for f in finals] == ["감사합니다"]
    assert finals[0].audio_seconds > 1.0


def test_turn_manager_relays_speech_keypad_and_buttons() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        hub = ScriptedHub([
            lambda t: reply("在哪个镇？"),
            lambda t: reply("确认吗？", buttons=[("是", "/affirm"), ("不是", "/deny")]),
            lambda t: reply("请问具体位置？"),
            lambda t: reply("请再说一次号码。"),
            lambda t: reply("好的。"),
        ])
        await hub.start()
        client = HubClient(hub.url, hub.token)
        state = CallState("call-test0005", "13805150000")
        turns = TurnManager(state, client, gazetteer=Gazetteer.load(GAZETTEER), digit_timeout=0.5)
        sink = FrameCollector()
        turns.next = sink
        try:
            await turns.process(FinalText("幺 三 八 零 五 一 五 二 三 四 五", time.monotonic()))
            await hub.wait_for(lambda: len(hub.messages) >= 1)
            await turns.process(FinalText("我 住在 上岗镇", time.monotonic()))
            await hub.wait_for(lambda: len(hub.messages) >= 2)
            await until(lambda: state.grammar and "是" in state.grammar)  # closed question: phrase list on
            await turns.process(DTMF("1"))  # keypad 1 = first button
            await hub.wait_for(lambda: len(hub.messages) >= 3)
            await until(lambda: state.grammar is None)  # an open question again
            await turns.process(FinalText("对的", time.monotonic()))  # no buttons now: plain text
            await hub.wait_for(lambda: len(hub.messages) >= 4)
            for d in "0515":
                await turns.process(DTMF(d))  # no '#': the inter-digit timeout submits
            await hub.wait_for(lambda: len(hub.messages) >= 5)
        finally:
            await turns.stop()
            await client.aclose()
            await hub.stop()
        bot = [f.text for f in sink.frames if isinstance(f, BotText)]
        return [(m["text"], m.get("payload")) for m in hub.messages], bot

    sent, spoken = run(scenario, timeout=60)
    assert sent == [("13805152345", None), ("我住在上冈镇", None), ("是", "/affirm"), ("对的", None),
                    ("0515", None)]
    assert "确认吗？请说出您的选择，或者按键：是请按1，不是请按2。" in spoken
