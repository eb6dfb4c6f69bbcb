"""Password hashing (bcrypt) and access tokens (JWT, HS256 with the settings' secret key)."""

from __future__ import annotations

import secrets
from datetime import timedelta

import bcrypt
import jwt

from api.core.db import utcnow
from api.core.settings import get_settings

ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    # bcrypt only reads 72 bytes; longer passphrases are cut the same way on check.
    rounds = max(4, min(get_settings().bcrypt_rounds, 16))
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(rounds)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:72], password_hash.encode())
    except ValueError:
        return False


ACCESS, REFRESH = "access", "refresh"


def _token(kind: str, username: str, role: str, version: int, seconds: int) -> str:
    now = utcnow()
    payload = {"sub": username, "role": role, "ver": version, "typ": kind, "iat": now,
               "exp": now + timedelta(seconds=seconds), "jti": secrets.token_hex(8)}
    return jwt.encode(payload, get_settings().secret_key, algorithm=ALGORITHM)


def create_access_token(*, username: str, role: str, version: int = 0) -> tuple[str, int]:
    seconds = get_settings().access_token_minutes * 60
    return _token(ACCESS, username, role, version, seconds), seconds


def create_refresh_token(*, username: str, role: str, version: int = 0) -> tuple[str, int]:
    seconds = get_settings().refresh_token_hours * 3600
    return _token(REFRESH, username, role, version, seconds), seconds


def _decode(token: str, kind: str) -> dict | None:
    try:
        claims = jwt.decode(token, get_settings().secret_key, algorithms=[ALGORITHM],
                            options={"require": ["sub", "exp", "ver", "typ"]})
    except jwt.PyJWTError:
        return None
    return claims if claims.get("typ") == kind else None


def decode_access_token(token: str) -> dict | None:
    """Claims of a valid access token; a refresh token is not an access token."""
    return _decode(token, ACCESS)


def decode_refresh_token(token: str) -> dict | None:
    return _decode(token, REFRESH)
