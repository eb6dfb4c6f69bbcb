"""The SIP user agent: UDP, TCP and TLS transports, transactions, dialogs, registration, calls in and out.

This is the RFC 3261 subset a voice bot needs (UAS for INVITE/ACK/BYE/CANCEL/OPTIONS/INFO, UAC
for REGISTER/INVITE/BYE), judged against Kamailio and baresip in tests/telephony. Timers follow
§17 (T1 = 500 ms, T2 = 4 s, 64·T1 transaction timeout; no retransmission over TCP/TLS); responses
go back to the source address of the request (UDP, as `rport`, RFC 3581, asks and NATed trunks need)
or on the connection it came in on (TCP/TLS, §18.2.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from telephony import audio
from telephony.rtp import RtpSession, open_session
from telephony.sip import digest, sdp
from telephony.sip.message import (
    NameAddr,
    SipMessage,
    SipParseError,
    SipUri,
    new_branch,
    new_call_id,
    new_tag,
)
from telephony.sip.timer import SessionTimer, from_response, negotiate_request, response_headers
from telephony.sip.transport import (
    DEFAULT_PORTS,
    STREAM_TRANSPORTS,
    Peer,
    StreamConnection,
    as_peer,
    client_context,
    server_context,
    transport_of,
)
from telephony.srtp import Crypto, SrtpContext, choose

log = logging.getLogger(__name__)

T1 = 0.5
T2 = 4.0
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, NOTIFY, UPDATE"
USER_AGENT = "Minsheng-voice/0.1"


class SipError(Exception):
    def __init__(self, status: int, reason: str = "") -> None:
        super().__init__(f"{status} {reason}".strip())
        self.status = status
        self.reason = reason


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # name-addr without tag, our side
    remote_uri: str  # name-addr without tag, their side
    remote_target: str  # their Contact URI
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 1
    transport: str = "UDP"  # the dialog's transport when the next hop's URI does not name one

    def request(self, method: str, ua: SipUA) -> SipMessage:
        self.local_cseq += 1
        msg = SipMessage(method=method, uri=self.remote_target)
        msg.add("Via", ua.via(transport=uri_transport(self.next_hop_uri(), self.transport)))
        msg.add("Max-Forwards", "70")
        msg.add("From", f"{self.local_uri};tag={self.local_tag}")
        msg.add("To", f"{self.remote_uri};tag={self.remote_tag}")
        msg.add("Call-ID", self.call_id)
        msg.add("CSeq", f"{self.local_cseq} {method}")
        for route in self.route_set:
            msg.add("Route", route)
        msg.add("User-Agent", USER_AGENT)
        return msg

    def next_hop_uri(self) -> str:
        if self.route_set:
            return NameAddr.parse(self.route_set[0]).uri
        return self.remote_target


@dataclass
class Call:
    """One SIP call leg with its negotiated media."""

    ua: SipUA
    dialog: Dialog
    direction: str  # "in" | "out"
    remote_number: str | None
    codec: int
    telephone_event: int | None
    rtp: RtpSession
    invite: SipMessage | None = None
    state: str = "early"  # early → confirmed → ended
    end_reason: str = ""
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    on_dtmf: Callable[[str], None] | None = None
    on_audio: Callable[[np.ndarray], None] | None = None
    on_notify: Callable[[SipMessage], None] | None = None  # in-dialog NOTIFY (REFER progress)
    answered_at: float | None = None
    timer: SessionTimer | None = None  # RFC 4028 session timer, when negotiated
    refreshed_at: float = 0.0  # monotonic time of the last session refresh (either side's)
    refreshes_sent: int = 0
    refreshes_received: int = 0
    local_sdp: bytes = b""  # our current session description (a refresh re-offers it unchanged)
    peer_allow: str = ""
    ack_body: bytes = b""  # SDP in the caller's ACK: the answer when its INVITE had no offer
    _timer_task: asyncio.Task[object] | None = None
    _ack: SipMessage | None = None
    _ack_addr: Peer | None = None

    @property
    def call_id(self) -> str:
        return self.dialog.call_id

    async def hangup(self, reason: str = "local hangup") -> None:
        """Send BYE (or stop a call that never confirmed); idempotent."""
        if self.state == "ended":
            return
        was_confirmed = self.state == "confirmed"
        self._end(reason)
        if was_confirmed or self.direction == "out":
            try:
                await self.ua.send_in_dialog(self, "BYE")
            except (SipError, TimeoutError, OSError) as exc:
                log.warning("BYE for %s failed: %s", self.call_id, exc)

    def _end(self, reason: str) -> None:
        if self.state == "ended":
            return
        self.state = "ended"
        self.end_reason = reason
        self.rtp.close()
        self.ended.set()
        self.ua._forget(self)


@dataclass
class _ClientTx:
    final: asyncio.Future[SipMessage]
    provisional: bool = False
    on_provisional: Callable[[SipMessage], None] | None = None


@dataclass
class UASettings:
    bind_host: str = "0.0.0.0"  # noqa: S104 - a SIP server listens on all interfaces by default
    bind_port: int = 5060
    public_host: str | None = None
    user: str = "12345"
    max_calls: int = 10
    rtp_port_range: tuple[int, int] | None = None
    registrar: str | None = None  # e.g. "sip:pbx.example.org:5060"
    auth_username: str | None = None
    auth_password: str | None = None
    domain: str | None = None
    register_expires: int = 300
    answer_delay: float = 0.0
    busy_status: int = 486
    keepalive_target: str | None = None  # e.g. the trunk's "sip:trunk.example.org:5060"
    keepalive_seconds: float = 30.0
    transport: str = "udp"  # what our Contact asks peers to use towards us: udp, tcp or tls
    tcp: bool = False  # also listen on TCP (same port as UDP)
    tls_port: int | None = None  # listen on TLS here (0: any free port); needs tls_cert and tls_key
    tls_cert: str | None = None  # PEM certificate chain (server side, and client side for mutual TLS)
    tls_key: str | None = None
    tls_ca: str | None = None  # PEM CA bundle that signs the trunk's certificate (None: system store)
    tls_verify: bool = True  # verify the trunk's certificate and host name
    srtp: str = "off"  # our own INVITEs: off, offer (RTP/AVP + a=crypto) or require (RTP/SAVP)
    session_expires: int = 1800  # RFC 4028 interval we ask for / grant when the peer names none (0: off)
    session_min_se: int = 90  # shortest interval we accept (RFC 4028's floor is 90 s)


class SipUA(asyncio.DatagramProtocol):
    def __init__(
        self,
        settings: UASettings,
        *,
        on_incoming: Callable[[Call], Awaitable[None]] | None = None,
        accept_calls: Callable[[], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.on_incoming = on_incoming
        self.accept_calls = accept_calls or (lambda: True)
        self.transport: asyncio.DatagramTransport | None = None
        self.calls: dict[str, Call] = {}
        self._client_tx: dict[tuple[str, str], _ClientTx] = {}
        self._server_tx: dict[tuple[str, str], tuple[SipMessage | None, float]] = {}
        self._pending_invites: dict[str, tuple[Call, SipMessage, tuple[str, int]]] = {}
        self._acked: set[str] = set()
        self._tasks: set[asyncio.Task[object]] = set()
        self.registered = asyncio.Event()
        self.trunk_alive: bool | None = None  # answer to the last OPTIONS keep-alive (None: not probing)
        self.register_error: str | None = None
        self.local_port = settings.bind_port
        self.tls_port: int | None = None
        self.host = settings.public_host or settings.bind_host
        self._streams: dict[Peer, StreamConnection] = {}
        self._connecting: dict[Peer, asyncio.Future[StreamConnection]] = {}
        self._servers: list[asyncio.Server] = []
        self.streams_accepted = 0  # TCP/TLS connections peers opened to our listeners
        self._client_ssl: ssl.SSLContext | None = None

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=(self.settings.bind_host, self.settings.bind_port))
        assert self.transport is not None
        self.local_port = int(self.transport.get_extra_info("sockname")[1])
        if self.host in ("0.0.0.0", ""):  # noqa: S104
            self.host = _guess_local_ip(self.settings.registrar)
        await self._start_streams()
        if self.settings.registrar:
            self._spawn(self._register_loop())
        if self.settings.keepalive_target:
            self._spawn(self._keepalive_loop(self.settings.keepalive_target))
        log.info("SIP UA listening on %s:%s (advertised %s)", self.settings.bind_host, self.local_port, self.host)

    async def stop(self) -> None:
        calls = [c.hangup("shutdown") for c in list(self.calls.values())]
        if calls:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 5)
        if self.settings.registrar and self.registered.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._register_once(expires=0), 3)
        for task in list(self._tasks):
            task.cancel()
        for server in self._servers:
            server.close()
        for conn in list(self._streams.values()):
            conn.close()
        if self.transport is not None:
            self.transport.close()

    async def _start_streams(self) -> None:
        s = self.settings
        if s.tcp:
            server = await asyncio.start_server(
                lambda r, w: self._accepted(r, w, "TCP"), s.bind_host, self.local_port)
            self._servers.append(server)
        if s.tls_port is not None:
            if not (s.tls_cert and s.tls_key):
                raise ValueError("a TLS listener needs tls_cert and tls_key")
            ctx = server_context(cert=s.tls_cert, key=s.tls_key, ca=s.tls_ca)
            server = await asyncio.start_server(
                lambda r, w: self._accepted(r, w, "TLS"), s.bind_host, s.tls_port, ssl=ctx)
            self._servers.append(server)
            self.tls_port = int(server.sockets[0].getsockname()[1])
        if s.tls_port is not None or s.transport.lower() == "tls" or any(
                uri_transport(u or "", "UDP") == "TLS" for u in (s.registrar, s.keepalive_target)):
            self._client_ssl = client_context(ca=s.tls_ca, verify=s.tls_verify, cert=s.tls_cert, key=s.tls_key)

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, transport: str) -> None:
        self.streams_accepted += 1
        host, port = writer.get_extra_info("peername")[:2]
        conn = StreamConnection(Peer(host, int(port), transport), reader, writer)
        self._streams[conn.peer] = conn
        self._spawn(self._serve_stream(conn))

    async def _serve_stream(self, conn: StreamConnection) -> None:
        try:
            await conn.read_loop(self._on_message)
        finally:
            if self._streams.get(conn.peer) is conn:
                del self._streams[conn.peer]

    async def connection(self, peer: Peer) -> StreamConnection:
        """The open connection to a TCP/TLS peer, connecting (once, for concurrent senders) if needed."""
        conn = self._streams.get(peer)
        if conn is not None and not conn.closed:
            return conn
        pending = self._connecting.get(peer)
        if pending is None:
            pending = asyncio.ensure_future(self._connect(peer))
            self._connecting[peer] = pending
            pending.add_done_callback(lambda _f: self._connecting.pop(peer, None))
        return await asyncio.shield(pending)

    async def _connect(self, peer: Peer) -> StreamConnection:
        ctx: ssl.SSLContext | None = None
        if peer.transport == "TLS":
            if self._client_ssl is None:
                self._client_ssl = client_context(ca=self.settings.tls_ca, verify=self.settings.tls_verify)
            ctx = self._client_ssl
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(peer.host, peer.port, ssl=ctx, server_hostname=peer.host if ctx else None), 10)
        conn = StreamConnection(peer, reader, writer)
        self._streams[peer] = conn
        self._spawn(self._serve_stream(conn))
        log.info("SIP %s connection to %s:%s open", peer.transport, peer.host, peer.port)
        return conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def _spawn(self, coro: Awaitable[object]) -> asyncio.Task[object]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_task_error)
        return task

    # -- helpers -----------------------------------------------------------------------------
    def port_for(self, transport: str) -> int:
        if transport.upper() == "TLS":
            if self.tls_port is None:
                raise ValueError("TLS is not listening (set tls_port, tls_cert, tls_key)")
            return self.tls_port
        return self.local_port

    def via(self, branch: str | None = None, *, transport: str = "UDP") -> str:
        transport = transport.upper()
        # Over a stream our listening port is where a new connection would reach us; the
        # response itself comes back on the request's connection.
        port = self.tls_port if transport == "TLS" and self.tls_port else self.local_port
        # RFC 5923: over TLS the peer may send its own requests for us on this connection (a trunk
        # need not reach our listener, or open a second connection); over plain TCP it cannot
        # check who we are, so no alias there.
        alias = ";alias" if transport == "TLS" else ""
        return f"SIP/2.0/{transport} {self.host}:{port};branch={branch or new_branch()};rport{alias}"

    def contact(self, transport: str | None = None, *, user: str | None = None) -> str:
        transport = (transport or self.settings.transport).upper()
        user = user or self.settings.user
        if transport == "UDP":
            return f"<sip:{user}@{self.host}:{self.local_port}>"
        return f"<sip:{user}@{self.host}:{self.port_for(transport)};transport={transport.lower()}>"

    def send(self, msg: SipMessage, addr: tuple[str, int] | Peer) -> None:
        data = msg.to_bytes()
        peer = as_peer(addr)
        if peer.transport in STREAM_TRANSPORTS:
            conn = self._streams.get(peer)
            if conn is not None and not conn.closed:
                conn.write(data)
            else:
                self._spawn(self._send_when_connected(peer, data))
            return
        if self.transport is not None:
            self.transport.sendto(data, (peer.host, peer.port))

    async def _send_when_connected(self, peer: Peer, data: bytes) -> None:
        try:
            (await self.connection(peer)).write(data)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            log.warning("cannot reach %s %s:%s: %s", peer.transport, peer.host, peer.port, exc)

    async def resolve(self, uri: str, default_transport: str = "UDP") -> Peer:
        """Where to send a request for `uri`; opens the TCP/TLS connection if it needs one."""
        parsed = SipUri.parse(uri)
        transport = uri_transport(uri, default_transport)
        host = parsed.params.get("maddr") or parsed.host.strip("[]")
        port = parsed.port or DEFAULT_PORTS[transport]
        kind = socket.SOCK_DGRAM if transport == "UDP" else socket.SOCK_STREAM
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=kind, family=socket.AF_INET)
        peer = Peer(infos[0][4][0], infos[0][4][1], transport)
        if transport in STREAM_TRANSPORTS:
            await self.connection(peer)
        return peer

    def active_calls(self) -> int:
        return sum(1 for c in self.calls.values() if c.state != "ended")

    def _forget(self, call: Call) -> None:
        self.calls.pop(call.call_id, None)

    # -- receiving ---------------------------------------------------------------------------
    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._on_message(data, Peer(addr[0], addr[1]))

    def _on_message(self, data: bytes, addr: Peer) -> None:
        if not data.strip():
            return  # CRLF keep-alive
        try:
            msg = SipMessage.parse(data)
        except SipParseError as exc:
            log.warning("dropping unparsable SIP from %s:%s: %s", addr.host, addr.port, exc)
            return
        try:
            if msg.is_request:
                self._on_request(msg, addr)
            else:
                self._on_response(msg)
        except SipParseError as exc:
            log.warning("bad SIP message from %s:%s: %s", addr.host, addr.port, exc)
            if msg.is_request and msg.method != "ACK":
                self.send(msg.response(400, str(exc)[:60]), addr)

    def _on_response(self, msg: SipMessage) -> None:
        _, method = msg.cseq
        tx = self._client_tx.get((msg.branch, method))
        if tx is None:
            # A retransmitted 2xx to our INVITE: the ACK got lost, send it again (§13.2.2.4).
            call = self.calls.get(msg.call_id)
            if method == "INVITE" and msg.status and 200 <= msg.status < 300 and call and call._ack and call._ack_addr:
                self.send(call._ack, call._ack_addr)
            return
        assert msg.status is not None
        if msg.status < 200:
            tx.provisional = True
            if tx.on_provisional:
                tx.on_provisional(msg)
        elif not tx.final.done():
            tx.final.set_result(msg)

    def _on_request(self, msg: SipMessage, addr: Peer) -> None:
        method = msg.method or ""
        key = (msg.branch, "INVITE" if method == "ACK" else method)
        if method != "ACK" and key in self._server_tx:
            last, _ = self._server_tx[key]
            if last is not None:
                self.send(last, addr)  # retransmitted request: repeat our last response
            return
        if method == "ACK":
            if key in self._server_tx:
                self._acked.add(msg.branch)  # ACK of a non-2xx final response: stop Timer G
            self._on_ack(msg)
            return
        if method == "CANCEL":
            self._on_cancel(msg, addr)
            return
        self._server_tx[key] = (None, time.monotonic())
        self._expire_server_tx()
        to_tag = msg.to.tag
        if to_tag:
            self._on_in_dialog(msg, addr)
        elif method == "INVITE":
            self._spawn(self._on_invite(msg, addr))
        elif method == "OPTIONS":
            self._respond(msg, addr, 200, extra={"Allow": ALLOW, "Accept": "application/sdp"})
        elif method in ("BYE", "INFO", "UPDATE"):
            self._respond(msg, addr, 481)
        elif method == "NOTIFY":
            self._respond(msg, addr, 200)
        else:
            self._respond(msg, addr, 405, extra={"Allow": ALLOW})

    def _respond(
        self, req: SipMessage, addr: Peer, status: int, *, to_tag: str | None = None,
        extra: dict[str, str] | None = None, body: bytes = b"", reason: str | None = None,
    ) -> SipMessage:
        resp = req.response(status, reason, to_tag=to_tag or (new_tag() if status > 100 else None))
        for k, v in (extra or {}).items():
            resp.add(k, v)
        resp.add("Server", USER_AGENT)
        if body:
            resp.add("Content-Type", "application/sdp")
        resp.body = body
        self.send(resp, addr)
        if req.method == "INVITE" and status >= 300 and addr.transport == "UDP":
            self._spawn(self._retransmit_until_ack(resp, addr, req.branch))
        if status >= 200 or req.method == "INVITE":
            key = (req.branch, req.method or "")
            if key in self._server_tx or status >= 200:
                self._server_tx[key] = (resp, time.monotonic())
        return resp

    async def _retransmit_until_ack(self, resp: SipMessage, addr: Peer, branch: str) -> None:
        """Timer G (§17.2.1): a lost 486/488 would otherwise leave the caller waiting 32 s."""
        interval = T1
        deadline = time.monotonic() + 64 * T1
        while branch not in self._acked and time.monotonic() < deadline:
            await asyncio.sleep(interval)
            if branch in self._acked:
                break
            self.send(resp, addr)
            interval = min(interval * 2, T2)
        self._acked.discard(branch)

    def _expire_server_tx(self) -> None:
        cutoff = time.monotonic() - 64 * T1
        for key in [k for k, (_, t) in self._server_tx.items() if t < cutoff]:
            del self._server_tx[key]

    # -- INVITE server -------------------------------------------------------------------------
    async def _on_invite(self, msg: SipMessage, addr: Peer) -> None:
        self._respond(msg, addr, 100)
        local_tag = new_tag()
        try:
            offer = sdp.parse(msg.body) if msg.body else None
        except (sdp.SdpError, ValueError) as exc:
            self._respond(msg, addr, 488, to_tag=local_tag, extra={"Warning": f'399 minsheng "{exc}"'})
            return
        # No SDP (a "late offer", §13.2.1: some PBXs and trunks send it): we offer in the 200 and
        # the caller answers in its ACK; media starts when that answer is in.
        ours: Crypto | None = None
        keys: tuple[Crypto, Crypto] | None = None
        if offer is None:
            codec, telephone_event = audio.PT_PCMU, 101
            ours = Crypto.generate() if self.settings.srtp in ("offer", "require") else None
        else:
            codec, telephone_event = offer.codec(), offer.telephone_event()
            if codec is None:
                self._respond(msg, addr, 488, to_tag=local_tag, extra={"Warning": '305 minsheng "PCMU/PCMA only"'})
                return
            keys = choose(offer.crypto) if offer.crypto else None  # SDES: the peer offers SRTP
            if offer.secure and keys is None:
                self._respond(msg, addr, 488, to_tag=local_tag,
                              extra={"Warning": '305 minsheng "SRTP needs a=crypto AES_CM_128_HMAC_SHA1_80 or _32"'})
                return
        timer = negotiate_request(msg, min_se=self.settings.session_min_se,
                                  default_expires=self.settings.session_expires or None)
        if isinstance(timer, int):
            self._respond(msg, addr, 422, to_tag=local_tag, extra={"Min-SE": str(timer)})
            return
        if self.active_calls() >= self.settings.max_calls or not self.accept_calls():
            status = self.settings.busy_status
            self._respond(msg, addr, status, to_tag=local_tag, extra={"Retry-After": "30"} if status == 503 else None)
            log.info("rejected call %s with %s: at capacity (%s calls)", msg.call_id, status, self.active_calls())
            return
        contact_hdr = msg.get("Contact")
        if not contact_hdr:
            self._respond(msg, addr, 400, to_tag=local_tag, reason="Missing Contact")
            return
        frm = msg.from_
        dialog = Dialog(
            call_id=msg.call_id,
            local_tag=local_tag,
            remote_tag=frm.tag or "",
            local_uri=_strip_tag(msg.get("To") or ""),
            remote_uri=_strip_tag(msg.get("From") or ""),
            remote_target=NameAddr.parse(contact_hdr).uri,
            route_set=msg.get_all("Record-Route"),
            local_cseq=0,
            transport=addr.transport,
        )
        holder: dict[str, Call] = {}
        rtp = await open_session(
            host=self.settings.bind_host,
            port_range=self.settings.rtp_port_range,
            payload_type=codec,
            telephone_event=telephone_event,
            on_audio=lambda pcm: _dispatch_audio(holder, pcm),
            on_dtmf=lambda d: _dispatch_dtmf(holder, d),
        )
        if keys is not None:
            rtp.srtp = SrtpContext(remote=keys[0], local=keys[1])
        call = Call(
            ua=self, dialog=dialog, direction="in", remote_number=caller_number(msg), codec=codec,
            telephone_event=telephone_event, rtp=rtp, invite=msg, timer=timer,
            peer_allow=msg.get("Allow") or "",
        )
        holder["call"] = call
        self.calls[call.call_id] = call
        if self.settings.answer_delay > 0:
            self._respond(msg, addr, 180, to_tag=local_tag, extra={"Contact": self.contact(addr.transport)})
            self._pending_invites[call.call_id] = (call, msg, addr)
            await asyncio.sleep(self.settings.answer_delay)
            if self._pending_invites.pop(call.call_id, None) is None:
                return  # cancelled while ringing
        if offer is None:
            body = sdp.build(address=self.host, port=rtp.local_port, codecs=[audio.PT_PCMU, audio.PT_PCMA],
                             telephone_event=telephone_event,
                             profile="RTP/SAVP" if self.settings.srtp == "require" else "RTP/AVP",
                             crypto=str(ours) if ours else None)
        else:
            body = sdp.build(
                address=self.host, port=rtp.local_port, codecs=[codec],
                telephone_event=telephone_event, direction=sdp.answer_direction(offer.direction),
                profile=offer.profile, crypto=str(keys[1]) if keys else None,
            )
        call.local_sdp = body
        ok = self._respond(msg, addr, 200, to_tag=local_tag, body=body,
                           extra={"Contact": self.contact(addr.transport), "Allow": ALLOW,
                                  **(response_headers(timer) if timer else {})})
        call.answered_at = time.monotonic()
        if offer is not None:
            rtp.start((offer.address, offer.port))
        # §13.3.1.4: retransmit the 2xx until the ACK arrives; no ACK in 64·T1 → BYE.
        interval = T1
        deadline = time.monotonic() + 64 * T1
        while call.state == "early":
            try:
                await asyncio.wait_for(call.confirmed.wait(), interval)
            except TimeoutError:
                if time.monotonic() > deadline:
                    log.warning("no ACK for %s: ending call", call.call_id)
                    call.state = "confirmed"  # BYE is allowed on an unacknowledged 2xx dialog
                    await call.hangup("no ACK")
                    return
                self.send(ok, addr)
                interval = min(interval * 2, T2)
        if offer is None and call.state == "confirmed":
            problem = _apply_ack_answer(call, ours, require_srtp=self.settings.srtp == "require")
            if problem:
                log.warning("late-offer call %s: %s; ending it", call.call_id, problem)
                await call.hangup(problem)  # §13.3.1.4: an unusable answer in the ACK → BYE
                return
        if call.state == "confirmed":
            self._start_session_timer(call)
        if call.state == "confirmed" and self.on_incoming is not None:
            await self.on_incoming(call)

    def _on_ack(self, msg: SipMessage) -> None:
        call = self.calls.get(msg.call_id)
        if call is not None and call.state == "early" and call.direction == "in":
            call.ack_body = msg.body  # the answer to a late offer (our offer went in the 200)
            call.state = "confirmed"
            call.confirmed.set()

    def _on_cancel(self, msg: SipMessage, addr: Peer) -> None:
        pending = self._pending_invites.pop(msg.call_id, None)
        if pending is None:
            known = (msg.branch, "INVITE") in self._server_tx
            self._respond(msg, addr, 200 if known else 481)
            return
        call, invite, invite_addr = pending
        self._respond(msg, addr, 200)
        self._respond(invite, invite_addr, 487, to_tag=call.dialog.local_tag)
        call._end("cancelled")

    def _on_in_dialog(self, msg: SipMessage, addr: Peer) -> None:
        call = self.calls.get(msg.call_id)
        method = msg.method
        if call is None or (call.dialog.local_tag != msg.to.tag):
            self._respond(msg, addr, 481)
            return
        if method == "BYE":
            self._respond(msg, addr, 200, to_tag=call.dialog.local_tag)
            call._end("remote hangup")
        elif method == "INFO":
            self._respond(msg, addr, 200, to_tag=call.dialog.local_tag)
            digit = _info_dtmf(msg)
            if digit:
                _dispatch_dtmf({"call": call}, digit)
        elif method == "INVITE" or (method == "UPDATE" and msg.body):
            self._reinvite(call, msg, addr)
        elif method == "UPDATE":  # a session refresh without an offer
            refresh = self._accept_refresh(call, msg, addr)
            if refresh is not None:
                self._respond(msg, addr, 200, to_tag=call.dialog.local_tag,
                              extra={"Contact": self.contact(call.dialog.transport), **refresh})
        elif method in ("OPTIONS", "NOTIFY"):
            self._respond(msg, addr, 200, to_tag=call.dialog.local_tag)
            if method == "NOTIFY" and call.on_notify is not None:
                call.on_notify(msg)
        else:
            self._respond(msg, addr, 405, to_tag=call.dialog.local_tag, extra={"Allow": ALLOW})

    def _accept_refresh(self, call: Call, msg: SipMessage, addr: Peer) -> dict[str, str] | None:
        """A peer's re-INVITE/UPDATE refreshes the session (§9); the headers for our 2xx, or None
        when we answered 422 because it asked for less than our Min-SE."""
        timer = negotiate_request(msg, min_se=self.settings.session_min_se,
                                  default_expires=call.timer.expires if call.timer else None)
        if isinstance(timer, int):
            self._respond(msg, addr, 422, to_tag=call.dialog.local_tag, extra={"Min-SE": str(timer)})
            return None
        if timer is None:
            return {}
        call.timer = timer
        call.refreshed_at = time.monotonic()
        call.refreshes_received += 1
        self._start_session_timer(call)
        return response_headers(timer)

    def _reinvite(self, call: Call, msg: SipMessage, addr: Peer) -> None:
        refresh = self._accept_refresh(call, msg, addr)
        if refresh is None:
            return
        direction = "sendrecv"
        srtp = call.rtp.srtp
        profile = "RTP/SAVP" if srtp else "RTP/AVP"
        crypto = str(srtp.local) if srtp else None
        if msg.body:
            try:
                offer = sdp.parse(msg.body)
            except sdp.SdpError:
                self._respond(msg, addr, 488, to_tag=call.dialog.local_tag)
                return
            keys = choose(offer.crypto) if offer.crypto else None
            # Same codec; SRTP stays SRTP (a re-offer in clear would be a downgrade).
            if offer.codec() != call.codec or (keys is None and (srtp is not None or offer.secure)):
                self._respond(msg, addr, 488, to_tag=call.dialog.local_tag)
                return
            if keys is not None:
                theirs, fresh = keys
                srtp = (srtp.rekeyed(theirs) if srtp is not None and srtp.local.suite == theirs.suite
                        else SrtpContext(remote=theirs, local=fresh))
                call.rtp.srtp = srtp
                crypto = str(Crypto(theirs.tag, srtp.local.suite, srtp.local.key))  # answer under their tag
            call.rtp.remote = (offer.address, offer.port)
            direction = sdp.answer_direction(offer.direction)
            profile = offer.profile
        answer = sdp.build(address=self.host, port=call.rtp.local_port, codecs=[call.codec],
                           telephone_event=call.telephone_event, direction=direction, version=2,
                           profile=profile, crypto=crypto)
        call.local_sdp = answer
        self._respond(msg, addr, 200, to_tag=call.dialog.local_tag, body=answer,
                      extra={"Contact": self.contact(call.dialog.transport), **refresh})

    # -- client transactions -------------------------------------------------------------------
    async def request(
        self, msg: SipMessage, addr: tuple[str, int] | Peer, *, timeout: float = 64 * T1,
        on_provisional: Callable[[SipMessage], None] | None = None,
    ) -> SipMessage:
        """Send a request and wait for its final response, retransmitting as §17.1 says."""
        method = msg.method or ""
        key = (msg.branch, method)
        reliable = transport_of(addr) in STREAM_TRANSPORTS
        tx = _ClientTx(asyncio.get_running_loop().create_future(), on_provisional=on_provisional)
        self._client_tx[key] = tx
        interval = T1
        deadline = time.monotonic() + timeout
        try:
            self.send(msg, addr)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{method} timed out")
                try:
                    resp = await asyncio.wait_for(asyncio.shield(tx.final), min(interval, remaining))
                    break
                except TimeoutError:
                    if reliable or (method == "INVITE" and tx.provisional):
                        interval = remaining  # TCP/TLS retransmit for us; a proceeding INVITE waits
                        continue
                    self.send(msg, addr)
                    interval = T2 if tx.provisional else min(interval * 2, T2)
        finally:
            self._client_tx.pop(key, None)
        if method == "INVITE" and resp.status and resp.status >= 300:
            ack = SipMessage(method="ACK", uri=msg.uri)
            ack.add("Via", msg.get("Via") or "")
            for name in ("Route",):
                for v in msg.get_all(name):
                    ack.add(name, v)
            ack.add("Max-Forwards", "70")
            ack.add("From", msg.get("From") or "")
            ack.add("To", resp.get("To") or "")
            ack.add("Call-ID", msg.call_id)
            ack.add("CSeq", f"{msg.cseq[0]} ACK")
            self.send(ack, addr)
        return resp

    async def send_in_dialog(self, call: Call, method: str, *, body: bytes = b"", content_type: str = "",
                             headers: dict[str, str] | None = None, timeout: float = 16 * T1 * 4) -> SipMessage:
        msg = call.dialog.request(method, self)
        msg.add("Contact", self.contact(call.dialog.transport))
        for name, value in (headers or {}).items():
            msg.add(name, value)
        if body:
            msg.add("Content-Type", content_type)
            msg.body = body
        addr = await self.resolve(call.dialog.next_hop_uri(), call.dialog.transport)
        resp = await self.request(msg, addr, timeout=timeout)
        auth = _answer_challenge(self, resp, method, msg.uri or "")
        if auth is not None:  # a proxy that challenges in-dialog requests (BYE) too
            retry = call.dialog.request(method, self)
            retry.add("Contact", self.contact(call.dialog.transport))
            for name, value in (headers or {}).items():
                retry.add(name, value)
            if body:
                retry.add("Content-Type", content_type)
                retry.body = body
            retry.add(*auth)
            msg = retry
            resp = await self.request(retry, addr, timeout=timeout)
        if method == "INVITE" and resp.status and 200 <= resp.status < 300:
            ack = call.dialog.request("ACK", self)  # §13.2.2.4: the UAC core ACKs a 2xx itself
            call.dialog.local_cseq -= 1
            ack.set("CSeq", f"{msg.cseq[0]} ACK")
            self.send(ack, addr)
        return resp

    # -- session timers (RFC 4028) -------------------------------------------------------------
    def _start_session_timer(self, call: Call) -> None:
        if call.timer is None or call._timer_task is not None:
            return
        call.refreshed_at = call.refreshed_at or time.monotonic()
        call._timer_task = self._spawn(self._session_timer(call))

    async def _session_timer(self, call: Call) -> None:
        while call.state == "confirmed" and call.timer is not None:
            marker = call.refreshed_at
            due = marker + call.timer.refresh_after() - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call.ended.wait(), max(due, 0.05))
                return
            if call.refreshed_at != marker:
                continue  # refreshed meanwhile (by either side)
            if call.timer is None:
                return  # the session timer was turned off by a refresh without Session-Expires
            if not call.timer.we_refresh:
                log.warning("session of %s expired without refresh (%ss): ending it", call.call_id, call.timer.expires)
                await call.hangup("session expired")
                return
            if not await self._refresh(call):
                await call.hangup("session refresh failed")
                return

    async def _refresh(self, call: Call) -> bool:
        """Refresh with UPDATE when the peer allows it, else with a re-INVITE of our unchanged SDP."""
        assert call.timer is not None
        methods = ["UPDATE", "INVITE"] if "UPDATE" in call.peer_allow.upper() else ["INVITE"]
        for method in methods:
            for _attempt in range(3):
                headers = {"Session-Expires": call.timer.header(our_request=True), "Supported": "timer",
                           "Min-SE": str(self.settings.session_min_se)}
                body = call.local_sdp if method == "INVITE" else b""
                try:
                    resp = await self.send_in_dialog(call, method, body=body, content_type="application/sdp",
                                                     headers=headers)
                except (SipError, TimeoutError, OSError, ssl.SSLError) as exc:
                    log.warning("session refresh of %s failed: %s", call.call_id, exc)
                    return False
                if resp.status == 422 and (resp.get("Min-SE") or "").strip().isdigit():
                    call.timer.expires = max(call.timer.expires, int(resp.get("Min-SE") or 0))
                    continue
                if resp.status == 491:  # glare with the peer's own re-INVITE (§14.1): try again shortly
                    await asyncio.sleep(1.0)
                    continue
                break
            if resp.status and 200 <= resp.status < 300:
                call.timer = from_response(resp) or call.timer
                call.refreshed_at = time.monotonic()
                call.refreshes_sent += 1
                if method == "INVITE" and resp.body and call.rtp.srtp is not None:
                    keys = choose(sdp.parse(resp.body).crypto)
                    if keys is not None:
                        call.rtp.srtp = call.rtp.srtp.rekeyed(keys[0])
                log.info("session %s refreshed by %s (%ss)", call.call_id, method, call.timer.expires)
                return True
            if resp.status in (408, 481):
                return False  # the dialog is gone
            log.info("refresh of %s by %s refused (%s)", call.call_id, method, resp.status)
        return False

    # -- OPTIONS keep-alive ----------------------------------------------------------------------
    async def _keepalive_loop(self, target: str) -> None:
        """OPTIONS towards the trunk: any answer means it is there (and keeps the NAT binding open)."""
        while True:
            msg = SipMessage(method="OPTIONS", uri=target)
            try:
                addr = await self.resolve(target, self.settings.transport.upper())
            except (TimeoutError, OSError, ssl.SSLError) as exc:
                addr = None
                log.debug("keep-alive target %s unreachable: %s", target, exc)
            transport = addr.transport if addr else "UDP"
            msg.add("Via", self.via(transport=transport))
            msg.add("Max-Forwards", "70")
            msg.add("From", f"<sip:{self.settings.user}@{self.host}>;tag={new_tag()}")
            msg.add("To", f"<{target}>")
            msg.add("Call-ID", new_call_id(self.host))
            msg.add("CSeq", "1 OPTIONS")
            msg.add("Contact", self.contact(transport))
            msg.add("User-Agent", USER_AGENT)
            alive = False
            if addr is not None:
                with contextlib.suppress(TimeoutError, OSError, ssl.SSLError):
                    await self.request(msg, addr, timeout=min(self.settings.keepalive_seconds, 8.0))
                    alive = True
            if alive != self.trunk_alive:
                log.log(logging.INFO if alive else logging.WARNING, "trunk %s %s", target,
                        "answers OPTIONS" if alive else "does not answer OPTIONS")
            self.trunk_alive = alive
            await asyncio.sleep(self.settings.keepalive_seconds)

    # -- registration --------------------------------------------------------------------------
    async def _register_loop(self) -> None:
        failures = 0
        while True:
            try:
                expires = await self._register_once(expires=self.settings.register_expires)
                self.register_error = None
                self.registered.set()
                failures = 0
                await asyncio.sleep(max(min(expires * 0.8, expires - 2), 1))  # renewed before it lapses
            except (SipError, TimeoutError, OSError) as exc:
                failures += 1
                self.register_error = str(exc)
                self.registered.clear()
                log.warning("registration to %s failed: %s", self.settings.registrar, exc)
                await asyncio.sleep(min(5 * failures, 60))

    async def _register_once(self, *, expires: int) -> int:
        assert self.settings.registrar
        reg_uri = SipUri.parse(self.settings.registrar)
        domain = self.settings.domain or reg_uri.host
        request_uri = f"sip:{domain}" + (f":{reg_uri.port}" if reg_uri.port and not self.settings.domain else "")
        aor = f"<sip:{self.settings.user}@{domain}>"
        addr = await self.resolve(self.settings.registrar, self.settings.transport.upper())
        call_id = getattr(self, "_reg_call_id", None) or new_call_id(self.host)
        self._reg_call_id = call_id
        tag = new_tag()
        auth_header: tuple[str, str] | None = None
        for _attempt in range(3):
            self._reg_cseq = getattr(self, "_reg_cseq", 0) + 1
            msg = SipMessage(method="REGISTER", uri=request_uri)
            msg.add("Via", self.via(transport=addr.transport))
            msg.add("Max-Forwards", "70")
            msg.add("From", f"{aor};tag={tag}")
            msg.add("To", aor)
            msg.add("Call-ID", call_id)
            msg.add("CSeq", f"{self._reg_cseq} REGISTER")
            msg.add("Contact", self.contact(addr.transport))
            msg.add("Expires", str(expires))
            msg.add("User-Agent", USER_AGENT)
            if auth_header:
                msg.add(*auth_header)
            resp = await self.request(msg, addr)
            if resp.status in (401, 407) and auth_header is None:
                if not self.settings.auth_password:
                    raise SipError(resp.status or 0, "registrar wants credentials (set SIP_PASSWORD)")
                name = "WWW-Authenticate" if resp.status == 401 else "Proxy-Authenticate"
                challenge = digest.parse_challenge(resp.get(name) or "")
                auth_header = (
                    "Authorization" if resp.status == 401 else "Proxy-Authorization",
                    digest.authorization(
                        challenge=challenge, method="REGISTER", uri=request_uri,
                        username=self.settings.auth_username or self.settings.user,
                        password=self.settings.auth_password,
                    ),
                )
                continue
            if resp.status == 200:
                granted = expires
                for c in resp.get_all("Contact"):
                    na = NameAddr.parse(c)
                    if f"{self.host}:{self.port_for(addr.transport)}" in na.uri and na.params.get("expires", "").isdigit():
                        granted = int(na.params["expires"])
                if resp.get("Expires") and (resp.get("Expires") or "").isdigit() and granted == expires:
                    granted = int(resp.get("Expires") or expires)
                log.info("registered %s at %s for %ss", aor, self.settings.registrar, granted)
                return granted
            raise SipError(resp.status or 0, resp.reason)
        raise SipError(403, "authentication rejected")

    # -- outgoing calls (outbound dialer, bench and test caller) -------------------------------
    async def invite(
        self, target: str, *, from_user: str, codecs: list[int] | None = None,
        on_audio: Callable[[np.ndarray], None] | None = None, on_dtmf: Callable[[str], None] | None = None,
        timeout: float = 32.0,
    ) -> Call:
        codecs = codecs or [audio.PT_PCMU, audio.PT_PCMA]
        holder: dict[str, Call] = {}
        rtp = await open_session(
            host=self.settings.bind_host, port_range=self.settings.rtp_port_range,
            payload_type=codecs[0], telephone_event=101,
            on_audio=lambda pcm: _dispatch_audio(holder, pcm), on_dtmf=lambda d: _dispatch_dtmf(holder, d),
        )
        local_tag = new_tag()
        call_id = new_call_id(self.host)
        try:
            addr = await self.resolve(target, self.settings.transport.upper())
        except BaseException:
            rtp.close()
            raise
        from_uri = f"<sip:{from_user}@{self.host}:{self.local_port}>"
        to_uri = f"<{target}>"
        msg = SipMessage(method="INVITE", uri=target)
        msg.add("Via", self.via(transport=addr.transport))
        msg.add("Max-Forwards", "70")
        msg.add("From", f"{from_uri};tag={local_tag}")
        msg.add("To", to_uri)
        msg.add("Call-ID", call_id)
        msg.add("CSeq", "1 INVITE")
        msg.add("Contact", self.contact(addr.transport, user=from_user))
        msg.add("Allow", ALLOW)
        msg.add("User-Agent", USER_AGENT)
        msg.add("Supported", "timer")
        if self.settings.session_expires:
            msg.add("Session-Expires", str(max(self.settings.session_expires, self.settings.session_min_se)))
            msg.add("Min-SE", str(self.settings.session_min_se))
        msg.add("Content-Type", "application/sdp")
        ours = Crypto.generate() if self.settings.srtp in ("offer", "require") else None
        msg.body = sdp.build(address=self.host, port=rtp.local_port, codecs=codecs, telephone_event=101,
                             profile="RTP/SAVP" if self.settings.srtp == "require" else "RTP/AVP",
                             crypto=str(ours) if ours else None)
        dialog = Dialog(call_id, local_tag, "", from_uri, to_uri, target, [], 1, addr.transport)
        call = Call(ua=self, dialog=dialog, direction="out", remote_number=None, codec=codecs[0],
                    telephone_event=101, rtp=rtp, invite=msg, on_audio=on_audio, on_dtmf=on_dtmf)
        holder["call"] = call
        self.calls[call_id] = call
        try:
            resp = await self.request(msg, addr, timeout=timeout)
            for _attempt in range(2):
                auth = _answer_challenge(self, resp, "INVITE", target)
                min_se = resp.get("Min-SE") if resp.status == 422 else None
                if auth is None and not (min_se and min_se.strip().isdigit()):
                    break
                # A trunk's digest challenge (401/407) or a 422 asking for a longer session
                # interval: the same INVITE again, next CSeq, new branch.
                if auth is not None:
                    msg.remove(auth[0])
                    msg.add(*auth)
                else:
                    msg.set("Session-Expires", (min_se or "").strip())
                dialog.local_cseq = msg.cseq[0] + 1
                msg.set("Via", self.via(transport=addr.transport))
                msg.set("CSeq", f"{dialog.local_cseq} INVITE")
                resp = await self.request(msg, addr, timeout=timeout)
        except BaseException:
            call._end("invite failed")
            raise
        if not resp.status or resp.status >= 300:
            call._end(f"rejected {resp.status}")
            raise SipError(resp.status or 0, resp.reason)
        answer = sdp.parse(resp.body)
        call.codec = answer.codec() or codecs[0]
        rtp.payload_type = call.codec
        rtp.telephone_event = answer.telephone_event()
        call.telephone_event = rtp.telephone_event
        dialog.remote_tag = resp.to.tag or ""
        dialog.remote_uri = _strip_tag(resp.get("To") or to_uri)
        contact = resp.get("Contact")
        dialog.remote_target = NameAddr.parse(contact).uri if contact else target
        dialog.route_set = list(reversed(resp.get_all("Record-Route")))
        ack = dialog.request("ACK", self)
        invite_cseq = msg.cseq[0]
        ack.set("CSeq", f"{invite_cseq} ACK")
        for header in ("Authorization", "Proxy-Authorization"):  # the ACK carries the INVITE's credentials
            if msg.get(header):
                ack.add(header, msg.get(header) or "")
        dialog.local_cseq = invite_cseq
        ack_addr = await self.resolve(dialog.next_hop_uri(), dialog.transport)
        call._ack, call._ack_addr = ack, ack_addr
        self.send(ack, ack_addr)
        call.state = "confirmed"
        call.local_sdp = msg.body
        call.peer_allow = resp.get("Allow") or ""
        call.timer = from_response(resp)
        self._start_session_timer(call)
        if ours is not None:
            keys = choose([v for v in answer.crypto if v.split()[:1] == [str(ours.tag)]])
            if keys is not None:
                rtp.srtp = SrtpContext(local=ours, remote=keys[0])
            elif self.settings.srtp == "require":
                await call.hangup("peer refused SRTP")  # answered in clear: never send media that way
                raise SipError(488, "answer without a usable a=crypto")
        call.answered_at = time.monotonic()
        call.confirmed.set()
        rtp.start((answer.address, answer.port))
        return call


def _apply_ack_answer(call: Call, ours: Crypto | None, *, require_srtp: bool) -> str:
    """Take the caller's answer (in its ACK) to the offer of our 200 and start media; returns
    what is wrong with it, or "" when the call can go on."""
    if not call.ack_body:
        return "no SDP answer in the ACK"
    try:
        answer = sdp.parse(call.ack_body)
    except (sdp.SdpError, ValueError) as exc:
        return f"bad SDP answer in the ACK: {exc}"
    codec = answer.codec()
    if codec is None:
        return "the ACK's answer has neither PCMU nor PCMA"
    rtp = call.rtp
    if ours is not None:
        theirs = choose([v for v in answer.crypto if v.split()[:1] == [str(ours.tag)]])
        if theirs is not None:
            rtp.srtp = SrtpContext(local=ours, remote=theirs[0])
        elif require_srtp or answer.secure:
            return "the ACK's answer has no usable a=crypto"
    elif answer.secure:
        return "an SRTP answer to a plain RTP offer"
    call.codec = rtp.payload_type = codec
    call.telephone_event = rtp.telephone_event = answer.telephone_event()
    rtp.start((answer.address, answer.port))
    return ""


def _answer_challenge(ua: SipUA, resp: SipMessage, method: str, uri: str) -> tuple[str, str] | None:
    """The Authorization / Proxy-Authorization header for a 401/407, or None without credentials."""
    if resp.status not in (401, 407) or not ua.settings.auth_password:
        return None
    name = "WWW-Authenticate" if resp.status == 401 else "Proxy-Authenticate"
    challenge = digest.parse_challenge(resp.get(name) or "")
    return (
        "Authorization" if resp.status == 401 else "Proxy-Authorization",
        digest.authorization(challenge=challenge, method=method, uri=uri,
                             username=ua.settings.auth_username or ua.settings.user,
                             password=ua.settings.auth_password),
    )


def uri_transport(uri: str, default: str = "UDP") -> str:
    """The transport a URI asks for: its `transport` parameter, TLS for sips:, else `default`."""
    try:
        parsed = SipUri.parse(uri)
    except SipParseError:
        return default.upper()
    if parsed.params.get("transport"):
        return parsed.params["transport"].upper()
    return "TLS" if parsed.scheme == "sips" else default.upper()


def _strip_tag(name_addr: str) -> str:
    na = NameAddr.parse(name_addr)
    na.params.pop("tag", None)
    return str(na)


def caller_number(invite: SipMessage) -> str | None:
    """The caller's number: P-Asserted-Identity (trusted trunks) before From."""
    for header in ("P-Asserted-Identity", "Remote-Party-ID", "From"):
        value = invite.get(header)
        if not value:
            continue
        raw = NameAddr.parse(value).uri
        if raw.lower().startswith("tel:"):
            return raw[4:].split(";")[0] or None
        try:
            uri = SipUri.parse(raw)
        except SipParseError:
            continue
        if uri.user:
            return uri.user
    return None


def _info_dtmf(msg: SipMessage) -> str | None:
    ctype = (msg.get("Content-Type") or "").lower()
    text = msg.body.decode("utf-8", "replace")
    if "dtmf-relay" in ctype:
        for line in text.splitlines():
            key, _, val = line.partition("=")
            if key.strip().lower() == "signal" and val.strip():
                return val.strip()[0]
    elif "application/dtmf" in ctype and text.strip():
        return text.strip()[0]
    return None


def _dispatch_audio(holder: dict[str, Call], pcm: np.ndarray) -> None:
    call = holder.get("call")
    if call is not None and call.on_audio is not None:
        call.on_audio(pcm)


def _dispatch_dtmf(holder: dict[str, Call], digit: str) -> None:
    call = holder.get("call")
    if call is not None and call.on_dtmf is not None:
        call.on_dtmf(digit)


def _guess_local_ip(registrar: str | None) -> str:
    target = "127.0.0.1"
    if registrar:
        with contextlib.suppress(SipParseError):
            target = SipUri.parse(registrar).host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((target, 5060))  # no packet is sent; this only picks the outgoing interface
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _log_task_error(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("SIP task failed", exc_info=task.exception())


__all__ = ["Call", "Dialog", "SipError", "SipUA", "UASettings", "caller_number", "RtpSession"]
