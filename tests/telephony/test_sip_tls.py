"""SIP over TLS and TCP with real peers.

TLS: the gateway's UA registers at Kamailio over TLS (Kamailio's tls module, certificates made by
openssl for this test, the UA verifying Kamailio's against the test CA), baresip calls through
Kamailio over UDP, Kamailio opens a TLS connection to the UA's listener to deliver the INVITE,
audio flows both ways and the UA's BYE goes back over TLS along the record-route. A UA that does
not trust the CA never registers. With connection reuse (RFC 5923: `alias` in the UA's Via,
Kamailio's tcp_accept_aliases) the INVITE comes back over the UA's own registration connection
and nothing connects to its listener. TCP: two user agents call each other over a TCP connection.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import numpy as np
import pytest

from telephony.audio import rms, wav_bytes
from telephony.sip.ua import Call, SipUA, UASettings
from tests.telephony.conftest import run
from tests.telephony.peers import Kamailio, make_certificates
from tests.telephony.phones import Phone
from tests.telephony.test_call_baresip import until

pytestmark = pytest.mark.voice


def tone(seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * 8000)) / 8000
    return (np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16)


def answering(heard: list[np.ndarray], calls: list[Call]):  # type: ignore[no-untyped-def]
    async def on_call(call: Call) -> None:
        calls.append(call)
        call.on_audio = heard.append
        call.rtp.enqueue(tone(4.0))
        await call.ended.wait()

    return on_call


@pytest.mark.parametrize("reuse", [False, True], ids=["new-connection", "connection-reuse"])
def test_a_call_over_tls_through_kamailio(tmp_path: Path, reuse: bool) -> None:
    async def scenario() -> None:
        pki = make_certificates(tmp_path / "pki", "kamailio", "gateway")
        stranger = make_certificates(tmp_path / "other-pki", ca_name="Some other CA")
        kam = Kamailio(tmp_path / "kamailio", password="tls-pw", tls=pki, accept_aliases=reuse)
        kam.start()
        (tmp_path / "caller.wav").write_bytes(wav_bytes(np.concatenate([tone(30.0, 300.0)])))
        heard: list[np.ndarray] = []
        calls: list[Call] = []
        tls = {"tls_port": 0, "tls_cert": pki.cert("gateway"), "tls_key": pki.key("gateway")}
        gateway = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="bot", registrar=kam.tls_uri,
                                   auth_password="tls-pw", tls_ca=str(pki.ca), register_expires=60, **tls),
                        on_incoming=answering(heard, calls))
        distrustful = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="other", registrar=kam.tls_uri,
                                       auth_password="tls-pw", tls_ca=str(stranger.ca), **tls))
        phone = Phone(tmp_path / "phone", user="13805150000", source_wav=tmp_path / "caller.wav")
        try:
            await gateway.start()
            await distrustful.start()
            await asyncio.wait_for(gateway.registered.wait(), 20)
            await until(lambda: distrustful.register_error, 20, "a UA that distrusts the CA still registered?")
            phone.start(f"sip:bot@127.0.0.1:{kam.port}")
            await until(lambda: calls, 30, "the INVITE never reached the UA over TLS")
            await until(lambda: sum(p.size for p in heard) > 8000 * 2, 30, "no caller audio over the TLS call")
            await phone.wait_log("Call established", 10)
            await asyncio.sleep(1.0)
            await calls[0].hangup()
            await phone.wait_log("terminated", 30)
        finally:
            phone.stop()
            await gateway.stop()
            await distrustful.stop()
            kam.stop()
        log = kam.log()
        assert "received REGISTER from sip:bot@127.0.0.1 over tls" in log
        assert re.search(rf"routing INVITE for sip:bot@\S+ to sip:bot@127\.0\.0\.1:{gateway.tls_port};transport=tls", log)
        assert "received BYE from sip:bot@" in log and "in-dialog BYE via record-route" in log
        # reuse: the INVITE came over the connection the UA opened to register; else Kamailio connected
        assert gateway.streams_accepted == 0 if reuse else gateway.streams_accepted >= 1
        assert "over tls" in log.split("received BYE", 1)[1].splitlines()[0]
        assert calls[0].dialog.transport == "TLS"
        assert "CERTIFICATE_VERIFY_FAILED" in (distrustful.register_error or "")
        assert not distrustful.registered.is_set()
        assert "received REGISTER from sip:other@" not in log  # refused before a byte of SIP was sent
        assert rms(np.concatenate(heard)) > 1000  # the caller's tone, decoded by the UA
        got, rate = phone.heard()
        assert rms(got[: 3 * rate]) > 1000  # the UA's tone, heard by baresip

    run(scenario, timeout=150)


def test_a_call_over_tcp_between_two_user_agents() -> None:
    async def scenario() -> None:
        heard: list[np.ndarray] = []
        calls: list[Call] = []
        server = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="bot", tcp=True),
                       on_incoming=answering(heard, calls))
        client = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="13805150000", tcp=True, transport="tcp"))
        client_heard: list[np.ndarray] = []
        try:
            await server.start()
            await client.start()
            call = await client.invite(f"sip:bot@127.0.0.1:{server.local_port};transport=tcp",
                                       from_user="13805150000", on_audio=client_heard.append)
            call.rtp.enqueue(tone(2.0, 300.0))
            await until(lambda: calls and len(client_heard) > 50 and len(heard) > 50, 20, "no audio over TCP")
            await call.hangup()
            await asyncio.wait_for(calls[0].ended.wait(), 10)
        finally:
            await client.stop()
            await server.stop()
        assert calls[0].dialog.transport == "TCP" and call.dialog.transport == "TCP"
        assert calls[0].end_reason == "remote hangup"
        invite = calls[0].invite
        assert invite is not None and invite.top_via.transport == "TCP"
        assert "transport=tcp" in (invite.get("Contact") or "")
        assert rms(np.concatenate(heard)) > 1000 and rms(np.concatenate(client_heard)) > 1000

    run(scenario, timeout=60)
