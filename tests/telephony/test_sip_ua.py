"""The user agent's call handling over loopback: 486 beyond capacity, 488, CANCEL, OPTIONS, BYE."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest

from telephony.audio import rms
from telephony.rtp import open_session
from telephony.sip.message import SipMessage, new_branch, new_tag
from telephony.sip.ua import Call, SipError, SipUA, UASettings
from tests.telephony.conftest import run


async def _server(**kwargs: object) -> tuple[SipUA, list[Call]]:
    calls: list[Call] = []

    async def on_call(call: Call) -> None:
        calls.append(call)
        tone = (np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440) * 8000).astype(np.int16)
        call.rtp.enqueue(tone)
        await call.ended.wait()

    ua = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, **kwargs), on_incoming=on_call)  # type: ignore[arg-type]
    await ua.start()
    return ua, calls


async def _client() -> SipUA:
    ua = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="13805150000"))
    await ua.start()
    return ua


def test_call_audio_dtmf_and_bye_both_ways() -> None:
    async def scenario() -> None:
        server, calls = await _server()
        client = await _client()
        heard: list[np.ndarray] = []
        digits: list[str] = []
        try:
            call = await client.invite(f"sip:bot@127.0.0.1:{server.local_port}", from_user="13805150000",
                                       on_audio=heard.append)
            while not calls:
                await asyncio.sleep(0.05)
            calls[0].on_dtmf = digits.append
            assert calls[0].remote_number == "13805150000" and calls[0].codec == 0
            for d in "0515#":
                call.rtp.send_dtmf(d)
            while len(digits) < 4 or len(heard) < 40:
                await asyncio.sleep(0.05)
            await call.hangup()
            await asyncio.wait_for(calls[0].ended.wait(), 10)
        finally:
            await client.stop()
            await server.stop()
        assert digits == list("0515#")  # each digit once, despite 3 end packets per event
        assert rms(np.concatenate(heard)) > 1000
        assert calls[0].end_reason == "remote hangup"
        assert server.active_calls() == 0

    run(scenario, timeout=60)


def test_busy_beyond_max_calls() -> None:
    async def scenario() -> None:
        server, calls = await _server(max_calls=1)
        a, b = await _client(), await _client()
        try:
            first = await a.invite(f"sip:bot@127.0.0.1:{server.local_port}", from_user="1")
            with pytest.raises(SipError) as busy:
                await b.invite(f"sip:bot@127.0.0.1:{server.local_port}", from_user="2")
            await first.hangup()
            await asyncio.wait_for(calls[0].ended.wait(), 10)
            # capacity is back once the first call ended
            second = await b.invite(f"sip:bot@127.0.0.1:{server.local_port}", from_user="2")
            await second.hangup()
        finally:
            await a.stop()
            await b.stop()
            await server.stop()
        assert busy.value.status == 486

    run(scenario, timeout=60)


def test_503_when_configured_for_pbx_overflow() -> None:
    async def scenario() -> None:
        server, _ = await _server(max_calls=0, busy_status=503)
        client = await _client()
        try:
            with pytest.raises(SipError) as err:
                await client.invite(f"sip:bot@127.0.0.1:{server.local_port}", from_user="1")
        finally:
            await client.stop()
            await server.stop()
        assert err.value.status == 503

    run(scenario, timeout=30)


def test_488_for_offer_without_g711() -> None:
    async def raw_g722() -> None:
        server, calls = await _server()
        loop = asyncio.get_running_loop()
        got: asyncio.Future[SipMessage] = loop.create_future()

        class Proto(asyncio.DatagramProtocol):
            on_data: Callable[[bytes], None] | None = None

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                msg = SipMessage.parse(data)
                if msg.status and msg.status >= 200:
                    if not got.done():
                        got.set_result(msg)
                    elif self.on_data is not None:
                        self.on_data(data)

        transport, proto = await loop.create_datagram_endpoint(Proto, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        body = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n"
        invite = SipMessage(method="INVITE", uri=f"sip:bot@127.0.0.1:{server.local_port}")
        for k, v in (("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch={new_branch()}"), ("From", f"<sip:1@h>;tag={new_tag()}"),
                     ("To", "<sip:bot@h>"), ("Call-ID", "g722@test"), ("CSeq", "1 INVITE"),
                     ("Contact", f"<sip:1@127.0.0.1:{port}>"), ("Content-Type", "application/sdp")):
            invite.add(k, v)
        invite.body = body
        transport.sendto(invite.to_bytes(), ("127.0.0.1", server.local_port))
        try:
            resp = await asyncio.wait_for(got, 10)
            # no ACK from us yet: the 488 is retransmitted (Timer G) until we acknowledge it
            repeats: list[bytes] = []
            proto.on_data = repeats.append
            await asyncio.sleep(1.8)
            ack = SipMessage(method="ACK", uri=invite.uri)
            for k in ("Via", "From", "Call-ID"):
                ack.add(k, invite.get(k) or "")
            ack.add("To", resp.get("To") or "")
            ack.add("CSeq", "1 ACK")
            transport.sendto(ack.to_bytes(), ("127.0.0.1", server.local_port))
            await asyncio.sleep(0.2)
            after_ack = len(repeats)
            await asyncio.sleep(2.5)
        finally:
            transport.close()
            await server.stop()
        assert resp.status == 488 and "PCMU/PCMA" in (resp.get("Warning") or "")
        assert resp.to.tag
        assert len(repeats) >= 1 and len(repeats) == after_ack
        assert calls == []

    run(raw_g722, timeout=30)


def test_cancel_while_ringing_gets_487() -> None:
    async def scenario() -> None:
        server, calls = await _server(answer_delay=5.0)
        client = await _client()
        try:
            invite_task = asyncio.ensure_future(
                client.invite(f"sip:bot@127.0.0.1:{server.local_port}", from_user="1"))
            while not server.calls:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # 180 Ringing has gone out
            pending = next(iter(client.calls.values()))
            assert pending.invite is not None
            cancel = SipMessage(method="CANCEL", uri=pending.invite.uri)
            for name in ("Via", "From", "To", "Call-ID"):
                cancel.add(name, pending.invite.get(name) or "")
            cancel.add("CSeq", "1 CANCEL")
            resp = await client.request(cancel, ("127.0.0.1", server.local_port))
            with pytest.raises(SipError) as err:
                await invite_task
        finally:
            await client.stop()
            await server.stop()
        assert resp.status == 200
        assert err.value.status == 487
        assert calls == [] and server.active_calls() == 0

    run(scenario, timeout=30)


def test_options_is_answered() -> None:
    async def scenario() -> SipMessage:
        server, _ = await _server()
        client = await _client()
        try:
            msg = SipMessage(method="OPTIONS", uri=f"sip:bot@127.0.0.1:{server.local_port}")
            for k, v in (("Via", client.via()), ("From", f"<sip:mon@h>;tag={new_tag()}"), ("To", "<sip:bot@h>"),
                         ("Call-ID", "opt@test"), ("CSeq", "1 OPTIONS")):
                msg.add(k, v)
            return await client.request(msg, ("127.0.0.1", server.local_port))
        finally:
            await client.stop()
            await server.stop()

    resp = run(scenario, timeout=30)
    assert resp.status == 200 and "INVITE" in (resp.get("Allow") or "")


def test_rtp_ports_come_from_the_configured_range() -> None:
    async def scenario() -> list[int]:
        sessions = [await open_session(host="127.0.0.1", port_range=(41000, 41010), payload_type=0,
                                       telephone_event=None, on_audio=lambda pcm: None, on_dtmf=lambda d: None)
                    for _ in range(3)]
        ports = [s.local_port for s in sessions]
        for s in sessions:
            s.close()
        return ports

    ports = run(scenario, timeout=30)
    assert len(set(ports)) == 3 and all(41000 <= p < 41010 and p % 2 == 0 for p in ports)
