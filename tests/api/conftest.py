"""Back-office API fixtures: the real app (real Alembic migrations) on SQLite and on PostgreSQL.

`client` is parametrized over both databases; PostgreSQL runs are marked `postgres` and use a
throw-away Debian PostgreSQL 15 server started in a temp dir (initdb/pg_ctl as the postgres user).
Each test gets a fresh database copied from a migrated template.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))  # backoffice_helpers, whatever the import mode
from backoffice_helpers import PASSWORD, SERVICE, login  # noqa: E402


def _pg_bin() -> Path:
    """Debian's newest installed PostgreSQL (15 on bookworm), or MINSHENG_PG_BIN."""
    if os.environ.get("MINSHENG_PG_BIN"):
        return Path(os.environ["MINSHENG_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
_counter = itertools.count()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Start a private PostgreSQL on 127.0.0.1:<free port>; yields the server URL without a database."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL binaries not found in {PG_BIN}")
    root = Path(tempfile.mkdtemp(prefix="minsheng-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                                "--locale=C.UTF-8"), check=True, capture_output=True)
    subprocess.run(_as_postgres(
        str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
        "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        "start",
    ), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _reset(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    from api.core import db
    from api.core.settings import get_settings

    monkeypatch.setenv("MINSHENG_DATABASE_URL", url)
    monkeypatch.setenv("MINSHENG_SCHEDULER_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("MINSHENG_BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("MINSHENG_ENV", "development")
    monkeypatch.setenv("MINSHENG_RASA_URL", "http://127.0.0.1:9")  # no Rasa in these tests
    monkeypatch.setenv("MINSHENG_AUTO_DISPATCH", os.environ.get("TEST_AUTO_DISPATCH", "false"))
    get_settings.cache_clear()
    db.reset_engine()


_templates: dict[str, str] = {}


def _sqlite_db(monkeypatch, tmp_path: Path) -> str:
    if "sqlite" not in _templates:
        path = Path(tempfile.mkdtemp(prefix="minsheng-sqlite-")) / "template.sqlite3"
        _reset(monkeypatch, f"sqlite:///{path}")
        from api.core.db import reset_engine, run_migrations

        run_migrations()
        reset_engine()
        _templates["sqlite"] = str(path)
    target = tmp_path / "test.sqlite3"
    shutil.copy(_templates["sqlite"], target)
    return f"sqlite:///{target}"


def _pg_db(monkeypatch, server: str) -> str:
    import psycopg

    admin = server.replace("postgresql+psycopg", "postgresql") + "/postgres"
    if "postgres" not in _templates:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE minsheng_template")
        _reset(monkeypatch, f"{server}/minsheng_template")
        from api.core.db import reset_engine, run_migrations

        run_migrations()
        reset_engine()
        _templates["postgres"] = "minsheng_template"
    name = f"t_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE minsheng_template")
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, monkeypatch, tmp_path) -> str:
    if request.param == "sqlite":
        return _sqlite_db(monkeypatch, tmp_path)
    return _pg_db(monkeypatch, request.getfixturevalue("pg_server"))


@pytest.fixture
def client(db_url: str, monkeypatch) -> Iterator[TestClient]:
    _reset(monkeypatch, db_url)
    from api.main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client
    from api.core.db import reset_engine

    reset_engine()


# Staff of the sample county: one account per role, handlers in three departments.
STAFF = {
    "admin": None,
    "agent": {"role": "agent"},
    "dispatcher": {"role": "dispatcher"},
    "supervisor": {"role": "supervisor"},
    "leader": {"role": "leader", "leader_id": "deputy_urban"},  # 刘志强: 住建、城管…
    "leader_social": {"role": "leader", "leader_id": "deputy_social"},
    "handler_cgj": {"role": "handler", "department_id": "cgj"},  # 城管局
    "handler_zjj": {"role": "handler", "department_id": "住建局"},  # by short name
    "handler_gaj": {"role": "handler", "department_id": "gaj"},  # 公安局
}


@pytest.fixture
def staff(client: TestClient) -> dict[str, dict[str, str]]:
    """Authorization headers per account; "service" is the machine token."""
    headers = {"admin": login(client, "admin", "admin12345"), "service": SERVICE}
    for username, spec in STAFF.items():
        if spec is None:
            continue
        r = client.post("/api/v1/users", json={"username": username, "password": PASSWORD, **spec}, headers=headers["admin"])
        assert r.status_code == 201, r.text
        headers[username] = login(client, username)
    return headers


