"""Fixtures for 智能回访 tests: a fresh migrated SQLite database per test, tickets in 待回访, staff tokens."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from api.auth.security import create_access_token
from api.core import db as core_db
from api.core.settings import get_settings
from api.tickets.models import Ticket, TicketAssignment, TicketStatus

SERVICE_TOKEN = "callback-test-service-token"
_numbers = itertools.count(1)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'callbacks.sqlite3'}"
    monkeypatch.setenv("MINSHENG_DATABASE_URL", url)
    monkeypatch.setenv("MINSHENG_SERVICE_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("MINSHENG_RASA_URL", "http://127.0.0.1:9")  # no Rasa here: the hub stores and says so
    monkeypatch.setenv("MINSHENG_SCHEDULER_INTERVAL_SECONDS", "0")
    # Tests run at any hour: calls are allowed all day, every day, unless a test says otherwise.
    monkeypatch.setenv("MINSHENG_CALLBACK_WINDOWS", "00:00-24:00")
    monkeypatch.setenv("MINSHENG_CALLBACK_CALL_ON_REST_DAYS", "true")
    monkeypatch.setenv("MINSHENG_CALLBACK_RECORDINGS_DIR", str(tmp_path / "recordings"))
    get_settings.cache_clear()
    get_settings.cache_clear()
    core_db.reset_engine()
    core_db.run_migrations()
    yield url
    core_db.reset_engine()
    get_settings.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def db_session(database: str) -> Iterator[Session]:
    with core_db.session_factory()() as session:
        yield session


def make_ticket(db_session: Session, *, phone: str | None = "13805151234", name: str | None = "王建国",
                channel: str = "voice", conversation_id: str | None = None, confidential: bool = False,
                department: str = "cgj", description: str = "小区门口路灯不亮，晚上走路不安全。",
                created_at: datetime | None = None) -> Ticket:
    n = next(_numbers)
    created = created_at or datetime.now(UTC)
    ticket = Ticket(
        ticket_no=f"JH20261127-{n:04d}", status=TicketStatus.awaiting_callback, channel=channel,
        conversation_id=conversation_id, demand_type="complaint", description=description, citizen_name=name,
        phone=phone, confidential=confidential, lead_department=department, category_level1="城乡建设",
        category_level2="市政设施", category_level3="路灯", created_at=created, updated_at=created,
    )
    db_session.add(ticket)
    db_session.flush()
    db_session.add(TicketAssignment(ticket_id=ticket.id, department_id=department, role="lead", required=True,
                                    status="已答复", active=True, created_at=created))
    db_session.commit()
    return ticket


def staff_token(role: str = "agent", username: str = "zhangli") -> str:
    from api.auth.models import User
    from api.auth.security import hash_password

    with core_db.session_factory()() as session:
        if session.query(User).filter_by(username=username).first() is None:
            session.add(User(username=username, full_name="张丽", role=role, password_hash=hash_password("x-pass-123")))
            session.commit()
    return create_access_token(username=username, role=role)[0]


@contextmanager
def api_server(tmp_path: Path) -> Iterator[str]:
    """The API under uvicorn on the test's database (the `database` fixture's environment); yields its URL."""
    from tests.support.processes import ROOT, Service, free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.startswith("MINSHENG_")}
    env.update({"MINSHENG_SERVICE_TOKEN": SERVICE_TOKEN, "MINSHENG_SCHEDULER_INTERVAL_SECONDS": "0"})
    api = Service("api", [str(ROOT / ".venv/bin/uvicorn"), "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
                  env, tmp_path)
    try:
        api.wait_http(f"http://127.0.0.1:{port}/health", timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        api.stop()
