"""Session timers (RFC 4028): Session-Expires / Min-SE negotiation and who refreshes.

A proxy or trunk that keeps dialog state drops a call nobody refreshed; so the side named
`refresher` sends a re-INVITE or UPDATE every half interval, and the other side ends the call
when no refresh came by `expires - min(32, expires/3)` (§10). "uac"/"uas" in `refresher` are
relative to the transaction carrying the header, which is why the helpers take `incoming`.
"""

from __future__ import annotations

from dataclasses import dataclass

from telephony.sip.message import SipMessage, parse_params

RFC_MIN_SE = 90  # §4: nobody may ask for less; tests configure lower on both sides


@dataclass
class SessionTimer:
    expires: int
    we_refresh: bool
    peer_supports: bool  # the peer said Supported: timer (so a 2xx may Require it)

    def refresh_after(self) -> float:
        """Seconds after the last refresh at which we refresh, or give up waiting for theirs."""
        return self.expires / 2 if self.we_refresh else self.expires - min(32.0, self.expires / 3)

    def header(self, *, our_request: bool) -> str:
        """Session-Expires as we send it: `refresher` names the refreshing side as this
        transaction's uac (whoever sends the request) or uas."""
        sender_refreshes = self.we_refresh if our_request else not self.we_refresh
        return f"{self.expires};refresher={'uac' if sender_refreshes else 'uas'}"


def supports_timer(msg: SipMessage) -> bool:
    tokens = {t.strip().lower() for h in ("Supported", "Require") for v in msg.get_all(h) for t in v.split(",")}
    return "timer" in tokens


def parse_session_expires(value: str) -> tuple[int, str | None]:
    head, _, rest = value.partition(";")
    if not head.strip().isdigit():
        raise ValueError(f"bad Session-Expires {value!r}")
    refresher = parse_params(rest).get("refresher")
    return int(head.strip()), refresher.lower() if refresher in ("uac", "uas", "UAC", "UAS") else None


def negotiate_request(req: SipMessage, *, min_se: int, default_expires: int | None) -> SessionTimer | int | None:
    """Our answer to an INVITE or UPDATE: the timer, a Min-SE to send back with 422, or None (no timer).

    The request's sender is the transaction's uac: refresher=uac means the peer refreshes.
    """
    supported = supports_timer(req)
    floor = min_se
    if (req.get("Min-SE") or "").split(";")[0].strip().isdigit():
        floor = max(floor, int((req.get("Min-SE") or "0").split(";")[0]))
    value = req.get("Session-Expires")
    refresher: str | None = None
    if value:
        expires, refresher = parse_session_expires(value)
        if expires < min_se:
            if supported:
                return min_se  # 422: ask again with at least our Min-SE
            expires = min_se  # a peer without timer support cannot retry: stretch it instead
    elif default_expires:
        expires = max(default_expires, floor)
    else:
        return None
    if refresher is None:
        refresher = "uac" if supported else "uas"  # a peer without timer support cannot refresh
    return SessionTimer(expires=expires, we_refresh=refresher == "uas", peer_supports=supported)


def from_response(resp: SipMessage) -> SessionTimer | None:
    """The timer a 2xx to our INVITE/UPDATE set (we are the transaction's uac)."""
    value = resp.get("Session-Expires")
    if not value:
        return None
    expires, refresher = parse_session_expires(value)
    return SessionTimer(expires=expires, we_refresh=refresher != "uas", peer_supports=True)


def response_headers(timer: SessionTimer) -> dict[str, str]:
    headers = {"Session-Expires": timer.header(our_request=False), "Supported": "timer"}
    if timer.peer_supports:
        headers["Require"] = "timer"
    return headers


__all__ = ["RFC_MIN_SE", "SessionTimer", "from_response", "negotiate_request", "parse_session_expires",
           "response_headers", "supports_timer"]
