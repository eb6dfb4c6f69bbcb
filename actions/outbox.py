"""Durable outbox for tickets the API could not take when the citizen confirmed.

A row is written to SQLite before the citizen is told "已经记下了"; a background thread retries
every MINSHENG_OUTBOX_RETRY_SECONDS with the same Idempotency-Key and notify_conversation=true,
so the API posts the ticket number into the conversation itself once it is back. Rows survive a
restart of the action server (the worker starts at import when the file has pending rows).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actions.api_client import ApiRejected, ApiUnavailable, FiledTicket, file_ticket_sync

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    idempotency_key TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    ticket_no TEXT,
    state TEXT NOT NULL DEFAULT 'pending'  -- pending | filed | rejected
)
"""


def outbox_path() -> Path:
    return Path(os.environ.get("MINSHENG_OUTBOX_PATH", "var/outbox.sqlite3"))


def retry_seconds() -> float:
    try:
        return max(0.05, float(os.environ.get("MINSHENG_OUTBOX_RETRY_SECONDS", "5")))
    except ValueError:
        return 5.0


@dataclass(frozen=True)
class OutboxItem:
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    state: str
    ticket_no: str | None
    last_error: str | None


Filer = Callable[[Mapping[str, Any], str], FiledTicket]


class Outbox:
    def __init__(self, path: os.PathLike[str] | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def add(self, idempotency_key: str, payload: Mapping[str, Any]) -> None:
        """Queue a filing; adding the same key twice keeps one row (a double click)."""
        body = {**payload, "notify_conversation": True}
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO outbox (idempotency_key, payload, created_at) VALUES (?, ?, ?)",
                (idempotency_key, json.dumps(body, ensure_ascii=False), time.time()),
            )

    def items(self, state: str | None = None) -> list[OutboxItem]:
        query = "SELECT idempotency_key, payload, attempts, state, ticket_no, last_error FROM outbox"
        args: tuple = ()
        if state:
            query += " WHERE state = ?"
            args = (state,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created_at", args).fetchall()
        return [OutboxItem(r[0], json.loads(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def get(self, idempotency_key: str) -> OutboxItem | None:
        return next((i for i in self.items() if i.idempotency_key == idempotency_key), None)

    def pending_count(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0])

    def retry_once(self, filer: Filer = file_ticket_sync) -> int:
        """Try every pending row once; return how many were filed."""
        filed = 0
        for item in self.items("pending"):
            try:
                result = filer(item.payload, item.idempotency_key)
            except ApiUnavailable as exc:
                self._mark(item.idempotency_key, "pending", error=str(exc))
                continue
            except ApiRejected as exc:
                # Retrying cannot help; keep the row (nothing is deleted) for staff to see.
                logger.error("outbox: API rejected %s: %s", item.idempotency_key, exc)
                self._mark(item.idempotency_key, "rejected", error=str(exc))
                continue
            self._mark(item.idempotency_key, "filed", ticket_no=result.ticket_no)
            logger.info("outbox: filed %s as %s", item.idempotency_key, result.ticket_no)
            filed += 1
        return filed

    def _mark(self, key: str, state: str, *, error: str | None = None, ticket_no: str | None = None) -> None:
        with self._lock, self._connect() as db:
            db.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, "
                "ticket_no = COALESCE(?, ticket_no) WHERE idempotency_key = ?",
                (state, error, ticket_no, key),
            )


class OutboxWorker(threading.Thread):
    """Daemon thread: retry pending rows every `interval` seconds until stopped."""

    def __init__(self, outbox: Outbox, interval: float, filer: Filer = file_ticket_sync) -> None:
        super().__init__(name="minsheng-outbox", daemon=True)
        self.outbox = outbox
        self.interval = interval
        self.filer = filer
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.outbox.retry_once(self.filer)
            except Exception:  # noqa: BLE001 - the worker must outlive any single failure
                logger.exception("outbox: retry round failed")

    def stop(self) -> None:
        self._stop_event.set()


_default: Outbox | None = None
_worker: OutboxWorker | None = None
_guard = threading.Lock()


def default_outbox() -> Outbox:
    global _default
    with _guard:
        if _default is None or _default.path != outbox_path():
            _default = Outbox(outbox_path())
        return _default


def ensure_worker() -> OutboxWorker:
    """Start the process-wide retry thread once."""
    global _worker
    outbox = default_outbox()
    with _guard:
        if _worker is None or not _worker.is_alive() or _worker.outbox is not outbox:
            _worker = OutboxWorker(outbox, retry_seconds())
            _worker.start()
        return _worker


def start_if_pending() -> None:
    """At action-server start: resume retrying what an earlier process queued."""
    if outbox_path().exists() and default_outbox().pending_count():
        ensure_worker()
