"""End-to-end tests use the session's real stack (tests/support/stack.py, fixture in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.support.stack import ACTIONS_TOKEN, ADMIN_PASSWORD, RASA_TOKEN, SERVICE_TOKEN, Stack  # noqa: F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def warm_stack(stack: Stack) -> Stack:
    """The first messages after Rasa loads its model are slow (TensorFlow builds its graphs, the
    action server imports jieba); on a busy machine the hub may time out on them. A few throwaway
    greetings first, so the conversations of a module test the dialogue, not the warm-up."""
    for _ in range(5):
        body = stack.chat(stack.new_conversation(), "你好")
        if any("12345" in r["text"] for r in body["replies"]):
            break
    return stack
