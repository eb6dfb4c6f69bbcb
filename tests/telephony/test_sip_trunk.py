"""SIP a carrier trunk accepts: Kamailio challenges the gateway's outgoing INVITE (407 digest, as
every trunk does), the UA answers it and the call reaches baresip registered behind Kamailio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from telephony.audio import wav_bytes
from telephony.sip.ua import SipError, SipUA, UASettings
from tests.telephony.conftest import run
from tests.telephony.peers import Kamailio
from tests.telephony.phones import Phone
from tests.telephony.test_call_baresip import until

pytestmark = pytest.mark.voice


def test_outgoing_invite_answers_the_trunks_digest_challenge(tmp_path: Path) -> None:
    async def scenario() -> None:
        kam = Kamailio(tmp_path / "kamailio", password="trunk-pw", challenge_invites=True)
        kam.start()
        (tmp_path / "silence.wav").write_bytes(wav_bytes(np.zeros(8000 * 60, dtype=np.int16)))
        phone = Phone(tmp_path / "phone", user="1001", source_wav=tmp_path / "silence.wav", registrar=kam,
                      auto_answer=True)
        good = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, auth_username="12345", auth_password="trunk-pw"))
        bad = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0))  # no credentials: the trunk refuses
        try:
            phone.start()
            await until(lambda: "authenticated REGISTER sip:1001@" in kam.log(), 30, "the phone never registered")
            await good.start()
            await bad.start()
            with pytest.raises(SipError) as refused:
                await bad.invite(f"sip:1001@127.0.0.1:{kam.port}", from_user="12345")
            call = await good.invite(f"sip:1001@127.0.0.1:{kam.port}", from_user="12345")
            await phone.wait_log("Call established", 30)
            await call.hangup()
            await phone.wait_log("closed", 30)
        finally:
            await good.stop()
            await bad.stop()
            phone.stop()
            kam.stop()
        assert refused.value.status == 407
        assert "challenging INVITE" in kam.log() and "authenticated INVITE from sip:12345@" in kam.log()
        assert call.end_reason == "local hangup"

    run(scenario, timeout=120)


def test_options_keepalive_notices_the_trunk_going_away(tmp_path: Path) -> None:
    async def scenario() -> tuple[bool | None, bool | None]:
        kam = Kamailio(tmp_path / "kamailio", password="trunk-pw")
        kam.start()
        ua = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, keepalive_target=kam.uri, keepalive_seconds=0.5))
        try:
            await ua.start()
            await until(lambda: ua.trunk_alive is True, 20, "the trunk never answered OPTIONS")
            up = ua.trunk_alive
            kam.stop()
            await until(lambda: ua.trunk_alive is False, 30, "a silent trunk went unnoticed")
            return up, ua.trunk_alive
        finally:
            await ua.stop()
            kam.stop()

    assert run(scenario, timeout=90) == (True, False)


def test_registration_is_refreshed_before_it_expires(tmp_path: Path) -> None:
    async def scenario() -> None:
        kam = Kamailio(tmp_path / "kamailio", password="pbx-pw", min_expires=1)
        kam.start()
        (tmp_path / "silence.wav").write_bytes(wav_bytes(np.zeros(8000 * 60, dtype=np.int16)))
        answered: list[object] = []

        async def on_call(call: object) -> None:
            answered.append(call)

        ua = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="bot", registrar=kam.uri,
                              auth_password="pbx-pw", register_expires=3), on_incoming=on_call)  # type: ignore[arg-type]
        phone = Phone(tmp_path / "phone", user="13805150000", source_wav=tmp_path / "silence.wav")
        try:
            await ua.start()
            await until(lambda: kam.log().count("authenticated REGISTER sip:bot@") >= 3, 30,
                        "the registration was not refreshed")
            # three times the granted 3 s later the binding still routes a call to the gateway
            phone.start(f"sip:bot@127.0.0.1:{kam.port}")
            await until(lambda: answered, 30, "a call to the registered AOR never arrived")
        finally:
            phone.stop()
            await ua.stop()
            kam.stop()
        log = kam.log()
        assert log.count("challenging REGISTER from sip:bot@") >= 3  # each refresh answers a fresh challenge
        assert "routing INVITE for sip:bot@127.0.0.1" in log

    run(scenario, timeout=90)
