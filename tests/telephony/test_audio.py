"""G.711, resampling, RTP packets and telephone-events, VAD."""

from __future__ import annotations

import numpy as np
import pytest

from telephony import audio
from telephony.rtp import RtpPacket, parse_telephone_event, telephone_event_payload
from telephony.vad import Vad, VadConfig


def tone(freq: float, seconds: float, amp: float = 8000, rate: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * amp).astype(np.int16)


@pytest.mark.parametrize("pt", [audio.PT_PCMU, audio.PT_PCMA])
def test_g711_known_values_and_round_trip(pt: int) -> None:
    # ITU-T G.711 reference points
    assert audio.encode(np.array([0], dtype=np.int16), audio.PT_PCMU) == b"\xff"
    assert audio.encode(np.array([0], dtype=np.int16), audio.PT_PCMA) == b"\xd5"
    assert audio.encode(np.array([-32768], dtype=np.int16), audio.PT_PCMU) == b"\x00"
    assert audio.encode(np.array([32767], dtype=np.int16), audio.PT_PCMA) == b"\xaa"
    x = tone(440, 0.5)
    y = audio.decode(audio.encode(x, pt), pt)
    # companding error is bounded relative to the signal (about 38 dB SNR for speech-level audio)
    snr = 10 * np.log10(np.sum(x.astype(float) ** 2) / np.sum((x.astype(float) - y) ** 2))
    assert snr > 30
    # encode(decode(code)) == code, except μ-law's "negative zero" 0x7F, which is 0xFF again
    codes = bytes(c for c in range(256) if not (pt == audio.PT_PCMU and c == 0x7F))
    assert audio.encode(audio.decode(codes, pt), pt) == codes


def test_upsampler_keeps_level_and_length_across_frames() -> None:
    up = audio.Upsampler2x()
    x = tone(440, 1.0)
    y = np.concatenate([up.process(x[i:i + 160]) for i in range(0, x.size, 160)])
    assert y.size == 2 * x.size
    assert abs(audio.rms(y[200:]) - audio.rms(x)) / audio.rms(x) < 0.05
    assert audio.resample(tone(440, 1.0, rate=22050), 22050, 8000).size == 8000


def test_rtp_packet_round_trip_and_extensions() -> None:
    pkt = RtpPacket(0, True, 65535, 4_000_000_000, 0x1234, b"\xff" * 160)
    again = RtpPacket.parse(pkt.to_bytes())
    assert again == pkt
    # CSRC count 1 + header extension + padding
    raw = bytearray(pkt.to_bytes()[:12])
    raw[0] = 0x80 | 0x20 | 0x10 | 0x01
    raw += b"\x00\x00\x00\x01" + b"\xbe\xde\x00\x01" + b"\x11\x22\x33\x44" + b"\xaa" * 160 + b"\x00\x00\x03"
    parsed = RtpPacket.parse(bytes(raw))
    assert parsed.payload == b"\xaa" * 160
    with pytest.raises(ValueError):
        RtpPacket.parse(b"\x00" * 12)


def test_telephone_event_payloads() -> None:
    assert parse_telephone_event(telephone_event_payload("#", end=True, duration=800)) == ("#", True, 800)
    assert parse_telephone_event(telephone_event_payload("5", end=False, duration=160)) == ("5", False, 160)
    assert parse_telephone_event(bytes([40, 0x80, 0, 160])) is None  # not a DTMF event


def feed(vad: Vad, pcm: np.ndarray, playing: bool = False) -> list[tuple[str, float]]:
    events = []
    for i in range(0, pcm.size - 159, 160):
        ev = vad.process(pcm[i:i + 160], playing=playing)
        if ev:
            events.append((ev.kind, round(ev.at, 2)))
    return events


def test_vad_start_and_end_of_turn() -> None:
    rng = np.random.default_rng(1)
    noise = (rng.normal(0, 60, 8000 * 3)).astype(np.int16)
    speech = tone(300, 1.0, amp=6000)
    signal = np.concatenate([noise[:8000], speech, noise[8000:16000]])
    events = feed(Vad(VadConfig(end_silence=0.5)), signal)
    assert [k for k, _ in events] == ["start", "end"]
    start, end = events[0][1], events[1][1]
    assert 0.95 <= start <= 1.05
    assert 1.95 <= end <= 2.05  # the end is when speech stopped, not when the silence was judged


def test_vad_ignores_noise_and_needs_more_to_barge_in() -> None:
    rng = np.random.default_rng(2)
    assert feed(Vad(), (rng.normal(0, 80, 8000 * 3)).astype(np.int16)) == []
    click = np.concatenate([np.zeros(1600, dtype=np.int16), tone(300, 0.1, amp=6000), np.zeros(8000, dtype=np.int16)])
    assert feed(Vad(), click) != []  # 100 ms is a start when the bot is silent…
    assert feed(Vad(), click, playing=True) == []  # …but not enough to interrupt the bot
    quiet = np.concatenate([tone(300, 0.5, amp=700), np.zeros(8000, dtype=np.int16)])
    assert feed(Vad(), quiet) != []  # quiet speech starts a turn when the bot is silent…
    assert feed(Vad(), quiet, playing=True) == []  # …but at echo level it does not interrupt
    loud = np.concatenate([tone(300, 0.6, amp=8000), np.zeros(8000, dtype=np.int16)])
    assert [k for k, _ in feed(Vad(), loud, playing=True)] == ["start", "end"]
