"""Authorization matrix: every role (and no login) × every operation, expected outcomes derived from the
role rules the routes declare (require_roles / require_principal / service token / any staff login).

A denied caller must get 401/403 with nothing done; an allowed one must never get the role refusal.
Rules checked inside handlers (which tickets a 承办人 sees, …) are tested in tests/api; here the door.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.auth.models import USER_ROLES, Role
from tests.security.test_surface import all_routes

CALLERS = ["anonymous", "service", *[r.value for r in USER_ROLES]]
ACCOUNTS = {"agent": "agent", "dispatcher": "dispatcher", "handler": "handler_cgj", "supervisor": "supervisor",
            "leader": "leader", "admin": "admin"}
EVERYONE = frozenset(CALLERS)
STAFF = frozenset(r.value for r in USER_ROLES)


def _rule(call) -> frozenset[str] | None:  # noqa: ANN001
    """Who a dependency lets through, or None when it is not an access rule."""
    name = getattr(call, "__name__", "")
    closure = dict(zip(call.__code__.co_freevars, [c.cell_contents for c in call.__closure__ or ()],
                       strict=False)) if hasattr(call, "__code__") else {}
    if name == "check" and "roles" in closure:
        return frozenset(Role(r).value for r in closure["roles"])
    return {"require_service": frozenset({"service"}), "get_current_user": STAFF,
            "get_principal": STAFF | {"service"}, "conversation_access": frozenset({"service"})}.get(name)


def allowed(route: APIRoute) -> frozenset[str]:
    """The intersection of every access rule in the route's dependency tree (none = public)."""
    result = EVERYONE
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        rule = _rule(dependant.call) if dependant.call else None
        if rule is not None:
            result &= rule
        stack.extend(dependant.dependencies)
    return result


def operations() -> list[tuple[str, str, frozenset[str]]]:
    from api.main import create_app

    found = []
    for prefix, route in all_routes(create_app().routes):
        if isinstance(route, APIRoute):
            for method in sorted(route.methods - {"HEAD"}):
                found.append((method, prefix + route.path, allowed(route)))
    return sorted(found)


OPERATIONS = operations()


def _url(path: str) -> str:
    path = path.replace("{conversation_id}", "web-0123456789abcdef")  # well-formed, belongs to nobody
    return re.sub(r"\{[^}]+\}", "1", path).replace("/1.json", "/x.json")


def test_the_matrix_covers_every_operation_and_role() -> None:
    # Figure for the closing note: callers × operations.
    assert len(OPERATIONS) >= 60
    print(f"authz matrix: {len(CALLERS)} callers × {len(OPERATIONS)} operations = {len(CALLERS) * len(OPERATIONS)} cells")


@pytest.mark.parametrize("caller", CALLERS)
def test_every_operation_answers_the_caller_as_the_rules_say(client: TestClient, staff, caller: str) -> None:
    headers = {} if caller == "anonymous" else staff[ACCOUNTS.get(caller, caller)]
    wrong = []
    for method, path, who in OPERATIONS:
        if path in ("/api/v1/auth/logout",) or path.startswith("/api/v1/auth/password"):
            continue  # revokes the caller's own token for the rest of the row; tested in test_login
        response = client.request(method, _url(path), headers=headers, json={})
        refused = response.status_code == 401 or (
            response.status_code == 403 and ("权限不足" in response.text or "服务令牌" in response.text))
        if caller in who and refused:
            wrong.append(f"{method} {path}: {caller} refused ({response.status_code})")
        if caller not in who and response.status_code not in (401, 403, 404):
            wrong.append(f"{method} {path}: {caller} let in ({response.status_code})")
    assert not wrong, "\n".join(wrong)
