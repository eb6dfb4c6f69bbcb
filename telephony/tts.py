"""Speech out: edge-tts (neural, needs the service) falling back to espeak-ng, plus a disk cache.

Everything is returned as 8 kHz 16-bit mono PCM; the RTP sender encodes to μ-law/A-law.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from telephony import audio

log = logging.getLogger(__name__)


class TtsError(RuntimeError):
    pass


class TtsEngine(Protocol):
    name: str
    voice: str

    def available(self) -> bool: ...

    async def synth(self, text: str) -> np.ndarray: ...


def decode_mp3(data: bytes, rate: int = audio.SAMPLE_RATE) -> np.ndarray:
    import miniaudio

    decoded = miniaudio.decode(data, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=rate)
    return np.frombuffer(decoded.samples.tobytes(), dtype=np.int16).copy()


class EdgeTts:
    """Microsoft Edge read-aloud voices through the maintained `edge-tts` client.

    A short timeout and a circuit breaker keep a dead service from adding its timeout to every
    sentence: after a failure the engine sits out `cooldown` seconds and espeak-ng speaks.
    `wss_url` points the client elsewhere (a relay inside the hotline's network, or the
    tests' local server); the client has no parameter for it, so the module constant is set.
    """

    name = "edge"

    def __init__(self, *, voice: str = "zh-CN-XiaoxiaoNeural", timeout: float = 3.0,
                 cooldown: float = 60.0, wss_url: str | None = None) -> None:
        self.voice = voice
        self.timeout = timeout
        self.cooldown = cooldown
        self.wss_url = wss_url
        self._down_until = 0.0
        self.last_error: str | None = None

    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    async def synth(self, text: str) -> np.ndarray:
        import edge_tts
        import edge_tts.communicate as communicate

        if self.wss_url:
            communicate.WSS_URL = self.wss_url  # type: ignore[attr-defined]
        seconds = max(1, math.ceil(self.timeout))
        comm = edge_tts.Communicate(text, self.voice, connect_timeout=seconds, receive_timeout=seconds)

        async def collect() -> bytes:
            chunks = [c["data"] async for c in comm.stream() if c["type"] == "audio" and "data" in c]
            return b"".join(chunks)

        try:
            mp3 = await asyncio.wait_for(collect(), self.timeout)
            pcm = await asyncio.get_running_loop().run_in_executor(None, decode_mp3, mp3)
        except Exception as exc:  # noqa: BLE001 - any failure means "fall back", the reason is logged
            self._down_until = time.monotonic() + self.cooldown
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise TtsError(f"edge-tts failed: {self.last_error}") from exc
        if pcm.size == 0:
            raise TtsError("edge-tts returned no audio")
        return pcm


class EspeakTts:
    """espeak-ng, local and instant; robotic but always there."""

    name = "espeak"

    def __init__(self, *, voice: str = "cmn", speed: int = 165, binary: str = "espeak-ng") -> None:
        self.voice = voice
        self.speed = speed
        self.binary = shutil.which(binary) or binary

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    async def synth(self, text: str) -> np.ndarray:
        proc = await asyncio.create_subprocess_exec(
            self.binary, "-v", self.voice, "-s", str(self.speed), "--stdout", "--", text,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await proc.communicate()
        except asyncio.CancelledError:
            # a barge-in or hang-up cancelled us: do not leave the child (or its pipes) behind
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())
            raise
        if proc.returncode != 0 or not out:
            raise TtsError(f"espeak-ng failed ({proc.returncode}): {err.decode(errors='replace')[:200]}")
        pcm, rate = audio.read_wav(_fix_stream_wav(out))
        return audio.resample(pcm, rate, audio.SAMPLE_RATE)


def _fix_stream_wav(data: bytes) -> bytes:
    """espeak-ng writes a streaming WAV with unknown sizes on stdout; patch them in."""
    if data[:4] != b"RIFF":
        return data
    fixed = bytearray(data)
    fixed[4:8] = (len(data) - 8).to_bytes(4, "little")
    idx = data.find(b"data", 12)
    if idx >= 0:
        fixed[idx + 4:idx + 8] = (len(data) - idx - 8).to_bytes(4, "little")
    return bytes(fixed)


class PromptCache:
    """8 kHz WAV files keyed by engine + voice + text, so fixed prompts are rendered once."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0

    def path(self, *, engine: str, voice: str, text: str) -> Path:
        key = hashlib.sha256(f"{engine}\x00{voice}\x00{text}".encode()).hexdigest()[:40]
        return self.dir / f"{engine}-{key}.wav"

    def get(self, *, engine: str, voice: str, text: str) -> np.ndarray | None:
        path = self.path(engine=engine, voice=voice, text=text)
        try:
            pcm, rate = audio.read_wav(path.read_bytes())
        except (OSError, EOFError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return pcm if rate == audio.SAMPLE_RATE else audio.resample(pcm, rate, audio.SAMPLE_RATE)

    def put(self, pcm: np.ndarray, *, engine: str, voice: str, text: str) -> None:
        path = self.path(engine=engine, voice=voice, text=text)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(audio.wav_bytes(pcm))
        tmp.replace(path)  # atomic: concurrent calls never read half a file


@dataclass
class Speech:
    pcm: np.ndarray
    engine: str
    cached: bool
    seconds: float  # time spent producing it


class Synthesizer:
    """Tries engines in order; caches what it renders unless the text is one-off (has digits)."""

    def __init__(self, engines: list[TtsEngine], cache: PromptCache | None) -> None:
        if not engines:
            raise ValueError("at least one TTS engine is needed")
        self.engines = engines
        self.cache = cache

    async def speak(self, text: str, *, cache: bool | None = None) -> Speech:
        t0 = time.perf_counter()
        use_cache = self.cache is not None and (cache if cache is not None else not re.search(r"\d", text))
        errors: list[str] = []
        for engine in self.engines:
            if use_cache and self.cache is not None:
                hit = self.cache.get(engine=engine.name, voice=engine.voice, text=text)
                if hit is not None:
                    return Speech(hit, engine.name, True, time.perf_counter() - t0)
            if not engine.available():
                errors.append(f"{engine.name}: unavailable")
                continue
            try:
                pcm = await engine.synth(text)
            except TtsError as exc:
                log.warning("TTS %s failed, falling back: %s", engine.name, exc)
                errors.append(str(exc))
                continue
            if use_cache and self.cache is not None:
                self.cache.put(pcm, engine=engine.name, voice=engine.voice, text=text)
            return Speech(pcm, engine.name, False, time.perf_counter() - t0)
        raise TtsError("; ".join(errors) or "no TTS engine")

    async def prerender(self, texts: list[str]) -> int:
        done = 0
        for text in texts:
            for sentence in split_sentences(text):
                await self.speak(sentence, cache=True)
                done += 1
        return done


_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")
_CLAUSE_END = re.compile(r"(?<=[，,、：:])")


def split_sentences(text: str, *, max_chars: int = 40) -> list[str]:
    """Sentence by sentence so the first one plays while the rest renders; long ones at commas."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            out.append(sentence)
            continue
        buf = ""
        for clause in _CLAUSE_END.split(sentence):
            if buf and len(buf) + len(clause) > max_chars:
                out.append(buf.strip())
                buf = ""
            buf += clause
        if buf.strip():
            out.append(buf.strip())
    return out
