"""Platform concerns of the back office: migrations both ways, OpenAPI, the scheduler loop, lost updates."""

from __future__ import annotations

import pytest
from backoffice_helpers import act, new_ticket


def test_migrations_downgrade_and_upgrade_again(client, db_url):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, inspect

    from api.core.settings import ROOT

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "api" / "migrations"))
    config.set_main_option("sqlalchemy.url", db_url)
    from api.core.db import reset_engine

    reset_engine()  # release the app's connections (PostgreSQL waits for them on DDL)
    command.downgrade(config, "0001")
    engine = create_engine(db_url)
    assert "ticket_assignments" not in inspect(engine).get_table_names()
    engine.dispose()
    command.upgrade(config, "head")
    engine = create_engine(db_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"users", "departments", "leaders", "ticket_assignments", "notifications", "supervisions", "ticket_linkages"} <= tables


def test_openapi_documents_the_back_office(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/tickets/{ticket_no}/transitions", "/api/v1/auth/token", "/api/v1/linkage/{partner}/daily",
                 "/open311/v2/requests.json", "/api/v1/classify", "/api/v1/tickets/{ticket_no}/contact"):
        assert path in paths, path
    schema = client.get("/openapi.json").json()["components"]["schemas"]["TransitionIn"]
    assert "merge" in schema["properties"]["action"]["enum"]


def test_concurrent_moves_on_one_ticket_do_not_both_win(client, staff):
    """Two dispatchers load the same ticket; the second write is refused, not silently lost."""
    from api.auth.deps import Principal
    from api.auth.models import Role
    from api.core.db import session_factory
    from api.tickets import service, transitions
    from api.tickets.schemas import TransitionIn
    from api.tickets.transitions import WorkflowError

    no = new_ticket(client)["ticket_no"]
    first, second = session_factory()(), session_factory()()
    try:
        a = service.get_by_no(db_session=first, ticket_no=no)
        b = service.get_by_no(db_session=second, ticket_no=no)
        me = Principal(username="dispatcher", role=Role.dispatcher)
        transitions.transition(db_session=first, ticket=a, principal=me, body=TransitionIn(action="dispatch", department="cgj"))
        with pytest.raises(WorkflowError) as refused:
            transitions.transition(db_session=second, ticket=b, principal=me,
                                   body=TransitionIn(action="dispatch", department="gaj"))
        assert refused.value.status_code == 409 and "刷新" in refused.value.detail
    finally:
        first.close()
        second.close()
    assert client.get(f"/api/v1/tickets/{no}", headers=staff["service"]).json()["lead_department"] == "cgj"


def test_scheduler_loop_starts_and_stops_with_the_app(db_url, monkeypatch):
    """With the interval on, the lifespan runs the scheduler once at start and cancels it at shutdown."""
    from fastapi.testclient import TestClient

    from api.core.db import reset_engine
    from api.core.settings import get_settings
    from api.main import create_app

    monkeypatch.setenv("MINSHENG_DATABASE_URL", db_url)
    monkeypatch.setenv("MINSHENG_SCHEDULER_INTERVAL_SECONDS", "3600")
    monkeypatch.setenv("MINSHENG_BCRYPT_ROUNDS", "4")
    get_settings.cache_clear()
    reset_engine()
    with TestClient(create_app()) as test_client:
        assert test_client.get("/health").status_code == 200
        no = new_ticket(test_client)["ticket_no"]
        act(test_client, {"Authorization": "Bearer dev-service-token"}, no, "withdraw", note="测试")
    reset_engine()
