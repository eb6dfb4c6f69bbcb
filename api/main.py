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

from api.callbacks.routes import pages as callback_pages
from api.callbacks.routes import router as callbacks_router
from api.console.routes import pages as console_pages
from api.console.routes import router as console_router
from api.conversations import rasa_client
from api.conversations.routes import retry_pending_forever
from api.conversations.routes import router as conversations_router
from api.conversations.routes import ws_router as chat_socket_router
from api.conversations.voice_routes import router as voice_router
from api.core.db import run_migrations, session_factory
from api.core.settings import get_settings
from api.knowledge.routes import router as knowledge_router
from api.routing import get_classifier
from api.scheduler.startup import back_office_routers, start_back_office, stop_back_office
from api.tickets.citizen_routes import router as citizen_tickets_router
from api.tickets.routes import router as tickets_router

STATIC = Path(__file__).parent / "conversations" / "static"
log = logging.getLogger("minsheng")


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    run_migrations()
    scheduler = start_back_office()
    # The classifier trains from its TSV on first use (~2 s): do it now, off the request path.
    threading.Thread(target=get_classifier, name="classifier-warmup", daemon=True).start()
    retry = asyncio.create_task(retry_pending_forever(settings.pending_retry_seconds))
    log.info("Minsheng API ready (env=%s, db=%s)", settings.env, settings.database_url.split("://")[0])
    yield
    retry.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await retry
    await stop_back_office(scheduler)


def _field_errors(exc: RequestValidationError) -> list[dict]:
    return [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


def create_app() -> FastAPI:
    app = FastAPI(
        title="Minsheng 民声 12345 API",
        version="0.1.0",
        description="Conversation hub and ticket (工单) back office for 12345 government service hotlines.",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
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

    app.include_router(conversations_router)
    app.include_router(chat_socket_router)
    app.include_router(citizen_tickets_router)
    app.include_router(tickets_router)
    app.include_router(knowledge_router)
    for router in back_office_routers():
        app.include_router(router)
    app.include_router(console_router)
    app.include_router(console_pages)
    app.include_router(callbacks_router)
    app.include_router(callback_pages)
    # issue-17: voice line events
    app.include_router(voice_router)

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

    app.mount("/static/chat", StaticFiles(directory=STATIC), name="chat-static")
    app.mount("/static/callbacks", StaticFiles(directory=Path(__file__).parent / "callbacks" / "static"),
              name="callbacks-static")
    app.mount("/static/console", StaticFiles(directory=Path(__file__).parent / "console" / "static"),
              name="console-static")
    return app


app = create_app()
