"""A programmable caller on top of the UA: places a call, talks (PCM) and listens.

Used by the latency bench and tests to drive many calls without a softphone, and the base for
outbound calls (satisfaction call-backs). It timestamps every received packet, so "when did the
bot start talking after I stopped" is measured on the wire, as a citizen would hear it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import numpy as np

from telephony import audio
from telephony.sip.ua import Call, SipUA, UASettings


@dataclass
class Heard:
    at: float
    pcm: np.ndarray


@dataclass
class Caller:
    ua: SipUA
    number: str = "13805150000"
    call: Call | None = None
    heard: list[Heard] = field(default_factory=list)
    _speech_threshold: float = 200.0
    _voice: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def create(cls, *, host: str = "127.0.0.1", number: str = "13805150000") -> Caller:
        ua = SipUA(UASettings(bind_host=host, bind_port=0, user=number, max_calls=1))
        await ua.start()
        return cls(ua, number)

    async def dial(self, target: str, *, codecs: list[int] | None = None, timeout: float = 20.0) -> Call:
        self.call = await self.ua.invite(target, from_user=self.number, codecs=codecs, on_audio=self._on_audio,
                                         timeout=timeout)
        return self.call

    def _on_audio(self, pcm: np.ndarray) -> None:
        self.heard.append(Heard(time.monotonic(), pcm))
        if audio.rms(pcm) > self._speech_threshold:
            self._voice.set()

    def recording(self) -> np.ndarray:
        return np.concatenate([h.pcm for h in self.heard]) if self.heard else np.zeros(0, dtype=np.int16)

    def first_voice_after(self, t: float) -> float | None:
        for h in self.heard:
            if h.at >= t and audio.rms(h.pcm) > self._speech_threshold:
                return h.at
        return None

    def last_voice(self) -> float | None:
        for h in reversed(self.heard):
            if audio.rms(h.pcm) > self._speech_threshold:
                return h.at
        return None

    async def wait_voice_after(self, t: float, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.first_voice_after(t)
            if found is not None:
                return found
            self._voice.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._voice.wait(), 0.2)
        return None

    async def wait_silence(self, seconds: float, timeout: float) -> bool:
        """Wait until the bot has been quiet for `seconds` (it finished its turn)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.last_voice() or 0.0
            if time.monotonic() - last >= seconds:
                return True
            await asyncio.sleep(0.05)
        return False

    async def say(self, pcm: np.ndarray) -> float:
        """Send speech in real time; returns the monotonic time its last packet was queued to go."""
        assert self.call is not None
        rtp = self.call.rtp
        rtp.enqueue(pcm)
        while rtp.playing:
            await asyncio.sleep(0.01)
        return time.monotonic()

    def dtmf(self, digits: str) -> None:
        assert self.call is not None
        for d in digits:
            self.call.rtp.send_dtmf(d)

    async def hangup(self) -> None:
        if self.call is not None:
            await self.call.hangup()

    async def close(self) -> None:
        await self.hangup()
        await self.ua.stop()
