"""Password hashing (bcrypt) and access tokens (JWT, HS256 with the settings' secret key)."""

from __future__ import annotations

from datetime import timedelta

import bcrypt
import jwt

from api.core.db import utcnow
from api.core.settings import get_settings

ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    # bcrypt only reads 72 bytes; longer passphrases are cut the same way on check.
    from api.tickets.config import backoffice_settings

    rounds = max(4, min(backoffice_settings().bcrypt_rounds, 16))
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(rounds)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:72], password_hash.encode())
    except ValueError:
        return False


def create_access_token(*, username: str, role: str) -> tuple[str, int]:
    settings = get_settings()
    seconds = settings.access_token_minutes * 60
    now = utcnow()
    payload = {"sub": username, "role": role, "iat": now, "exp": now + timedelta(seconds=seconds)}
    return jwt.encode(payload, settings.secret_key, algorithm=ALGORITHM), seconds


def decode_access_token(token: str) -> dict | None:
    try:
        return jwt.decode(token, get_settings().secret_key, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError:
        return None
