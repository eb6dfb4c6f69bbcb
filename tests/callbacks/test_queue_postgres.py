"""The queue on a real PostgreSQL (Debian's, started in a temp dir): SKIP LOCKED claims and leases."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from api.callbacks import campaigns, queue
from api.callbacks.models import CallbackJob
from api.core import db as core_db
from api.core.settings import get_settings
from tests.callbacks.conftest import make_ticket

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    pg = _pg_bin()
    if not (pg / "initdb").exists():
        pytest.fail(f"PostgreSQL is not installed ({pg}): apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="minsheng-cb-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    subprocess.run(_as_postgres(str(pg / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                                "--locale=C.UTF-8"), check=True, capture_output=True)
    subprocess.run(_as_postgres(str(pg / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "-o",
                                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres(str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg(pg_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"cb_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    monkeypatch.setenv("MINSHENG_DATABASE_URL", f"{pg_server}/{name}")
    monkeypatch.setenv("MINSHENG_CALLBACK_WINDOWS", "00:00-24:00")
    monkeypatch.setenv("MINSHENG_CALLBACK_CALL_ON_REST_DAYS", "true")
    get_settings.cache_clear()
    get_settings.cache_clear()
    core_db.reset_engine()
    core_db.run_migrations()
    yield name
    core_db.reset_engine()
    get_settings.cache_clear()
    get_settings.cache_clear()


def test_concurrent_workers_share_nothing_on_postgres(pg: str) -> None:
    with core_db.session_factory()() as s:
        for i in range(16):
            make_ticket(s, phone=f"1360515{i:04d}")
        campaigns.start_campaign(db_session=s, actor="zhangli", now=NOW)
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        with core_db.session_factory()() as s:
            while (claim := queue.claim(db_session=s, worker=name, now=NOW)) is not None:
                with lock:
                    claimed.append(claim.job.id)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(claimed) == 16 and len(set(claimed)) == 16


def test_a_locked_row_is_skipped_not_waited_for(pg: str) -> None:
    with core_db.session_factory()() as s:
        make_ticket(s, phone="13605150001")
        make_ticket(s, phone="13605150002")
        campaigns.start_campaign(db_session=s, actor="zhangli", now=NOW)
        first_id = s.scalar(select(CallbackJob.id).order_by(CallbackJob.id))
    holder = core_db.session_factory()()
    try:
        # Another worker is in the middle of claiming the first job (row lock held, not committed).
        holder.execute(select(CallbackJob).where(CallbackJob.id == first_id).with_for_update())
        with core_db.session_factory()() as s:
            claim = queue.claim(db_session=s, worker="w2", now=NOW)
            assert claim is not None and claim.job.id != first_id  # skipped the locked row at once
    finally:
        holder.rollback()
        holder.close()


def test_lease_expiry_on_postgres(pg: str) -> None:
    with core_db.session_factory()() as s:
        make_ticket(s, phone="13605150003")
        campaigns.start_campaign(db_session=s, actor="zhangli", now=NOW)
        claim = queue.claim(db_session=s, worker="w1", now=NOW, lease_seconds=30)
        assert claim is not None
        assert queue.claim(db_session=s, worker="w2", now=NOW + timedelta(seconds=29)) is None
        again = queue.claim(db_session=s, worker="w2", now=NOW + timedelta(seconds=31))
        assert again is not None and again.job.id == claim.job.id
