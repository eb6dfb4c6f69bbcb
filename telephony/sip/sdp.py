"""SDP offer/answer for one audio stream with G.711, RFC 2833 telephone-event and SDES SRTP."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from telephony.audio import PT_PCMA, PT_PCMU

CODEC_NAMES = {PT_PCMU: "PCMU", PT_PCMA: "PCMA"}


class SdpError(ValueError):
    pass


@dataclass
class AudioOffer:
    address: str
    port: int
    payload_types: list[int]
    rtpmap: dict[int, str] = field(default_factory=dict)
    direction: str = "sendrecv"
    ptime: int | None = None
    profile: str = "RTP/AVP"  # RTP/SAVP: the offerer wants SRTP and nothing else
    crypto: list[str] = field(default_factory=list)  # a=crypto values (RFC 4568), in preference order

    @property
    def secure(self) -> bool:
        return self.profile.endswith("SAVP")

    def codec(self) -> int | None:
        """The first G.711 payload type in the offerer's order (its preference)."""
        for pt in self.payload_types:
            name = self.rtpmap.get(pt, CODEC_NAMES.get(pt, "")).split("/")[0].upper()
            if name in ("PCMU", "PCMA") and self.rtpmap.get(pt, "/8000").split("/")[1:2] in (["8000"], []):
                return PT_PCMU if name == "PCMU" else PT_PCMA
        return None

    def telephone_event(self) -> int | None:
        for pt in self.payload_types:
            if self.rtpmap.get(pt, "").lower().startswith("telephone-event/8000"):
                return pt
        return None


def parse(body: bytes) -> AudioOffer:
    """Parse the first audio m-line (and the connection address that applies to it)."""
    session_addr: str | None = None
    media_addr: str | None = None
    audio: AudioOffer | None = None
    in_audio = False
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "m":
            if audio is not None:
                in_audio = False
                continue  # only the first audio stream is used
            parts = value.split()
            in_audio = len(parts) >= 4 and parts[0] == "audio"
            if in_audio:
                if parts[2].upper() not in ("RTP/AVP", "RTP/SAVP"):
                    raise SdpError(f"unsupported transport {parts[2]}")
                audio = AudioOffer("", int(parts[1]), [int(p) for p in parts[3:] if p.isdigit()],
                                   profile=parts[2].upper())
        elif kind == "c":
            parts = value.split()
            if len(parts) >= 3:
                if audio is None:
                    session_addr = parts[2].split("/")[0]
                elif in_audio:
                    media_addr = parts[2].split("/")[0]
        elif kind == "a" and in_audio and audio is not None:
            if value.startswith("rtpmap:"):
                pt, _, enc = value[7:].partition(" ")
                if pt.isdigit():
                    audio.rtpmap[int(pt)] = enc.strip()
            elif value in ("sendrecv", "sendonly", "recvonly", "inactive"):
                audio.direction = value
            elif value.startswith("ptime:") and value[6:].strip().isdigit():
                audio.ptime = int(value[6:].strip())
            elif value.startswith("crypto:"):
                audio.crypto.append(value[7:].strip())
    if audio is None:
        raise SdpError("no audio stream in offer")
    address = media_addr or session_addr
    if not address:
        raise SdpError("no connection address")
    audio.address = address
    return audio


def build(
    *, address: str, port: int, codecs: list[int], telephone_event: int | None,
    direction: str = "sendrecv", session_id: int | None = None, version: int = 1,
    profile: str = "RTP/AVP", crypto: str | None = None,
) -> bytes:
    sid = session_id or int(time.time()) * 1000 + secrets.randbelow(1000)
    pts = [*codecs] + ([telephone_event] if telephone_event is not None else [])
    lines = [
        "v=0",
        f"o=minsheng {sid} {version} IN IP4 {address}",
        "s=minsheng",
        f"c=IN IP4 {address}",
        "t=0 0",
        f"m=audio {port} {profile} {' '.join(str(p) for p in pts)}",
    ]
    for pt in codecs:
        lines.append(f"a=rtpmap:{pt} {CODEC_NAMES[pt]}/8000")
    if telephone_event is not None:
        lines.append(f"a=rtpmap:{telephone_event} telephone-event/8000")
        lines.append(f"a=fmtp:{telephone_event} 0-16")
    if crypto:
        lines.append(f"a=crypto:{crypto}")
    lines += ["a=ptime:20", f"a={direction}"]
    return ("\r\n".join(lines) + "\r\n").encode()


def answer_direction(offer_direction: str) -> str:
    return {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}.get(offer_direction, "sendrecv")
