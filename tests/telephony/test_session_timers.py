"""Session timers (RFC 4028) with short intervals.

With a real peer: Kamailio with its dialog and sst modules asks for a 10 s session timer on every
call and sends BYE both ways when a session is not refreshed in time; baresip (which has no
session timer support) calls two user agents through it. The one that refreshes (as refresher=uas,
the caller cannot) keeps its call for over twice the interval; the one told not to refresh is
dropped by Kamailio. Between two user agents: refreshes are answered, and a session whose refresh
never comes is ended by the side that waits for it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from telephony.asr import AsrEngine
from telephony.audio import wav_bytes
from telephony.gateway import CLOSE_FOR, Gateway
from telephony.hub import CLOSE_REASONS
from telephony.settings import Settings
from telephony.sip.message import SipMessage
from telephony.sip.timer import SessionTimer, negotiate_request, response_headers
from telephony.sip.ua import Call, SipUA, UASettings
from tests.telephony.conftest import run
from tests.telephony.peers import Kamailio
from tests.telephony.phones import Phone
from tests.telephony.scripted_hub import CLOSE_REASONS as HUB_CLOSE_REASONS
from tests.telephony.scripted_hub import ScriptedHub, reply
from tests.telephony.test_call_baresip import until
from tests.telephony.test_sip_tls import answering, tone


def _invite(**headers: str) -> SipMessage:
    msg = SipMessage(method="INVITE", uri="sip:bot@h")
    for k, v in {"Via": "SIP/2.0/UDP h;branch=z9hG4bK1", "From": "<sip:a@h>;tag=1", "To": "<sip:bot@h>",
                 "Call-ID": "c", "CSeq": "1 INVITE", **headers}.items():
        msg.add(k.replace("_", "-"), v)
    return msg


def test_negotiation_follows_rfc_4028() -> None:
    # a peer with timer support that names no refresher refreshes itself; we Require timer back
    timer = negotiate_request(_invite(Supported="timer", Session_Expires="1800"), min_se=90, default_expires=None)
    assert timer == SessionTimer(1800, we_refresh=False, peer_supports=True)
    assert response_headers(timer)["Session-Expires"] == "1800;refresher=uac" and "Require" in response_headers(timer)
    # too short: 422 with our Min-SE, unless the peer cannot retry (no timer support): stretched then
    assert negotiate_request(_invite(Supported="timer", Session_Expires="30"), min_se=90, default_expires=None) == 90
    stretched = negotiate_request(_invite(Session_Expires="30"), min_se=90, default_expires=None)
    assert stretched == SessionTimer(90, we_refresh=True, peer_supports=False)
    assert "Require" not in response_headers(stretched)
    # a proxy's Session-Expires for a caller without support: we refresh (refresher=uas)
    assert negotiate_request(_invite(Session_Expires="20;refresher=uas"), min_se=10, default_expires=None).we_refresh
    # nothing asked: our default, refreshed by us when the caller cannot; none when we have no default
    assert negotiate_request(_invite(), min_se=90, default_expires=1800) == SessionTimer(1800, True, False)
    assert negotiate_request(_invite(), min_se=90, default_expires=None) is None
    assert timer.refresh_after() == 1800 - 32 and SessionTimer(20, True, True).refresh_after() == 10


def test_refreshes_are_answered_and_a_missing_refresh_ends_the_call() -> None:
    async def scenario() -> None:
        calls: list[Call] = []
        server = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="bot", session_min_se=2),
                       on_incoming=answering([], calls))
        client = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="1", session_expires=3, session_min_se=2))
        try:
            await server.start()
            await client.start()
            call = await client.invite(f"sip:bot@127.0.0.1:{server.local_port}", from_user="1")
            assert call.timer is not None and call.timer.we_refresh and call.timer.expires == 3
            await until(lambda: calls and calls[0].refreshes_received >= 3, 20, "no refreshes answered")
            refreshed = (call.refreshes_sent, calls[0].refreshes_received, calls[0].state)
            call.timer = None  # the caller stops refreshing (its timer task ends with the loop condition)
            stopped = time.monotonic()
            await asyncio.wait_for(calls[0].ended.wait(), 10)
            waited = time.monotonic() - stopped
            await asyncio.wait_for(call.ended.wait(), 10)
        finally:
            await client.stop()
            await server.stop()
        assert refreshed[0] >= 3 and refreshed[1] >= 3 and refreshed[2] == "confirmed"
        assert calls[0].end_reason == "session expired" and call.end_reason == "remote hangup"
        assert waited < 3  # ended by the waiting side's own timer (expires - expires/3), not by media

    run(scenario, timeout=60)


def test_every_close_reason_of_the_gateway_is_one_the_hub_accepts() -> None:
    assert set(CLOSE_REASONS) <= set(HUB_CLOSE_REASONS)
    assert {c for c in CLOSE_FOR.values() if c} <= set(CLOSE_REASONS)


@pytest.mark.voice
def test_a_call_whose_session_expires_is_a_dropped_line_not_a_hang_up(
        gateway_settings: Settings, asr_engine: AsrEngine) -> None:
    gateway_settings.sip_session_min_se = 2
    gateway_settings.notice = "您好，本通话将被录音。"

    async def scenario() -> None:
        hub = ScriptedHub([lambda _t: reply("请讲。")])
        await hub.start()
        gateway_settings.api_url = hub.url
        gateway = Gateway(gateway_settings, asr=asr_engine)
        caller = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="13805150000", session_expires=3,
                                  session_min_se=2))
        try:
            await gateway.start()
            await caller.start()
            call = await caller.invite(f"sip:12345@127.0.0.1:{gateway.ua.local_port}", from_user="13805150000")
            assert call.timer is not None and call.timer.we_refresh and call.timer.expires == 3
            await until(lambda: call.refreshes_sent >= 1, 10, "the caller never refreshed")
            call.timer = None  # the caller's side stops refreshing: a proxy or NAT lost the dialog
            await asyncio.wait_for(call.ended.wait(), 10)
            await hub.wait_for(lambda: bool(hub.closes), 30)
            await until(lambda: gateway.records, 30, "the gateway never recorded the call")
        finally:
            await caller.stop()
            await gateway.stop()
            await hub.stop()
        record = gateway.records[0]
        assert call.end_reason == "remote hangup"  # the gateway's BYE, sent by its session timer
        assert record.end_reason == "session_expired" and record.closed_with == "line_dropped"
        assert hub.closes == [{"conversation_id": record.conversation_id, "reason": "line_dropped"}]
        assert not hub.rejected

    run(scenario, timeout=120)


@pytest.mark.voice
def test_a_long_call_through_a_session_timing_proxy_stays_up_when_refreshed(tmp_path: Path) -> None:
    seconds = 10  # short, so the test waits little: 2.5 intervals are still 5 refreshes

    async def scenario() -> None:
        kam = Kamailio(tmp_path / "kamailio", password="pw", session_timer=seconds)
        kam.start()
        (tmp_path / "caller.wav").write_bytes(wav_bytes(np.concatenate([tone(120.0, 300.0)])))
        kept: list[Call] = []
        dropped: list[Call] = []
        behind = {"registrar": kam.uri, "auth_password": "pw", "session_min_se": 10}
        refresher = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="bot", **behind),  # type: ignore[arg-type]
                          on_incoming=answering([], kept))

        async def forgetful(call: Call) -> None:
            call.timer = None  # this one never refreshes: the proxy must take the call down
            dropped.append(call)
            await call.ended.wait()

        silent = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="mute", **behind),  # type: ignore[arg-type]
                       on_incoming=forgetful)
        phones = [Phone(tmp_path / f"phone{i}", user=f"1380515000{i}", source_wav=tmp_path / "caller.wav")
                  for i in (1, 2)]
        try:
            await refresher.start()
            await silent.start()
            await asyncio.wait_for(asyncio.gather(refresher.registered.wait(), silent.registered.wait()), 20)
            phones[0].start(f"sip:bot@127.0.0.1:{kam.port}")
            phones[1].start(f"sip:mute@127.0.0.1:{kam.port}")
            await until(lambda: kept and dropped, 30, "the calls never arrived")
            started = time.monotonic()
            await asyncio.wait_for(dropped[0].ended.wait(), seconds + 30)
            dropped_after = time.monotonic() - started
            while time.monotonic() - started < 2.5 * seconds:
                assert kept[0].state == "confirmed", f"the refreshed call ended: {kept[0].end_reason}"
                await asyncio.sleep(0.5)
            await kept[0].hangup()
            await phones[0].wait_log("terminated", 30)
        finally:
            for phone in phones:
                phone.stop()
            await refresher.stop()
            await silent.stop()
            kam.stop()
        invite = kept[0].invite
        assert invite is not None and (invite.get("Session-Expires") or "").startswith(str(seconds))
        assert kept[0].timer is not None and kept[0].timer.we_refresh  # baresip cannot refresh
        assert kept[0].refreshes_sent >= 4 and kept[0].end_reason == "local hangup"
        assert dropped[0].end_reason == "remote hangup" and dropped_after < seconds + 15
        log = kam.log()
        assert "in-dialog INVITE via record-route" in log or "in-dialog UPDATE via record-route" in log
        assert "Call established" in phones[0].log() and "terminated" in phones[1].log()

    run(scenario, timeout=200)
