"""Typed frames that flow through a call's pipeline (pipecat-style).

    RTP ─AudioIn/DTMF→ VadProcessor ─SpeechStart/End, BargeIn→ AsrProcessor ─Interim/FinalText→
    TurnManager ─BotText→ TtsProcessor ─TTSAudio→ Playout ─→ RTP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Frame:
    created: float = field(default_factory=time.monotonic, kw_only=True)


@dataclass
class CallStarted(Frame):
    pass


@dataclass
class AudioIn(Frame):
    pcm: np.ndarray  # int16, 8 kHz


@dataclass
class SpeechStart(Frame):
    pass


@dataclass
class SpeechEnd(Frame):
    speech_end: float  # monotonic time the last voiced frame arrived


@dataclass
class BargeIn(Frame):
    cause: str = "speech"  # speech | dtmf


@dataclass
class InterimText(Frame):
    text: str


@dataclass
class FinalText(Frame):
    text: str
    speech_end: float
    confidence: float | None = None
    audio_seconds: float = 0.0
    decode_seconds: float = 0.0
    cpu_seconds: float = 0.0


@dataclass
class DTMF(Frame):
    digit: str


@dataclass
class BotText(Frame):
    text: str
    turn_id: int
    interruptible: bool = True
    end_reason: str | None = None  # after this is spoken, the call ends with this reason
    cache: bool | None = None  # None: cache unless the text has digits


@dataclass
class TTSAudio(Frame):
    pcm: np.ndarray
    turn_id: int
    first: bool
    last: bool
    interruptible: bool = True
    end_reason: str | None = None
    engine: str = ""
    cached: bool = False


@dataclass
class Hangup(Frame):
    reason: str = "caller_hangup"


@dataclass
class EndCall(Frame):
    reason: str
