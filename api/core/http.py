"""HTTP hardening shared by every route: security headers, a body size limit, secret-free logs.

Pure ASGI middleware (no BaseHTTPMiddleware): it sees every response, including static files,
errors and the OpenAPI pages, and does not buffer streamed bodies.
"""

from __future__ import annotations

import logging
import re

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core.settings import get_settings

# No inline script or style anywhere, and nothing from another host: every page, /docs (Swagger UI,
# vendored under core/static/vendor) included, loads its JS and CSS from /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
BASE_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), geolocation=(), microphone=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _is_tls(scope: Scope) -> bool:
    if scope.get("scheme") in ("https", "wss"):
        return True
    if get_settings().trust_forwarded_proto:
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-proto":
                return value.split(b",")[0].strip().lower() == b"https"
    return False


class SecurityHeaders:
    """CSP without inline script, frame protection, nosniff; HSTS when the request came over TLS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        extra = [(b"content-security-policy", CSP.encode()), *BASE_HEADERS]
        hsts = get_settings().hsts_seconds
        if hsts > 0 and _is_tls(scope):
            extra.append((b"strict-transport-security", f"max-age={hsts}; includeSubDomains".encode()))
        if path.startswith("/api/"):
            extra.append((b"cache-control", b"no-store"))  # transcripts and tickets never sit in caches

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """413 for bodies over MINSHENG_MAX_BODY_BYTES, by Content-Length or while a chunked body streams in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = get_settings().max_body_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _too_large(send, limit)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"detail":"请求内容太大：最多{limit}字节。"}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"content-security-policy", CSP.encode()), *BASE_HEADERS]})
    await send({"type": "http.response.body", "body": body})


# Tokens, tickets and keys in query strings or headers, as they would appear in any log line.
_SECRET_PATTERNS = [
    (re.compile(r"(?i)\b((?:access_|refresh_|auth_)?token|ticket|api_key|password|secret)=([^&\s\"']+)"), r"\1=***"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 ***"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"), "***jwt***"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message with secrets masked (uvicorn's access log prints full URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "httpx", "httpcore", "minsheng", "api", "")


def install_log_redaction() -> None:
    redactor = RedactSecrets()
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(redactor)
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(redactor)
