"""The Minsheng API: conversation hub, tickets, and the pages served to citizens and staff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from api.analytics.routes import pages as analytics_pages
from api.analytics.routes import router as analytics_router
from api.auth.routes import router as auth_router
from api.auth.throttle import login_throttle
from api.callbacks import chat as callback_chat
from api.callbacks.routes import pages as callback_pages
from api.callbacks.routes import router as callbacks_router
from api.console.routes import pages as console_pages
from api.console.routes import router as console_router
from api.conversations import rasa_client
from api.conversations.routes import reset_rate_limits, start_hub, stop_hub
from api.conversations.routes import router as conversations_router
from api.conversations.routes import ws_router as chat_socket_router
from api.conversations.voice_routes import router as voice_router
from api.core.db import run_migrations, session_factory
from api.core.http import BodyLimit, SecurityHeaders, install_log_redaction
from api.core.settings import get_settings
from api.knowledge.routes import router as knowledge_router
from api.office.routes import pages as office_pages
from api.office.routes import router as office_router
from api.online.routes import router as online_router
from api.open311.routes import router as open311_router
from api.org.routes import router as org_router
from api.privacy.policy import retention_policy
from api.privacy.routes import router as privacy_router
from api.privacy.service import purge_forever
from api.routing import get_classifier
from api.routing.classify_routes import router as classify_router
from api.routing.linkage_routes import router as linkage_router
from api.scheduler.startup import start_back_office, stop_back_office
from api.tickets.citizen_routes import router as citizen_tickets_router
from api.tickets.routes import notifications_router
from api.tickets.routes import router as tickets_router

# Every router of the API, in the order the OpenAPI page lists them (the one place they are registered).
ROUTERS = (
    conversations_router, chat_socket_router, citizen_tickets_router, tickets_router, knowledge_router,
    auth_router, org_router, classify_router, notifications_router, linkage_router, open311_router,
    console_router, console_pages, callbacks_router, callback_pages,
    privacy_router, analytics_router, analytics_pages, online_router, voice_router,
    office_router, office_pages,  # 工单工作台 (/office)
)
# Page assets: URL prefix -> the domain's static folder.
STATIC_FOLDERS = ("callbacks", "console", "analytics", "office")

STATIC = Path(__file__).parent / "conversations" / "static"
META_STATIC = Path(__file__).parent / "core" / "static"
log = logging.getLogger("minsheng")


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    reset_rate_limits()
    login_throttle.reset()  # the throttle belongs to this app's life (tests start many apps in one process)
    run_migrations()
    scheduler = start_back_office()
    # The classifier trains from its TSV on first use (~2 s): do it now, off the request path.
    threading.Thread(target=get_classifier, name="classifier-warmup", daemon=True).start()
    hub = await start_hub()  # issue 15: waiting words, and with Redis the live relay across instances
    purge_every = retention_policy().purge_interval_hours
    purge = asyncio.create_task(purge_forever(purge_every)) if purge_every > 0 else None
    log.info("Minsheng API ready (env=%s, db=%s)", settings.env, settings.database_url.split("://")[0])
    yield
    if purge is not None:
        purge.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await purge
    await stop_hub(hub)
    await stop_back_office(scheduler)


def _field_errors(exc: RequestValidationError) -> list[dict]:
    return [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


# What the 422 handler below answers, published in place of FastAPI's default (a list in `detail`).
VALIDATION_ERROR_SCHEMA = {
    "title": "HTTPValidationError",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "title": "Detail", "description": "第一处问题（中文）"},
        "errors": {"type": "array", "title": "Errors", "items": {
            "type": "object", "required": ["loc", "msg", "type"],
            "properties": {"loc": {"type": "array", "items": {"type": "string"}},
                           "msg": {"type": "string"}, "type": {"type": "string"}},
        }},
    },
}


def _publish_validation_schema(app: FastAPI) -> None:
    default_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = default_openapi()
            schema.setdefault("components", {}).setdefault("schemas", {})["HTTPValidationError"] = VALIDATION_ERROR_SCHEMA
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    # Keep the reason readable: the first problem in Mandarin, all of them for developers.
    errors = _field_errors(exc)
    first = errors[0] if errors else {"loc": [], "msg": ""}
    first_msg = first["msg"].removeprefix("Value error, ")
    where = ".".join(p for p in first["loc"] if p not in ("body",)) or "请求"
    return JSONResponse(
        status_code=422,
        content={"detail": f"请求内容不正确（{where}）：{first_msg}", "errors": errors},
    )

async def _database_busy(request: Request, exc: OperationalError) -> JSONResponse:
    # A lost connection or a lock timeout: retryable, and what was committed before is safe.
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.__class__.__name__)
    return JSONResponse(status_code=503, headers={"Retry-After": "5"},
                        content={"detail": "系统繁忙，请稍后重试；已经提交的内容不会丢失。"})

async def _number_too_large(request: Request, exc: OverflowError) -> JSONResponse:
    # A path or query number beyond what the database stores (e.g. /jobs/99999999999999999999).
    return JSONResponse(status_code=422, content={"detail": "请求中的数字太大，超出了有效范围。"})


def create_app() -> FastAPI:
    install_log_redaction()
    app = FastAPI(
        title="Minsheng 民声 12345 API",
        version="0.1.0",
        description="Conversation hub and ticket (工单) back office for 12345 government service hotlines.",
        lifespan=lifespan,
        docs_url=None,  # served below from files, so the page keeps the CSP (no inline script)
        redoc_url=None,
    )
    # issue-16 middleware (the last added wraps the others): headers on every response, then the body limit.
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    _publish_validation_schema(app)

    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(OperationalError, _database_busy)
    app.add_exception_handler(OverflowError, _number_too_large)

    for router in ROUTERS:
        app.include_router(router)
    # The hub hands a chat answer to a waiting 回访 before Rasa sees it.
    callback_chat.register()

    @app.get("/health", tags=["meta"])
    def health() -> dict:
        with session_factory()() as db_session:
            db_session.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok", "rasa": "up" if rasa_client.is_up() else "down"}

    @app.get("/chat", include_in_schema=False)
    def chat_page() -> FileResponse:
        return FileResponse(STATIC / "chat.html", media_type="text/html; charset=utf-8")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "chat.html", media_type="text/html; charset=utf-8")

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> FileResponse:
        return FileResponse(META_STATIC / "docs.html", media_type="text/html; charset=utf-8")

    app.mount("/static/meta", StaticFiles(directory=META_STATIC), name="meta-static")

    app.mount("/static/chat", StaticFiles(directory=STATIC), name="chat-static")
    for domain in STATIC_FOLDERS:
        app.mount(f"/static/{domain}", StaticFiles(directory=Path(__file__).parent / domain / "static"),
                  name=f"{domain}-static")
    return app


app = create_app()
