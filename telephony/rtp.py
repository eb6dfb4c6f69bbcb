"""RTP over UDP: G.711 audio in/out in 20 ms packets and RFC 2833/4733 telephone-events in; SRTP
when the call negotiated it (telephony.srtp)."""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from telephony import audio
from telephony.srtp import SrtpContext

log = logging.getLogger(__name__)

DTMF_EVENTS = "0123456789*#ABCD"


@dataclass
class RtpPacket:
    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < 12 or data[0] >> 6 != 2:
            raise ValueError("not RTP v2")
        b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
        offset = 12 + 4 * (b0 & 0x0F)
        if b0 & 0x10:  # header extension
            if len(data) < offset + 4:
                raise ValueError("truncated extension")
            offset += 4 + 4 * struct.unpack("!H", data[offset + 2:offset + 4])[0]
        end = len(data)
        if b0 & 0x20 and end > offset:  # padding
            end -= data[-1]
        if end < offset:
            raise ValueError("truncated RTP")
        return cls(b1 & 0x7F, bool(b1 & 0x80), seq, ts, ssrc, data[offset:end])

    def to_bytes(self) -> bytes:
        b1 = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        return struct.pack("!BBHII", 0x80, b1, self.sequence, self.timestamp, self.ssrc) + self.payload


def parse_telephone_event(payload: bytes) -> tuple[str, bool, int] | None:
    """(digit, end-of-event, duration in samples) or None for events that are not DTMF."""
    if len(payload) < 4:
        return None
    event, flags, duration = struct.unpack("!BBH", payload[:4])
    if event >= len(DTMF_EVENTS):
        return None
    return DTMF_EVENTS[event], bool(flags & 0x80), duration


def telephone_event_payload(digit: str, *, end: bool, duration: int, volume: int = 10) -> bytes:
    return struct.pack("!BBH", DTMF_EVENTS.index(digit), (0x80 if end else 0) | volume, duration)


class RtpSession(asyncio.DatagramProtocol):
    """One call's media: receives audio/DTMF and sends a continuous paced 20 ms stream.

    The sender always transmits (silence when nothing is queued) so the far end's jitter buffer
    and any NAT binding stay alive. The first packet received from an address other than the
    SDP one latches the send address (symmetric RTP), which is what NATed trunks need.
    """

    def __init__(
        self,
        *,
        payload_type: int,
        telephone_event: int | None,
        on_audio: Callable[[np.ndarray], None],
        on_dtmf: Callable[[str], None],
    ) -> None:
        self.payload_type = payload_type
        self.telephone_event = telephone_event
        self.on_audio = on_audio
        self.on_dtmf = on_dtmf
        self.transport: asyncio.DatagramTransport | None = None
        self.remote: tuple[str, int] | None = None
        self._latched = False
        self._ssrc = secrets.randbits(32)
        self._seq = secrets.randbits(16)
        self._ts = secrets.randbits(32)
        self._queue: collections.deque[tuple[np.ndarray, object]] = collections.deque()
        self._sender: asyncio.Task[None] | None = None
        self._last_event: tuple[int, str] | None = None
        self._talkspurt = False
        self.packets_in = 0
        self.packets_out = 0
        self.last_packet_at: float | None = None  # monotonic time of last received media
        self.on_frame_sent: Callable[[object], None] | None = None
        self.send_enabled = True
        self.srtp: SrtpContext | None = None  # set before start() on an SRTP call

    # -- asyncio protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def local_port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            pkt = RtpPacket.parse(data)
        except ValueError:
            return
        if 72 <= pkt.payload_type <= 76:
            return  # RTCP multiplexed on the RTP port
        if self.srtp is not None:
            # The RTP header is in clear on SRTP; the payload is not, and a packet that fails
            # authentication (plain RTP, a forged or replayed one) is dropped here.
            clear = self.srtp.unprotect(data)
            if clear is None:
                return
            pkt = RtpPacket.parse(clear)
        if not self._latched and self.remote is not None and addr != self.remote:
            log.info("RTP latching to %s:%s (SDP said %s:%s)", *addr, *self.remote)
            self.remote = addr
        self._latched = True
        self.packets_in += 1
        self.last_packet_at = time.monotonic()
        if self.telephone_event is not None and pkt.payload_type == self.telephone_event:
            parsed = parse_telephone_event(pkt.payload)
            # One event keeps its RTP timestamp across its packets and the 3 end retransmits; a
            # sender that starts the next key without advancing the clock still changes the event.
            if parsed and (pkt.timestamp, parsed[0]) != self._last_event:
                self._last_event = (pkt.timestamp, parsed[0])
                log.info("DTMF %s received (RFC 4733, ts %d)", parsed[0], pkt.timestamp)
                self.on_dtmf(parsed[0])
            return
        if pkt.payload_type == self.payload_type:
            self.on_audio(audio.decode(pkt.payload, self.payload_type))

    # -- sending ---------------------------------------------------------------------------
    def start(self, remote: tuple[str, int]) -> None:
        self.remote = remote
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send_loop())

    def enqueue(self, pcm: np.ndarray, tag: object = None) -> None:
        """Queue audio for playback, cut into 20 ms frames; `tag` is reported when sent."""
        n = audio.FRAME_SAMPLES
        for i in range(0, len(pcm), n):
            frame = pcm[i:i + n]
            if len(frame) < n:
                frame = np.concatenate([frame, np.zeros(n - len(frame), dtype=np.int16)])
            self._queue.append((frame, tag))
            tag = None  # only the first frame of a chunk carries the tag

    def flush(self) -> int:
        """Drop queued audio (barge-in); returns the number of frames dropped."""
        dropped = len(self._queue)
        self._queue.clear()
        return dropped

    @property
    def playing(self) -> bool:
        return bool(self._queue)

    @property
    def queued_seconds(self) -> float:
        return len(self._queue) * audio.FRAME_SECONDS

    def send_dtmf(self, digit: str) -> None:
        """Queue an RFC 2833 digit (used by the bench/test caller); 3 end packets as usual."""
        if self.telephone_event is None or self.transport is None or self.remote is None:
            raise RuntimeError("telephone-event not negotiated")
        ts = self._ts
        for i, dur in enumerate((160, 320, 480, 640, 800, 800, 800)):
            end = i >= 4
            pkt = RtpPacket(self.telephone_event, i == 0, self._seq, ts, self._ssrc,
                            telephone_event_payload(digit, end=end, duration=dur))
            self._seq = (self._seq + 1) & 0xFFFF
            self.transport.sendto(self._wire(pkt), self.remote)
        self._ts = (self._ts + 800) & 0xFFFFFFFF

    def _wire(self, pkt: RtpPacket) -> bytes:
        data = pkt.to_bytes()
        return self.srtp.protect(data) if self.srtp is not None else data

    async def _send_loop(self) -> None:
        loop = asyncio.get_running_loop()
        silence = bytes([audio.silence_byte(self.payload_type)]) * audio.FRAME_SAMPLES
        next_at = loop.time()
        while self.transport is not None and not self.transport.is_closing():
            tag: object = None
            if self._queue:
                frame, tag = self._queue.popleft()
                payload = audio.encode(frame, self.payload_type)
                marker = not self._talkspurt
                self._talkspurt = True
            else:
                payload, marker = silence, False
                self._talkspurt = False
            if self.remote is not None and self.send_enabled:
                pkt = RtpPacket(self.payload_type, marker, self._seq, self._ts, self._ssrc, payload)
                self.transport.sendto(self._wire(pkt), self.remote)
                self.packets_out += 1
            self._seq = (self._seq + 1) & 0xFFFF
            self._ts = (self._ts + audio.FRAME_SAMPLES) & 0xFFFFFFFF
            if tag is not None and self.on_frame_sent is not None:
                self.on_frame_sent(tag)
            next_at += audio.FRAME_SECONDS
            delay = next_at - loop.time()
            if delay < -0.2:  # we were starved (e.g. a loaded host): resync instead of bursting
                next_at = loop.time()
                delay = 0
            await asyncio.sleep(max(delay, 0))

    def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            self._sender = None
        if self.transport is not None:
            self.transport.close()
            self.transport = None


async def open_session(
    *, host: str, port_range: tuple[int, int] | None, **kwargs: object
) -> RtpSession:
    """Bind an RTP socket on an even port in the range (or an ephemeral one)."""
    loop = asyncio.get_running_loop()
    candidates: list[int] = [0]
    if port_range and port_range[0] > 0:
        lo, hi = port_range
        start = lo + 2 * secrets.randbelow(max((hi - lo) // 2, 1))
        span = list(range(start, hi, 2)) + list(range(lo, start, 2))
        candidates = span[:200]
    last_exc: OSError | None = None
    for port in candidates:
        try:
            _, proto = await loop.create_datagram_endpoint(
                lambda: RtpSession(**kwargs),  # type: ignore[arg-type]
                local_addr=(host, port),
            )
            return proto
        except OSError as exc:
            last_exc = exc
    raise OSError(f"no free RTP port: {last_exc}")
