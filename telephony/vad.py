"""Energy-based voice activity detection and end-of-turn detection on 20 ms frames.

An adaptive noise floor keeps it working on noisy lines; during bot playback a higher bar and a
longer onset protect against echo and line noise triggering a false barge-in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from telephony.audio import FRAME_SECONDS, rms


@dataclass
class VadConfig:
    min_rms: float = 300.0  # ≈ -40 dBFS: quieter frames are never speech
    noise_ratio: float = 3.0  # speech must be this many times above the noise floor
    onset_frames: int = 3  # 60 ms of speech starts a turn
    barge_in_frames: int = 10  # 200 ms of speech while the bot talks interrupts it
    barge_in_ratio: float = 2.0  # …and must be this much louder than the normal threshold
    end_silence: float = 0.5  # silence that ends a turn (seconds)
    max_turn: float = 20.0  # force the end of very long turns


@dataclass
class VadEvent:
    kind: str  # "start" | "end"
    at: float  # stream time in seconds of the event (speech start, or last voiced frame end)


class Vad:
    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        self.noise = self.config.min_rms / 2
        self.in_speech = False
        self._run = 0
        self._silence = 0
        self._time = 0.0
        self._speech_start = 0.0
        self._last_voiced_end = 0.0

    def threshold(self, playing: bool) -> float:
        t = max(self.config.min_rms, self.noise * self.config.noise_ratio)
        return t * self.config.barge_in_ratio if playing else t

    def process(self, frame: np.ndarray, *, playing: bool = False) -> VadEvent | None:
        """Feed one 20 ms frame; returns a start/end event when the state changes."""
        level = rms(frame)
        self._time += FRAME_SECONDS
        voiced = level > self.threshold(playing)
        if not voiced and not self.in_speech:
            # Track the floor slowly upward and quickly downward (only outside speech).
            alpha = 0.05 if level > self.noise else 0.3
            self.noise = max(1.0, (1 - alpha) * self.noise + alpha * level)
        if not self.in_speech:
            self._run = self._run + 1 if voiced else 0
            needed = self.config.barge_in_frames if playing else self.config.onset_frames
            if self._run >= needed:
                self.in_speech = True
                self._silence = 0
                self._speech_start = self._time - self._run * FRAME_SECONDS
                self._last_voiced_end = self._time
                return VadEvent("start", self._speech_start)
            return None
        if voiced:
            self._silence = 0
            self._last_voiced_end = self._time
        else:
            self._silence += 1
        too_long = self._time - self._speech_start >= self.config.max_turn
        if self._silence * FRAME_SECONDS >= self.config.end_silence or too_long:
            self.in_speech = False
            self._run = 0
            return VadEvent("end", self._last_voiced_end)
        return None

    @property
    def time(self) -> float:
        return self._time


def dbfs(level: float) -> float:
    return 20 * math.log10(max(level, 1.0) / 32768)
