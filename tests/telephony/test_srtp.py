"""SRTP with SDES keys (RFC 4568): the crypto attribute, libsrtp protection, the UA's offer/answer,
and a call from baresip that insists on SRTP (mediaenc=srtp-mand) to the gateway, where the caller
hears the bot and the bot's recogniser decodes the caller."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from telephony.asr import AsrEngine
from telephony.audio import rms, wav_bytes
from telephony.gateway import Gateway
from telephony.rtp import RtpPacket
from telephony.settings import Settings
from telephony.sip import sdp
from telephony.sip.message import SipMessage, new_tag
from telephony.sip.ua import Call, SipUA, UASettings
from telephony.srtp import Crypto, CryptoError, SrtpContext, choose
from tests.telephony.conftest import espeak, run
from tests.telephony.phones import Phone
from tests.telephony.scripted_hub import ScriptedHub, reply
from tests.telephony.test_call_baresip import until
from tests.telephony.test_sip_tls import answering, tone

KEY = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"  # RFC 4568's example key and salt (30 bytes)


def test_crypto_attribute_parse_and_choice() -> None:
    crypto = Crypto.parse(f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^20")
    assert crypto.tag == 1 and crypto.suite == "AES_CM_128_HMAC_SHA1_80" and len(crypto.key) == 30
    assert Crypto.parse(str(crypto)) == crypto
    for bad in (f"1 F8_128_HMAC_SHA1_80 inline:{KEY}", f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^20|1:4",
                "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=", f"x AES_CM_128_HMAC_SHA1_80 inline:{KEY}"):
        with pytest.raises(CryptoError):
            Crypto.parse(bad)
    # the offerer's order, skipping what we cannot do; our answer reuses its tag and suite
    theirs, ours = choose([f"1 AES_256_CM_HMAC_SHA1_80 inline:{KEY}", f"2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}"]) or (
        None, None)
    assert theirs is not None and ours is not None
    assert (theirs.tag, ours.tag, ours.suite) == (2, 2, "AES_CM_128_HMAC_SHA1_32") and ours.key != theirs.key
    assert choose([f"1 F8_128_HMAC_SHA1_80 inline:{KEY}"]) is None


def test_srtp_protects_and_authenticates() -> None:
    a_key, b_key = Crypto.generate(), Crypto.generate()
    alice, bob = SrtpContext(local=a_key, remote=b_key), SrtpContext(local=b_key, remote=a_key)
    packet = RtpPacket(0, False, 1, 160, 0x1234, b"\x55" * 160).to_bytes()
    wire = alice.protect(packet)
    assert wire[:12] == packet[:12] and wire[12:172] != packet[12:] and len(wire) == len(packet) + 10
    assert bob.unprotect(wire) == packet
    assert bob.unprotect(wire) is None  # a replay
    forged = bytearray(alice.protect(RtpPacket(0, False, 2, 320, 0x1234, b"\x55" * 160).to_bytes()))
    forged[20] ^= 1
    assert bob.unprotect(bytes(forged)) is None and bob.rejected == 2


def test_sdp_with_savp_and_crypto() -> None:
    body = sdp.build(address="127.0.0.1", port=4000, codecs=[0], telephone_event=101, profile="RTP/SAVP",
                     crypto=f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")
    offer = sdp.parse(body)
    assert offer.secure and offer.crypto == [f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}"]
    assert b"m=audio 4000 RTP/SAVP 0 101" in body
    assert not sdp.parse(sdp.build(address="127.0.0.1", port=4000, codecs=[0], telephone_event=None)).secure


def test_user_agents_call_with_srtp_and_refuse_an_unusable_offer() -> None:
    async def scenario() -> None:
        heard: list[np.ndarray] = []
        calls: list[Call] = []
        server = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="bot"), on_incoming=answering(heard, calls))
        client = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="1", srtp="require"))
        client_heard: list[np.ndarray] = []
        try:
            await server.start()
            await client.start()
            call = await client.invite(f"sip:bot@127.0.0.1:{server.local_port}", from_user="1",
                                       on_audio=client_heard.append)
            call.rtp.enqueue(tone(2.0, 300.0))
            await until(lambda: calls and len(client_heard) > 50 and len(heard) > 50, 20, "no audio over SRTP")
            await call.hangup()
            await asyncio.wait_for(calls[0].ended.wait(), 10)
            # An offer that insists on SRTP with a suite we do not have is refused, not answered in clear.
            offer = SipMessage(method="INVITE", uri=f"sip:bot@127.0.0.1:{server.local_port}")
            for k, v in (("Via", client.via()), ("From", f"<sip:1@127.0.0.1>;tag={new_tag()}"),
                         ("To", "<sip:bot@127.0.0.1>"), ("Call-ID", "savp@test"), ("CSeq", "1 INVITE"),
                         ("Contact", client.contact()), ("Content-Type", "application/sdp")):
                offer.add(k, v)
            offer.body = sdp.build(address="127.0.0.1", port=4000, codecs=[0], telephone_event=None,
                                   profile="RTP/SAVP", crypto=f"1 F8_128_HMAC_SHA1_80 inline:{KEY}")
            refused = await client.request(offer, ("127.0.0.1", server.local_port))
        finally:
            await client.stop()
            await server.stop()
        assert refused.status == 488 and "a=crypto" in (refused.get("Warning") or "")
        assert calls[0].rtp.srtp is not None and call.rtp.srtp is not None
        assert calls[0].rtp.srtp.rejected == 0 and call.rtp.srtp.rejected == 0
        assert rms(np.concatenate(heard)) > 1000 and rms(np.concatenate(client_heard)) > 1000

    run(scenario, timeout=60)


@pytest.mark.voice
def test_baresip_with_mandatory_srtp_talks_to_the_gateway(
        tmp_path: Path, gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    async def scenario() -> None:
        hub = ScriptedHub([lambda t: reply("好的，请问具体在什么位置？")])
        await hub.start()
        gateway_settings.api_url = hub.url
        gateway_settings.notice = "您好，本通话将被录音。"
        gateway_settings.greeting = "请讲。"  # short: the test waits it out
        gateway = Gateway(gateway_settings, asr=asr_engine)
        silence = np.zeros(8000 * 200, dtype=np.int16)
        (tmp_path / "silence.wav").write_bytes(wav_bytes(silence))
        (tmp_path / "speech.wav").write_bytes(wav_bytes(np.concatenate([espeak("안녕하세요 반갑습니다", "ko"), silence])))
        phone = Phone(tmp_path / "phone", user="13805150000", source_wav=tmp_path / "silence.wav",
                      mediaenc="srtp-mand")
        seen: list[Call] = []
        try:
            await gateway.start()
            phone.start(f"sip:12345@127.0.0.1:{gateway.ua.local_port}")
            await until(lambda: gateway.active, 30, "the SRTP call never reached the gateway")
            seen.extend(gateway.ua.calls.values())
            session = next(iter(gateway.active.values()))
            await until(lambda: any(t.source == "greeting" for t in session.state.completed_timings), 60,
                        "no greeting")
            await until(lambda: not session.state.playing(), 60, "the greeting never ended")
            phone.command(f"/ausrc aufile,{tmp_path / 'speech.wav'}")
            await hub.wait_for(lambda: len(hub.messages) >= 1, timeout=60)
            phone.command("/hangup")
            await until(lambda: gateway.records, 30, "the gateway never finished the call")
        finally:
            phone.stop()
            await gateway.stop()
            await hub.stop()
        call = seen[0]
        assert call.invite is not None and b"RTP/SAVP" in call.invite.body and b"a=crypto:" in call.invite.body
        assert call.rtp.srtp is not None and call.rtp.packets_in > 100
        assert call.rtp.srtp.rejected == 0  # every packet from baresip authenticated
        assert hub.messages[0]["text"], "the caller's speech, decrypted and decoded, should reach the hub"
        heard, rate = phone.heard()
        assert rms(heard[: 3 * rate]) > 300, "baresip should hear the notice through SRTP"
        assert "Call established" in phone.log() and "SRTP is Enabled" in phone.log()

    run(scenario, timeout=240)
