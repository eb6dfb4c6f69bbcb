"""SIP message parsing and building (the RFC 3261 subset a UDP user agent needs).

Tolerant on input the way real peers require: header names are case-insensitive and may use
compact forms, the colon may or may not be followed by a space (pyVoIP broke on exactly that
with Kamailio-relayed INVITEs), folded continuation lines, LF-only line ends.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

COMPACT = {
    "v": "Via", "f": "From", "t": "To", "i": "Call-ID", "m": "Contact", "l": "Content-Length",
    "c": "Content-Type", "k": "Supported", "s": "Subject", "e": "Content-Encoding",
    "o": "Event", "r": "Refer-To", "u": "Allow-Events", "b": "Referred-By", "x": "Session-Expires",
}
_CANONICAL = {
    name.lower(): name
    for name in (
        "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Content-Length", "Content-Type",
        "Max-Forwards", "Route", "Record-Route", "Allow", "Supported", "User-Agent", "Server",
        "Expires", "WWW-Authenticate", "Authorization", "Proxy-Authenticate",
        "Proxy-Authorization", "Accept", "Retry-After", "Warning", "Reason", "Event",
        "P-Asserted-Identity", "Remote-Party-ID", "Refer-To", "Referred-By", "Min-Expires",
        "Session-Expires", "Min-SE", "Require",
    )
}
# Headers whose comma-separated values are separate entries (RFC 3261 §7.3.1).
_MULTI = {"via", "route", "record-route", "contact"}

REASONS = {
    100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK", 202: "Accepted",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 407: "Proxy Authentication Required", 408: "Request Timeout",
    422: "Session Interval Too Small", 480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here", 491: "Request Pending",
    500: "Server Internal Error", 501: "Not Implemented", 503: "Service Unavailable",
}


class SipParseError(ValueError):
    pass


def canonical(name: str) -> str:
    low = name.strip().lower()
    if low in COMPACT:
        return COMPACT[low]
    return _CANONICAL.get(low, "-".join(p.capitalize() for p in low.split("-")))


def split_commas(value: str) -> list[str]:
    """Split a header value on commas outside quotes and <>."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for i, ch in enumerate(value):
        if ch == '"' and (i == 0 or value[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth = max(depth - 1, 0)
        elif ch == "," and not quoted and depth == 0:
            parts.append(value[start:i].strip())
            start = i + 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]


def parse_params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        key, _, val = item.partition("=")
        params[key.strip().lower()] = val.strip().strip('"')
    return params


@dataclass
class SipUri:
    scheme: str
    user: str | None
    host: str
    port: int | None
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> SipUri:
        m = re.match(r"^(sips?|tel):(?:([^@]*)@)?(\[[^\]]+\]|[^:;?>]+)(?::(\d+))?([^?>]*)", text.strip(), re.I)
        if not m:
            raise SipParseError(f"bad SIP URI: {text!r}")
        scheme, user, host, port, rest = m.groups()
        if user is not None and ":" in user:
            user = user.split(":", 1)[0]  # drop a password part
        return cls(scheme.lower(), user, host, int(port) if port else None, parse_params(rest))

    def __str__(self) -> str:
        out = f"{self.scheme}:"
        if self.user:
            out += f"{self.user}@"
        out += self.host
        if self.port:
            out += f":{self.port}"
        for k, v in self.params.items():
            out += f";{k}={v}" if v else f";{k}"
        return out


@dataclass
class NameAddr:
    display: str
    uri: str
    params: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        text = text.strip()
        m = re.match(r'^\s*(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^>]*)>(.*)$', text)
        if m:
            display = (m.group(1) if m.group(1) is not None else m.group(2) or "").strip()
            return cls(display, m.group(3).strip(), parse_params(m.group(4)))
        # addr-spec form: parameters after the URI belong to the header, not the URI
        uri, _, rest = text.partition(";")
        return cls("", uri.strip(), parse_params(rest))

    @property
    def tag(self) -> str | None:
        return self.params.get("tag") or None

    def __str__(self) -> str:
        out = f'"{self.display}" <{self.uri}>' if self.display else f"<{self.uri}>"
        for k, v in self.params.items():
            out += f";{k}={v}" if v else f";{k}"
        return out


@dataclass
class Via:
    transport: str
    host: str
    port: int | None
    params: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Via:
        m = re.match(r"^\s*SIP\s*/\s*2\.0\s*/\s*(\w+)\s+(\[[^\]]+\]|[^:;\s]+)(?::(\d+))?\s*(.*)$", text, re.I)
        if not m:
            raise SipParseError(f"bad Via: {text!r}")
        return cls(m.group(1).upper(), m.group(2), int(m.group(3)) if m.group(3) else None, parse_params(m.group(4)))


@dataclass
class SipMessage:
    method: str | None = None
    uri: str | None = None
    status: int | None = None
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return self.method is not None

    # -- parsing -------------------------------------------------------------------------
    @classmethod
    def parse(cls, data: bytes) -> SipMessage:
        sep = data.find(b"\r\n\r\n")
        if sep >= 0:
            head, body = data[:sep], data[sep + 4:]
        else:
            sep = data.find(b"\n\n")
            head, body = (data[:sep], data[sep + 2:]) if sep >= 0 else (data, b"")
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SipParseError("header is not UTF-8") from exc
        lines = text.replace("\r\n", "\n").split("\n")
        while lines and not lines[0].strip():
            lines.pop(0)  # keep-alive CRLFs before a message
        if not lines:
            raise SipParseError("empty message")
        msg = cls()
        start = lines[0].strip()
        if start.upper().startswith("SIP/2.0 "):
            parts = start.split(" ", 2)
            try:
                msg.status = int(parts[1])
            except (IndexError, ValueError) as exc:
                raise SipParseError(f"bad status line: {start!r}") from exc
            msg.reason = parts[2] if len(parts) > 2 else ""
        else:
            parts = start.split()
            if len(parts) != 3 or parts[2].upper() != "SIP/2.0":
                raise SipParseError(f"bad request line: {start!r}")
            msg.method, msg.uri = parts[0].upper(), parts[1]
        unfolded: list[str] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and unfolded:
                unfolded[-1] += " " + line.strip()
            elif line.strip():
                unfolded.append(line)
        for line in unfolded:
            name, colon, value = line.partition(":")
            if not colon:
                raise SipParseError(f"bad header line: {line!r}")
            cname = canonical(name)
            if cname.lower() in _MULTI:
                for item in split_commas(value):
                    msg.headers.append((cname, item))
            else:
                msg.headers.append((cname, value.strip()))
        length = msg.get("Content-Length")
        if length is not None:
            try:
                n = int(length)
            except ValueError as exc:
                raise SipParseError("bad Content-Length") from exc
            if n > len(body):
                raise SipParseError("truncated body")
            body = body[:n]
        msg.body = body
        for required in ("Via", "From", "To", "Call-ID", "CSeq"):
            if msg.get(required) is None:
                raise SipParseError(f"missing {required}")
        return msg

    # -- header access ---------------------------------------------------------------------
    def get(self, name: str) -> str | None:
        key = canonical(name).lower()
        for n, v in self.headers:
            if n.lower() == key:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        key = canonical(name).lower()
        return [v for n, v in self.headers if n.lower() == key]

    def set(self, name: str, value: str) -> None:
        key = canonical(name)
        self.remove(key)
        self.headers.append((key, value))

    def add(self, name: str, value: str) -> None:
        self.headers.append((canonical(name), value))

    def remove(self, name: str) -> None:
        key = canonical(name).lower()
        self.headers = [(n, v) for n, v in self.headers if n.lower() != key]

    @property
    def call_id(self) -> str:
        return self.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        raw = (self.get("CSeq") or "").split()
        if len(raw) != 2 or not raw[0].isdigit():
            raise SipParseError(f"bad CSeq: {self.get('CSeq')!r}")
        return int(raw[0]), raw[1].upper()

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self.get("From") or "")

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self.get("To") or "")

    @property
    def top_via(self) -> Via:
        return Via.parse(self.get("Via") or "")

    @property
    def branch(self) -> str:
        return self.top_via.params.get("branch", "")

    # -- building ---------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        if self.is_request:
            start = f"{self.method} {self.uri} SIP/2.0"
        else:
            start = f"SIP/2.0 {self.status} {self.reason or REASONS.get(self.status or 0, '')}"
        lines = [start]
        lines += [f"{n}: {v}" for n, v in self.headers if n.lower() != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body

    def response(self, status: int, reason: str | None = None, *, to_tag: str | None = None) -> SipMessage:
        """A response to this request, copying Via/From/To/Call-ID/CSeq as §8.2.6 requires."""
        resp = SipMessage(status=status, reason=reason or REASONS.get(status, ""))
        for name in ("Via", "Record-Route") if 100 < status < 300 else ("Via",):
            for v in self.get_all(name):
                resp.add(name, v)
        resp.add("From", self.get("From") or "")
        to = self.get("To") or ""
        if to_tag and status > 100 and NameAddr.parse(to).tag is None:
            to = f"{to};tag={to_tag}"
        resp.add("To", to)
        resp.add("Call-ID", self.call_id)
        resp.add("CSeq", self.get("CSeq") or "")
        return resp


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(10)}@{host}"
