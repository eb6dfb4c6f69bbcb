"""Handing a live call to an agent's SIP extension: blind transfer by REFER, or a bridge.

REFER (RFC 3515): the gateway asks the caller's side to call the agent itself (Refer-To, with
Referred-By naming the gateway); the far end answers 202 and reports how its new call goes in
NOTIFYs whose body is a SIP status line (message/sipfrag). A final 2xx there means the caller now
talks to the agent and the gateway's leg can go.

Trunks and phones that cannot take REFER answer 4xx/5xx (or nothing); some accept it and then
fail to reach the agent (the extension lives on a network the trunk cannot see). For those the
gateway calls the agent itself and relays audio between the two legs until either hangs up (a
bridge): the gateway stays in the media path, which costs a little CPU and one RTP port pair.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import numpy as np

from telephony import audio
from telephony.sip.message import SipMessage
from telephony.sip.ua import Call, SipError

log = logging.getLogger(__name__)

MAX_RELAY_QUEUE = 0.2  # seconds of relayed audio a leg may queue before it is dropped (clock drift)


@dataclass
class ReferOutcome:
    ok: bool
    sip_status: int | None  # the REFER's own answer (202) or the sipfrag's final status
    detail: str


def sipfrag_status(body: bytes) -> int | None:
    """The status code in a message/sipfrag body ("SIP/2.0 180 Ringing" → 180)."""
    first = body.decode("utf-8", "replace").strip().splitlines()[:1]
    if not first:
        return None
    parts = first[0].split()
    if len(parts) >= 2 and parts[0].upper().startswith("SIP/") and parts[1].isdigit():
        return int(parts[1])
    return None


async def refer(call: Call, target: str, *, referred_by: str, timeout: float) -> ReferOutcome:
    """Ask the far end of `call` to call `target`; wait for its final NOTIFY up to `timeout`."""
    finals: asyncio.Queue[int] = asyncio.Queue()

    def on_notify(msg: SipMessage) -> None:
        if "refer" not in (msg.get("Event") or "").lower():
            return
        status = sipfrag_status(msg.body)
        log.info("REFER progress on %s: %s", call.call_id, status)
        if status is not None and status >= 200:
            finals.put_nowait(status)
        elif "terminated" in (msg.get("Subscription-State") or "").lower() and status is None:
            finals.put_nowait(0)

    call.on_notify = on_notify
    try:
        try:
            resp = await call.ua.send_in_dialog(
                call, "REFER", headers={"Refer-To": f"<{target}>", "Referred-By": referred_by}, timeout=8.0,
            )
        except (SipError, TimeoutError, OSError) as exc:
            return ReferOutcome(False, None, f"REFER 无应答：{exc}")
        if not resp.status or resp.status >= 300:
            return ReferOutcome(False, resp.status, f"对方不支持转接（REFER {resp.status} {resp.reason}）".strip())
        ended = asyncio.ensure_future(call.ended.wait())
        final = asyncio.ensure_future(finals.get())
        try:
            done, _ = await asyncio.wait({ended, final}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            if not final.done():
                final.cancel()
        if final in done:
            status = final.result()
            if 200 <= status < 300:
                return ReferOutcome(True, status, "对方已接通坐席分机")
            return ReferOutcome(False, status, f"对方呼叫坐席失败（{status}）")
        if ended in done:
            # Some phones hang up their first leg the moment the new one is answered, before the
            # NOTIFY reaches us: a BYE after an accepted REFER is the transfer going through.
            return ReferOutcome(True, resp.status, "对方已挂断原通话（转接完成）")
        return ReferOutcome(False, resp.status, f"转接在{timeout:.0f}秒内没有结果")
    finally:
        call.on_notify = None


class Bridge:
    """Relay audio (and RFC 2833 digits) between two answered legs until either hangs up."""

    def __init__(self, a: Call, b: Call) -> None:
        self.a, self.b = a, b
        self._pending: dict[int, np.ndarray] = {}
        self.ended_by: str = ""

    def start(self) -> None:
        for leg in (self.a, self.b):
            leg.rtp.flush()
        self.a.on_audio = lambda pcm: self._relay(self.b, pcm)
        self.b.on_audio = lambda pcm: self._relay(self.a, pcm)
        self.a.on_dtmf = lambda d: self._digit(self.b, d)
        self.b.on_dtmf = lambda d: self._digit(self.a, d)

    def _relay(self, to: Call, pcm: np.ndarray) -> None:
        if to.state == "ended":
            return
        # Re-cut into whole 20 ms frames: the sender pads a partial frame with silence.
        key = id(to)
        buf = np.concatenate([self._pending[key], pcm]) if key in self._pending else pcm
        n = audio.FRAME_SAMPLES
        usable = buf.size - buf.size % n
        self._pending[key] = buf[usable:]
        if usable:
            if to.rtp.queued_seconds > MAX_RELAY_QUEUE:
                to.rtp.flush()
            to.rtp.enqueue(buf[:usable])

    @staticmethod
    def _digit(to: Call, digit: str) -> None:
        if to.state != "ended" and to.telephone_event is not None:
            with contextlib.suppress(RuntimeError, OSError):
                to.rtp.send_dtmf(digit)

    async def wait(self) -> str:
        """Until one leg ends; then hang up the other. Returns "caller" or "agent"."""
        a = asyncio.ensure_future(self.a.ended.wait())
        b = asyncio.ensure_future(self.b.ended.wait())
        try:
            done, _ = await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            a.cancel()
            b.cancel()
        self.ended_by = "caller" if a in done else "agent"
        await asyncio.gather(self.a.hangup("bridge ended"), self.b.hangup("bridge ended"))
        return self.ended_by
