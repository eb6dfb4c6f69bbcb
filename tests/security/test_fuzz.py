"""Schemathesis over every operation of the published OpenAPI schema, without and with auth.

Fails on any 5xx and on any response that does not match the schema. Figures (operations, cases,
failures) are written to var/security/fuzz.json. MINSHENG_FUZZ_EXAMPLES sets examples per operation.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("MINSHENG_FUZZ_EXAMPLES", "15"))  # ≈2 min; 25 → 3,963 cases
FIGURES: Counter = Counter()
OPERATIONS: set[str] = set()


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):  # noqa: ANN201
    """One migrated app for the whole run (a fresh database per case would dominate the runtime)."""
    from fastapi.testclient import TestClient

    from api.core import db
    from api.core.settings import get_settings

    mp = pytest.MonkeyPatch()
    mp.setenv("MINSHENG_DATABASE_URL", f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite3'}")
    mp.setenv("MINSHENG_ENV", "development")
    mp.setenv("MINSHENG_SCHEDULER_INTERVAL_SECONDS", "0")
    mp.setenv("MINSHENG_BCRYPT_ROUNDS", "4")
    mp.setenv("MINSHENG_RASA_URL", "http://127.0.0.1:9")
    mp.setenv("MINSHENG_RETENTION_PURGE_INTERVAL_HOURS", "0")
    get_settings.cache_clear()
    db.reset_engine()
    from api.main import create_app

    app = create_app()
    with TestClient(app) as client:
        admin = client.post("/api/v1/auth/token", data={"username": "admin", "password": "admin12345"}).json()
        yield app, {"none": {}, "admin": {"Authorization": f"Bearer {admin['access_token']}"},
                    "service": {"Authorization": "Bearer dev-service-token"}}
    db.reset_engine()
    mp.undo()
    get_settings.cache_clear()
    out = ROOT / "var" / "security"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fuzz.json").write_text(json.dumps({"operations": len(OPERATIONS), "cases": FIGURES["cases"],
                                               "failures": FIGURES["failures"], "examples_per_operation": EXAMPLES},
                                              indent=2))


def _operations(app):  # noqa: ANN001, ANN202
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation, headers: dict, problems: list[str]):  # noqa: ANN001, ANN202
    """A Hypothesis test for one operation: each generated case without auth, as admin, as a machine."""
    from hypothesis import given

    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:  # noqa: ANN001
        for auth in ("none", "admin", "service"):
            FIGURES["cases"] += 1
            try:
                case.call_and_validate(headers=headers[auth], checks=[not_a_server_error, response_schema_conformance])
            except Exception as exc:
                FIGURES["failures"] += 1
                problems.append(f"{label} [{auth}]: {str(exc)[:300]}")
                raise

    return run


def test_no_5xx_and_every_response_matches_the_schema(fuzz_app) -> None:
    app, headers = fuzz_app
    problems: list[str] = []
    errors: list[str] = []
    for operation in _operations(app):
        OPERATIONS.add(f"{operation.method.upper()} {operation.path}")
        before = len(problems)
        try:
            _fuzz(operation, headers, problems)()
        except Exception as exc:  # noqa: BLE001  (recorded; go on with the next operation)
            if len(problems) == before:
                errors.append(f"{operation.method.upper()} {operation.path}: {exc!r}"[:300])
    (ROOT / "var" / "security").mkdir(parents=True, exist_ok=True)
    (ROOT / "var" / "security" / "fuzz-problems.txt").write_text("\n".join(errors + problems))
    assert not errors, "\n".join(errors[:10])
    distinct = sorted({p.split(" [")[0] for p in problems})
    assert not problems, f"{len(problems)} failing cases in {len(distinct)} operations:\n" + "\n".join(
        next(p for p in problems if p.startswith(d)) for d in distinct)
