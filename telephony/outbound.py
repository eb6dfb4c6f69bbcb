"""Outbound dialling on top of the gateway's SIP UA: ring timeout with CANCEL, and what a SIP
failure means for a callback (no answer, busy, failed).

`SipUA.invite` places the call and waits for the final response; it has no ring timeout of its
own. `dial` adds one: when the callee's phone rings longer than `ring_timeout`, a CANCEL (RFC 3261
§9.1: same Request-URI, Call-ID, From, To and top Via branch as the INVITE) stops it, the INVITE
ends with 487, and the attempt counts as "no answer".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from telephony.sip.message import SipMessage
from telephony.sip.ua import Call, SipError, SipUA

log = logging.getLogger(__name__)

NO_ANSWER = frozenset({408, 480, 487})
BUSY = frozenset({486, 600})


@dataclass
class DialFailure:
    outcome: str  # "no_answer" | "busy" | "failed"
    sip_status: int | None
    detail: str


def outcome_for_status(status: int | None) -> str:
    if status in NO_ANSWER:
        return "no_answer"
    if status in BUSY:
        return "busy"
    return "failed"


def build_cancel(invite: SipMessage) -> SipMessage:
    cancel = SipMessage(method="CANCEL", uri=invite.uri)
    cancel.add("Via", invite.get("Via") or "")
    for route in invite.get_all("Route"):
        cancel.add("Route", route)
    cancel.add("Max-Forwards", "70")
    cancel.add("From", invite.get("From") or "")
    cancel.add("To", invite.get("To") or "")
    cancel.add("Call-ID", invite.call_id)
    cancel.add("CSeq", f"{invite.cseq[0]} CANCEL")
    return cancel


async def dial(
    ua: SipUA, target: str, *, from_user: str, ring_timeout: float = 30.0,
    on_audio: Callable[[np.ndarray], None] | None = None, on_dtmf: Callable[[str], None] | None = None,
) -> Call | DialFailure:
    """Place a call; the answered Call, or why it was not answered."""
    before = set(ua.calls)
    task = asyncio.ensure_future(ua.invite(target, from_user=from_user, on_audio=on_audio, on_dtmf=on_dtmf,
                                           timeout=ring_timeout + 40))
    done, _ = await asyncio.wait({task}, timeout=ring_timeout)
    if not done:
        pending = next((c for cid, c in list(ua.calls.items()) if cid not in before and c.direction == "out"), None)
        if pending is not None and pending.invite is not None:
            cancel = build_cancel(pending.invite)
            try:
                addr = await ua.resolve(target)
                await ua.request(cancel, addr, timeout=8)
            except (SipError, TimeoutError, OSError) as exc:
                log.warning("CANCEL for %s failed: %s", pending.call_id, exc)
        with contextlib.suppress(SipError, TimeoutError, OSError):
            await asyncio.wait_for(asyncio.shield(task), 40)
        if task.done() and not task.cancelled() and task.exception() is None:
            # Answered just as we cancelled (a 200 crossing the CANCEL): hang up politely.
            call = task.result()
            await call.hangup("answered after ring timeout")
        elif not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        return DialFailure("no_answer", 487, f"响铃{ring_timeout:.0f}秒无人接听")
    try:
        return task.result()
    except SipError as exc:
        return DialFailure(outcome_for_status(exc.status), exc.status, f"SIP {exc.status} {exc.reason}".strip())
    except TimeoutError:
        return DialFailure("failed", None, "呼叫无应答（网络或线路故障）")
    except OSError as exc:
        return DialFailure("failed", None, f"网络错误：{exc}")
