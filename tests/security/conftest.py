"""Security tests: the back-office fixtures (real app, real migrations) on SQLite, plus helpers.

`client` here is SQLite only (the PostgreSQL runs of the same routes live in tests/api); the doors
tested in this folder do not depend on the database engine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import (  # noqa: F401  (reused, not copied)
    STAFF,
    _reset,
    _sqlite_db,
    staff,  # noqa: F401  (fixture)
)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[TestClient]:
    url = _sqlite_db(monkeypatch, tmp_path)
    _reset(monkeypatch, url)
    from api.core.db import reset_engine
    from api.main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client
    reset_engine()
