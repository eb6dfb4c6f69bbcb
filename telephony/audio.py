"""G.711 codecs, resampling and level measurement on int16 numpy arrays.

G.711 is done with lookup tables rather than `audioop`, which is deprecated and gone in 3.13.
"""

from __future__ import annotations

import io
import wave

import numpy as np
from scipy.signal import firwin, lfilter, resample_poly

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz: the packet size of every RTP stream we send
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE

PT_PCMU = 0
PT_PCMA = 8


def _ulaw_decode_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    sign = a & 0x80
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


def _ulaw_encode_sample(sample: int) -> int:
    # Sun g711.c (the reference every PBX matches): 14-bit magnitude, bias 33, clip 8159.
    value = sample >> 2
    mask = 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, 8159) + 33
    segment = 0
    while segment < 8 and value > (0x40 << segment) - 1:
        segment += 1
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def _alaw_encode_sample(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(abs(sample) if sample >= 0 else -sample - 1, 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


ULAW_DECODE = _ulaw_decode_table()
ALAW_DECODE = _alaw_decode_table()
# Encode tables indexed by the 16-bit sample reinterpreted as uint16 (65536 entries each).
_ALL = np.arange(65536, dtype=np.uint16).view(np.int16)
ULAW_ENCODE = np.array([_ulaw_encode_sample(int(s)) for s in _ALL], dtype=np.uint8)
ALAW_ENCODE = np.array([_alaw_encode_sample(int(s)) for s in _ALL], dtype=np.uint8)


def encode(pcm: np.ndarray, payload_type: int) -> bytes:
    table = ULAW_ENCODE if payload_type == PT_PCMU else ALAW_ENCODE
    return table[pcm.astype(np.int16).view(np.uint16)].tobytes()


def decode(payload: bytes, payload_type: int) -> np.ndarray:
    table = ULAW_DECODE if payload_type == PT_PCMU else ALAW_DECODE
    return table[np.frombuffer(payload, dtype=np.uint8)]


def silence_byte(payload_type: int) -> int:
    return int(ULAW_ENCODE[0] if payload_type == PT_PCMU else ALAW_ENCODE[0])


def rms(pcm: np.ndarray) -> float:
    if pcm.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


def resample(pcm: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """One-shot polyphase resampling (whole utterances, e.g. TTS output)."""
    if src_rate == dst_rate:
        return pcm.astype(np.int16)
    g = np.gcd(src_rate, dst_rate)
    out = resample_poly(pcm.astype(np.float64), dst_rate // g, src_rate // g)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


class Upsampler2x:
    """Streaming 8 kHz → 16 kHz for the recogniser; keeps filter state across 20 ms frames."""

    def __init__(self, taps: int = 31) -> None:
        self._h = firwin(taps, 0.5) * 2.0  # ×2 restores the gain lost by zero insertion
        self._zi = np.zeros(taps - 1)

    def process(self, pcm: np.ndarray) -> np.ndarray:
        up = np.zeros(pcm.size * 2)
        up[::2] = pcm
        out, self._zi = lfilter(self._h, 1.0, up, zi=self._zi)
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def read_wav(data: bytes | str) -> tuple[np.ndarray, int]:
    """Read a mono/stereo 16-bit WAV into (mono int16, rate)."""
    src = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    with wave.open(src, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError("only 16-bit WAV is supported")
        frames = w.readframes(w.getnframes())
        pcm = np.frombuffer(frames, dtype=np.int16)
        if w.getnchannels() > 1:
            pcm = pcm.reshape(-1, w.getnchannels()).mean(axis=1).astype(np.int16)
        return pcm.copy(), w.getframerate()


def wav_bytes(pcm: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype(np.int16).tobytes())
    return buf.getvalue()
