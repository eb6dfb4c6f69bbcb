"""INVITEs without SDP (a "late offer", RFC 3261 §13.2.1), sent by SIPp.

Some PBXs and trunks send an INVITE with no body: the user agent offers in its 200 and the caller
answers in the ACK. SIPp (baresip cannot do this) sends such an INVITE and answers PCMA only,
pointing the media at the test's RTP socket: the user agent must take codec and address from the
ACK, so its audio arrives there as PCMA, and the test's PCMA reaches the call. An ACK without an
answer leaves nothing to send media to: the user agent ends the call with a BYE (§13.3.1.4).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import numpy as np
import pytest

from telephony import audio
from telephony.rtp import RtpPacket
from telephony.sip import sdp
from telephony.sip.ua import Call, SipUA, UASettings
from tests.telephony.conftest import run
from tests.telephony.peers import (
    SIPP_ANSWER,
    SIPP_CALLEE_BYE,
    SIPP_CALLER_BYE,
    SIPP_LATE_OFFER,
    SIPP_NO_ANSWER,
    Sipp,
)
from tests.telephony.test_call_baresip import until
from tests.telephony.test_sip_tls import answering, tone

pytestmark = pytest.mark.voice
CALLER = "13805150000"


def _scenario(*, media_port: int | None, hold_ms: int = 3000) -> str:
    if media_port is None:
        body, ending = SIPP_NO_ANSWER, SIPP_CALLEE_BYE
    else:
        rtpmaps = "a=rtpmap:8 PCMA/8000\n      a=rtpmap:101 telephone-event/8000"
        body = SIPP_ANSWER.format(media_port=media_port, payload_types="8 101", rtpmaps=rtpmaps)
        ending = SIPP_CALLER_BYE.format(hold_ms=hold_ms, caller=CALLER)
    return SIPP_LATE_OFFER.format(caller=CALLER, ack_body=body, ending=ending)


async def _exchange_rtp(media: socket.socket, to: tuple[str, int], seconds: float) -> list[RtpPacket]:
    """Send a PCMA tone to `to` from `media` in real time; return what arrived meanwhile."""
    loop = asyncio.get_running_loop()
    got: list[RtpPacket] = []

    async def receive() -> None:
        while True:
            data, _ = await loop.sock_recvfrom(media, 2048)
            got.append(RtpPacket.parse(data))

    receiver = asyncio.ensure_future(receive())
    pcm = tone(seconds, 300.0)
    try:
        for seq, start in enumerate(range(0, pcm.size - audio.FRAME_SAMPLES + 1, audio.FRAME_SAMPLES)):
            frame = pcm[start:start + audio.FRAME_SAMPLES]
            pkt = RtpPacket(audio.PT_PCMA, seq == 0, seq, seq * audio.FRAME_SAMPLES, 0x5150,
                            audio.encode(frame, audio.PT_PCMA))
            await loop.sock_sendto(media, pkt.to_bytes(), to)
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
    finally:
        receiver.cancel()
    return got


def test_a_late_offer_is_offered_in_the_200_and_answered_in_the_ack(tmp_path: Path) -> None:
    async def scenario() -> tuple[Sipp, list[Call], list[np.ndarray], list[RtpPacket], bytes]:
        media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        media.bind(("127.0.0.1", 0))
        media.setblocking(False)
        sipp = Sipp(tmp_path / "sipp", _scenario(media_port=media.getsockname()[1], hold_ms=4000))
        heard: list[np.ndarray] = []
        calls: list[Call] = []
        ua = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="bot"), on_incoming=answering(heard, calls))
        try:
            await ua.start()
            sipp.start(f"127.0.0.1:{ua.local_port}", service="bot")
            await until(lambda: calls, 20, f"the late-offer call never confirmed:\n{sipp.messages()[-3000:]}")
            offered = calls[0].local_sdp
            packets = await _exchange_rtp(media, ("127.0.0.1", sdp.parse(offered).port), 2.0)
            await until(lambda: sipp.returncode() is not None, 30, "SIPp never finished its call")
            await asyncio.wait_for(calls[0].ended.wait(), 5)
        finally:
            sipp.stop()
            await ua.stop()
            media.close()
        return sipp, calls, heard, packets, offered

    sipp, calls, heard, packets, offered = run(scenario, timeout=90)
    assert sipp.returncode() == 0, sipp.messages()[-3000:]
    offer = sdp.parse(offered)  # our offer in the 200: both G.711 laws and keypad events
    assert offer.payload_types == [audio.PT_PCMU, audio.PT_PCMA, 101] and offer.telephone_event() == 101
    call = calls[0]
    assert call.codec == audio.PT_PCMA and call.telephone_event == 101  # as the ACK answered
    assert packets and {p.payload_type for p in packets} == {audio.PT_PCMA}  # to the ACK's address
    ours = np.concatenate([audio.decode(p.payload, audio.PT_PCMA) for p in packets])
    assert audio.rms(ours) > 1000  # the answering tone, decoded as PCMA: the right law
    assert audio.rms(np.concatenate(heard)) > 1000 and sum(p.size for p in heard) > 8000  # the caller's tone
    assert call.end_reason == "remote hangup"  # SIPp's BYE
    assert "m=audio" in sipp.messages() and "INVITE sip:bot@127.0.0.1" in sipp.messages()


def test_an_ack_without_the_answer_ends_the_call_with_a_bye(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[Sipp, list[Call]]:
        sipp = Sipp(tmp_path / "sipp", _scenario(media_port=None))
        calls: list[Call] = []
        ua = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="bot"), on_incoming=answering([], calls))
        try:
            await ua.start()
            sipp.start(f"127.0.0.1:{ua.local_port}", service="bot")
            await until(lambda: sipp.returncode() is not None, 30, "SIPp never got its BYE")
        finally:
            sipp.stop()
            await ua.stop()
        return sipp, calls

    with caplog.at_level(logging.WARNING, logger="telephony.sip.ua"):
        sipp, calls = run(scenario, timeout=60)
    assert sipp.returncode() == 0, sipp.messages()[-3000:]  # its scenario: 200, ACK, then our BYE
    assert not calls  # never handed to the bot: there is no media to speak into
    assert any("no SDP answer in the ACK" in r.getMessage() for r in caplog.records)
