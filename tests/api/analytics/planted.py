"""The analytics page tests' shared ground: a migrated SQLite database with the county's back office, the
given staff and the planted burst history, and the API serving it under uvicorn."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from api.core import db as core_db
from api.core.settings import get_settings
from tests.api.analytics.test_analytics import _plant_burst_history
from tests.support.processes import ROOT, Service, free_port


def planted_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, name: str,
                     staff: list[dict[str, str]], password: str) -> tuple[str, dict[str, list[str]]]:
    """→ (database URL, the planted tickets' numbers by pattern). Staff are User fields without the hash."""
    from api.auth.models import User
    from api.auth.security import hash_password
    from api.scheduler.startup import prepare_back_office

    url = f"sqlite:///{tmp_path / name}"
    monkeypatch.setenv("MINSHENG_DATABASE_URL", url)
    get_settings.cache_clear()
    core_db.reset_engine()
    core_db.run_migrations()
    prepare_back_office()
    with core_db.session_factory()() as s:
        s.add_all(User(**person, password_hash=hash_password(password)) for person in staff)
        s.commit()
        found = _plant_burst_history(s)
    return url, found


@contextmanager
def served(url: str, tmp_path: Path) -> Iterator[str]:
    """The API under uvicorn on that database (no scheduler, no Rasa); yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.startswith("MINSHENG_")}
    env.update({"MINSHENG_DATABASE_URL": url, "MINSHENG_SCHEDULER_INTERVAL_SECONDS": "0", "MINSHENG_RASA_URL": "http://127.0.0.1:9"})
    api = Service("api", [str(ROOT / ".venv/bin/uvicorn"), "api.main:app", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path)
    try:
        api.wait_http(f"http://127.0.0.1:{port}/health", timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        api.stop()
