"""SIP over TCP and TLS (RFC 3261 §18): peers, stream framing, TLS contexts.

UDP stays in the user agent itself; this is what a stream transport adds: one connection per
peer (responses go back on the connection the request came in on, §18.2.2), messages framed by
Content-Length (mandatory on streams, §18.3), and the RFC 5626 CRLF keep-alive (a double CRLF
ping answered with one CRLF).
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

log = logging.getLogger(__name__)

STREAM_TRANSPORTS = ("TCP", "TLS")
DEFAULT_PORTS = {"UDP": 5060, "TCP": 5060, "TLS": 5061}
MAX_HEADER_BYTES = 64 * 1024
_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$", re.I | re.M)


class Peer(NamedTuple):
    """Where a message came from or goes to; a plain (host, port) tuple means UDP."""

    host: str
    port: int
    transport: str = "UDP"


def transport_of(addr: tuple[str, int] | Peer) -> str:
    return addr.transport if isinstance(addr, Peer) else "UDP"


def as_peer(addr: tuple[str, int] | Peer) -> Peer:
    return addr if isinstance(addr, Peer) else Peer(addr[0], addr[1])


class FramingError(ValueError):
    pass


def split_frames(buf: bytearray) -> tuple[list[bytes], bool]:
    """Take the complete messages off the front of a stream buffer.

    Returns the messages and whether a keep-alive ping (double CRLF) was seen, which wants a
    CRLF pong back. Raises FramingError on a header block without end or without Content-Length.
    """
    frames: list[bytes] = []
    ping = False
    while True:
        start = 0
        while buf[start:start + 2] == b"\r\n":
            start += 2
        if start:
            ping = ping or start >= 4
            del buf[:start]
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEADER_BYTES:
                raise FramingError("header block too long")
            return frames, ping
        match = _CONTENT_LENGTH.search(bytes(buf[:end]))
        if match is None:
            raise FramingError("no Content-Length on a stream transport")
        total = end + 4 + int(match.group(1))
        if len(buf) < total:
            return frames, ping
        frames.append(bytes(buf[:total]))
        del buf[:total]


@dataclass
class StreamConnection:
    """One TCP or TLS connection; `on_message` gets each framed SIP message."""

    peer: Peer
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    @property
    def closed(self) -> bool:
        return self.writer.is_closing()

    async def read_loop(self, on_message: Callable[[bytes, Peer], None]) -> None:
        buf = bytearray()
        try:
            while chunk := await self.reader.read(65536):
                buf += chunk
                frames, ping = split_frames(buf)
                if ping:
                    self.write(b"\r\n")
                for frame in frames:
                    on_message(frame, self.peer)
        except FramingError as exc:
            log.warning("closing SIP %s connection from %s:%s: %s", self.peer.transport, self.peer.host,
                        self.peer.port, exc)
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            log.info("SIP %s connection %s:%s lost: %s", self.peer.transport, self.peer.host, self.peer.port, exc)
        finally:
            self.close()

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()


def server_context(*, cert: str, key: str, ca: str | None = None, require_client_cert: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    if ca:
        ctx.load_verify_locations(ca)
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_context(*, ca: str | None, verify: bool, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    """Verifies the trunk's certificate against `ca` (or the system store) unless told not to;
    presents our certificate when we have one (trunks that want mutual TLS)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert and key:
        ctx.load_cert_chain(cert, key)
    return ctx


__all__ = ["DEFAULT_PORTS", "FramingError", "Peer", "STREAM_TRANSPORTS", "StreamConnection", "as_peer",
           "client_context", "server_context", "split_frames", "transport_of"]
