"""End-to-end tests use the session's real stack (tests/support/stack.py, fixture in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.support.stack import ACTIONS_TOKEN, ADMIN_PASSWORD, RASA_TOKEN, SERVICE_TOKEN, Stack  # noqa: F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
