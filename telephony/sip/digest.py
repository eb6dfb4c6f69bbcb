"""HTTP digest authentication for SIP (RFC 2617 / RFC 3261 §22), MD5 with optional qop=auth."""

from __future__ import annotations

import hashlib
import secrets

from telephony.sip.message import parse_params


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - SIP digest is MD5 by spec


def parse_challenge(header: str) -> dict[str, str]:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError(f"unsupported auth scheme {scheme}")
    # Parameters are comma separated; quoted values may contain commas (qop="auth,auth-int").
    params: dict[str, str] = {}
    key, buf, quoted = "", "", False
    for ch in rest + ",":
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            k, _, v = buf.partition("=")
            if k.strip():
                params[k.strip().lower()] = v.strip().strip('"')
            buf = ""
            continue
        buf += ch
    del key
    return params


def authorization(
    *, challenge: dict[str, str], method: str, uri: str, username: str, password: str,
    cnonce: str | None = None, nc: int = 1,
) -> str:
    realm = challenge.get("realm", "")
    nonce = challenge.get("nonce", "")
    algorithm = challenge.get("algorithm", "MD5")
    if algorithm.upper() not in ("MD5", ""):
        raise ValueError(f"unsupported digest algorithm {algorithm}")
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    qops = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
    fields = [
        f'username="{username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"',
    ]
    if "auth" in qops:
        cnonce = cnonce or secrets.token_hex(8)
        ncs = f"{nc:08x}"
        response = _md5(f"{ha1}:{nonce}:{ncs}:{cnonce}:auth:{ha2}")
        fields += [f'response="{response}"', "qop=auth", f"nc={ncs}", f'cnonce="{cnonce}"']
    else:
        response = _md5(f"{ha1}:{nonce}:{ha2}")
        fields.append(f'response="{response}"')
    fields.append("algorithm=MD5")
    if "opaque" in challenge:
        fields.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(fields)


__all__ = ["authorization", "parse_challenge", "parse_params"]
