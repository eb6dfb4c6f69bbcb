"""SRTP with SDES key exchange (RFC 4568 `a=crypto`, RFC 3711), on libsrtp via pylibsrtp.

Keys travel in the SDP, so SDES protects media only as well as the signalling is protected:
trunks that offer it run SIP over TLS. Suites are the two every SDES peer has; MKI and key
lifetimes other than the default are refused (the offerer's next crypto line is tried).
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass

import pylibsrtp

log = logging.getLogger(__name__)

SUITES = {
    "AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
}
KEY_SALT_BYTES = 30  # 128-bit master key + 112-bit master salt


class CryptoError(ValueError):
    pass


@dataclass(frozen=True)
class Crypto:
    """One `a=crypto:<tag> <suite> inline:<key||salt>` attribute."""

    tag: int
    suite: str
    key: bytes

    @classmethod
    def parse(cls, value: str) -> Crypto:
        """`value` is what follows `a=crypto:`; raises CryptoError for what we cannot use."""
        parts = value.split()
        if len(parts) < 3 or not parts[0].isdigit():
            raise CryptoError(f"bad crypto attribute {value!r}")
        tag, suite, params = int(parts[0]), parts[1].upper(), parts[2]
        if suite not in SUITES:
            raise CryptoError(f"unsupported suite {suite}")
        if len(parts) > 3:
            raise CryptoError("session parameters are not supported")
        if not params.startswith("inline:"):
            raise CryptoError("only inline keys are defined")
        key_b64, *rest = params[7:].split("|")
        if any(":" in p for p in rest):
            raise CryptoError("MKI is not supported")
        try:
            key = base64.b64decode(key_b64 + "=" * (-len(key_b64) % 4), validate=True)
        except ValueError as exc:
            raise CryptoError("key is not base64") from exc
        if len(key) != KEY_SALT_BYTES:
            raise CryptoError(f"key and salt must be {KEY_SALT_BYTES} bytes")
        return cls(tag, suite, key)

    def __str__(self) -> str:
        return f"{self.tag} {self.suite} inline:{base64.b64encode(self.key).decode()}"

    @classmethod
    def generate(cls, *, tag: int = 1, suite: str = "AES_CM_128_HMAC_SHA1_80") -> Crypto:
        return cls(tag, suite, secrets.token_bytes(KEY_SALT_BYTES))


def choose(offered: list[str]) -> tuple[Crypto, Crypto] | None:
    """(their crypto, ours) for the first offered line we can use, in the offerer's order."""
    for value in offered:
        try:
            theirs = Crypto.parse(value)
        except CryptoError as exc:
            log.info("skipping crypto offer %r: %s", value[:60], exc)
            continue
        return theirs, Crypto.generate(tag=theirs.tag, suite=theirs.suite)
    return None


class SrtpContext:
    """Protects what we send with our key and unprotects what arrives with theirs."""

    def __init__(self, *, local: Crypto, remote: Crypto) -> None:
        self.local = local
        self.remote = remote
        self._tx = pylibsrtp.Session(pylibsrtp.Policy(
            key=local.key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=SUITES[local.suite]))
        self._rx = pylibsrtp.Session(pylibsrtp.Policy(
            key=remote.key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND, srtp_profile=SUITES[remote.suite]))
        self.rejected = 0  # packets that failed authentication (or replays)

    def protect(self, packet: bytes) -> bytes:
        return self._tx.protect(packet)

    def unprotect(self, packet: bytes) -> bytes | None:
        try:
            return self._rx.unprotect(packet)
        except pylibsrtp.Error:
            self.rejected += 1
            return None

    def rekeyed(self, remote: Crypto) -> SrtpContext:
        """A re-INVITE that brings a new key from the peer (ours stays)."""
        return self if remote == self.remote else SrtpContext(local=self.local, remote=remote)


__all__ = ["Crypto", "CryptoError", "SUITES", "SrtpContext", "choose"]
