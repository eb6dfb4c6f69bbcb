"""Frame processors for one call: VAD, ASR, TTS and playout, plus the pipeline that links them.

Each processor runs as its own task reading its queue, so a slow stage (the hub, TTS) never
stops audio from flowing into VAD — which is what makes barge-in possible while the bot waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from telephony import audio
from telephony.asr import AsrStream
from telephony.frames import (
    DTMF,
    AudioIn,
    BargeIn,
    BotText,
    CallStarted,
    EndCall,
    FinalText,
    Frame,
    Hangup,
    InterimText,
    SpeechEnd,
    SpeechStart,
    TTSAudio,
)
from telephony.textnorm import cjk_join
from telephony.tts import Synthesizer, TtsError, split_sentences
from telephony.vad import Vad, VadConfig

log = logging.getLogger(__name__)


@dataclass
class TurnTiming:
    turn_id: int
    source: str  # start | speech | dtmf | reprompt
    speech_end: float | None = None
    final_text: float | None = None
    bot_reply: float | None = None
    first_audio: float | None = None
    filler: float | None = None  # when the filler started (a slow hub), if it was needed
    tts_engine: str = ""
    tts_cached: bool = False

    def as_ms(self) -> dict[str, float | None]:
        def d(a: float | None, b: float | None) -> float | None:
            return round((b - a) * 1000, 1) if a is not None and b is not None else None

        origin = self.speech_end if self.speech_end is not None else self.final_text
        return {
            "asr_ms": d(self.speech_end, self.final_text),
            "hub_ms": d(self.final_text, self.bot_reply),
            "tts_and_send_ms": d(self.bot_reply, self.first_audio),
            "total_ms": d(origin, self.first_audio),
            # what the caller waits in silence: until the filler (a slow hub) or the reply itself
            "perceived_silence_ms": d(origin, min(t for t in (self.filler, self.first_audio) if t is not None)
                                      if self.first_audio is not None else None),
        }


@dataclass
class CallState:
    """What the processors of one call share (the pipecat way would be upstream frames)."""

    conversation_id: str
    caller_number: str | None
    grammar: list[str] | None = None
    timings: dict[int, TurnTiming] = field(default_factory=dict)
    completed_timings: list[TurnTiming] = field(default_factory=list)
    playing: Callable[[], bool] = lambda: False
    interruptible: Callable[[], bool] = lambda: True
    in_speech: bool = False
    last_activity: float = field(default_factory=time.monotonic)
    end_reason: asyncio.Future[str] | None = None
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (who, text)

    def request_end(self, reason: str) -> None:
        if self.end_reason is not None and not self.end_reason.done():
            self.end_reason.set_result(reason)


class Processor:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Frame] = asyncio.Queue()
        self.next: Processor | None = None

    async def push(self, frame: Frame) -> None:
        if self.next is not None:
            self.next.queue.put_nowait(frame)

    async def process(self, frame: Frame) -> None:
        await self.push(frame)

    async def run(self) -> None:
        while True:
            frame = await self.queue.get()
            try:
                await self.process(frame)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed on %s", type(self).__name__, type(frame).__name__)

    async def stop(self) -> None:
        """Cancel work in flight (subclasses with their own tasks override)."""


class FrameCollector(Processor):
    """Sink that keeps every frame pushed to it (no task needed); for tests and pipeline ends."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []
        collector = self

        class _Recording(asyncio.Queue):  # type: ignore[type-arg]
            def put_nowait(self, item: Frame) -> None:
                collector.frames.append(item)

        self.queue = _Recording()

    async def process(self, frame: Frame) -> None:
        self.frames.append(frame)

    def of(self, kind: type[Frame]) -> list[Frame]:
        return [f for f in self.frames if isinstance(f, kind)]


class VadProcessor(Processor):
    """AudioIn → AudioIn + SpeechStart/SpeechEnd, and BargeIn when speech starts over the bot."""

    def __init__(self, state: CallState, config: VadConfig | None = None) -> None:
        super().__init__()
        self.state = state
        self.vad = Vad(config)
        self._pending = np.zeros(0, dtype=np.int16)

    async def process(self, frame: Frame) -> None:
        if not isinstance(frame, AudioIn):
            await self.push(frame)
            return
        # Re-cut into 20 ms frames whatever the far end's ptime.
        pcm = np.concatenate([self._pending, frame.pcm]) if self._pending.size else frame.pcm
        n = audio.FRAME_SAMPLES
        usable = pcm.size - pcm.size % n
        self._pending = pcm[usable:]
        for i in range(0, usable, n):
            chunk = pcm[i:i + n]
            playing = self.state.playing()
            event = self.vad.process(chunk, playing=playing and self.state.interruptible())
            await self.push(AudioIn(chunk, created=frame.created))
            if event is None:
                continue
            if event.kind == "start":
                self.state.in_speech = True
                self.state.last_activity = time.monotonic()
                if playing and self.state.interruptible():
                    await self.push(BargeIn("speech"))
                await self.push(SpeechStart())
            else:
                self.state.in_speech = False
                self.state.last_activity = time.monotonic()
                # wall time of the last voiced frame = now minus the trailing silence heard
                lag = self.vad.time - event.at
                await self.push(SpeechEnd(frame.created - lag))


class AsrProcessor(Processor):
    """Feeds speech (with 300 ms of pre-roll) to the call's recogniser; FinalText at SpeechEnd."""

    PREROLL_FRAMES = 15

    def __init__(self, state: CallState, stream: AsrStream) -> None:
        super().__init__()
        self.state = state
        self.stream = stream
        self._preroll: deque[np.ndarray] = deque(maxlen=self.PREROLL_FRAMES)
        self._active = False
        self._grammar: list[str] | None = None

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioIn):
            if self._active:
                partial = await self.stream.feed(frame.pcm)
                if partial:
                    await self.push(InterimText(cjk_join(partial)))
            else:
                self._preroll.append(frame.pcm)
            return  # raw audio goes no further
        if isinstance(frame, SpeechStart):
            if self.state.grammar != self._grammar:
                self._grammar = self.state.grammar
                self.stream.set_grammar(self._grammar)
            self._active = True
            for pcm in self._preroll:
                await self.stream.feed(pcm)
            self._preroll.clear()
        elif isinstance(frame, SpeechEnd) and self._active:
            self._active = False
            result = await self.stream.finish()
            text = cjk_join(result.text.replace("[unk]", ""))
            log.info("[%s] heard %r (%.1fs audio, decode %.2fs, cpu %.2fs)", self.state.conversation_id, text,
                     result.audio_seconds, result.decode_seconds, result.cpu_seconds)
            await self.push(FinalText(text, frame.speech_end, result.confidence, result.audio_seconds,
                                      result.decode_seconds, result.cpu_seconds))
            return
        await self.push(frame)

    async def stop(self) -> None:
        self.stream.close()


class TtsProcessor(Processor):
    """BotText → TTSAudio sentence by sentence; a barge-in cancels what is still being rendered."""

    def __init__(self, state: CallState, synth: Synthesizer) -> None:
        super().__init__()
        self.state = state
        self.synth = synth
        self._jobs: asyncio.Queue[BotText] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._current: BotText | None = None

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, BotText):
            if self._worker is None:
                self._worker = asyncio.create_task(self._work())
            self._jobs.put_nowait(frame)
            return
        if isinstance(frame, BargeIn):
            self._drop_interruptible()
        await self.push(frame)

    def _drop_interruptible(self) -> None:
        kept: list[BotText] = []
        while not self._jobs.empty():
            job = self._jobs.get_nowait()
            if not job.interruptible:
                kept.append(job)
        for job in kept:
            self._jobs.put_nowait(job)
        if self._current is not None and self._current.interruptible and self._worker is not None:
            self._worker.cancel()
            self._worker = asyncio.create_task(self._work())

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            self._current = job
            try:
                await self._render(job)
            finally:
                self._current = None

    async def _render(self, job: BotText) -> None:
        sentences = split_sentences(job.text) or [job.text]
        for i, sentence in enumerate(sentences):
            last = i == len(sentences) - 1
            try:
                speech = await self.synth.speak(sentence, cache=job.cache)
            except TtsError as exc:
                log.error("no TTS engine could speak %r: %s", sentence, exc)
                if last and job.end_reason:
                    self.state.request_end(job.end_reason)
                continue
            await self.push(TTSAudio(speech.pcm, job.turn_id, i == 0, last, job.interruptible,
                                     job.end_reason if last else None, speech.engine, speech.cached))

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker


class Playout(Processor):
    """TTSAudio → the RTP sender's queue; BargeIn flushes it. Records first-packet times."""

    def __init__(self, state: CallState, enqueue: Callable[[np.ndarray, object], None],
                 flush: Callable[[], int], queued_seconds: Callable[[], float]) -> None:
        super().__init__()
        self.state = state
        self._enqueue = enqueue
        self._flush = flush
        self._queued_seconds = queued_seconds
        self._protected_until = 0.0  # non-interruptible audio (the recording notice) plays out
        self.barge_ins = 0
        state.interruptible = lambda: time.monotonic() >= self._protected_until

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, TTSAudio):
            if not frame.interruptible:
                ends = time.monotonic() + self._queued_seconds() + frame.pcm.size / audio.SAMPLE_RATE
                self._protected_until = max(self._protected_until, ends)
            self._enqueue(frame.pcm, ("start", frame) if frame.first else None)
            if frame.last and frame.end_reason:
                # a silent marker frame after the audio: fires when everything before it is sent
                self._enqueue(np.zeros(audio.FRAME_SAMPLES, dtype=np.int16), ("end", frame.end_reason))
            return
        if isinstance(frame, BargeIn) and time.monotonic() >= self._protected_until:
            dropped = self._flush()
            if dropped:
                self.barge_ins += 1
                log.info("[%s] barge-in (%s): stopped playback, %d frames dropped",
                         self.state.conversation_id, frame.cause, dropped)
        await self.push(frame)

    def frame_sent(self, tag: object) -> None:
        """Called by the RTP sender when a tagged frame goes out on the wire."""
        if not isinstance(tag, tuple):
            return
        kind, value = tag
        if kind == "start" and isinstance(value, TTSAudio):
            timing = self.state.timings.get(value.turn_id)
            if timing is not None and timing.first_audio is None:
                timing.first_audio = time.monotonic()
                timing.tts_engine, timing.tts_cached = value.engine, value.cached
                self.state.completed_timings.append(timing)
                log.info("[%s] turn %d timings (%s): %s", self.state.conversation_id, timing.turn_id,
                         timing.source, timing.as_ms())
        elif kind == "end" and isinstance(value, str):
            self.state.request_end(value)


class Pipeline:
    def __init__(self, processors: list[Processor]) -> None:
        self.processors = processors
        for a, b in zip(processors, processors[1:], strict=False):
            a.next = b
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(p.run()) for p in self.processors]

    def feed(self, frame: Frame) -> None:
        self.processors[0].queue.put_nowait(frame)

    async def stop(self) -> None:
        for p in self.processors:
            await p.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t


__all__ = [
    "DTMF", "AsrProcessor", "BargeIn", "BotText", "CallStarted", "CallState", "EndCall", "FinalText",
    "FrameCollector", "Hangup", "Pipeline", "Playout", "Processor", "TtsProcessor", "TurnTiming", "VadProcessor",
]
