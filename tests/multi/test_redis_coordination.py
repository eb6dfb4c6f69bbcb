"""Redis coordination on a real redis-server: the scheduler's leader lease and the turn lock."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from api.conversations import ordering
from api.core import redis_store
from api.core.settings import get_settings
from api.scheduler import leader
from tests.support.processes import free_port


@pytest.fixture
def redis_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: run scripts/bootstrap.sh")
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.1)
    url = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setenv("MINSHENG_REDIS_URL", url)
    get_settings.cache_clear()
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        get_settings.cache_clear()


def test_one_instance_leads_and_another_takes_over_when_its_lease_runs_out(redis_url, monkeypatch) -> None:
    async def scenario() -> list[bool]:
        outcomes = []
        monkeypatch.setattr(leader, "INSTANCE", "instance-a")
        outcomes.append(await leader.lead(job="scheduler", lease_seconds=1))
        outcomes.append(await leader.lead(job="scheduler", lease_seconds=1))  # a renews its own lease
        monkeypatch.setattr(leader, "INSTANCE", "instance-b")
        outcomes.append(await leader.lead(job="scheduler", lease_seconds=1))  # b waits while a holds it
        await asyncio.sleep(2.2)  # a stopped renewing
        outcomes.append(await leader.lead(job="scheduler", lease_seconds=1))
        await redis_store.aclose()
        return outcomes

    assert asyncio.run(scenario()) == [True, True, False, True]


def test_the_turn_lock_orders_one_conversation_and_leaves_others_free(redis_url) -> None:
    async def scenario() -> tuple[list[str], float]:
        log: list[str] = []

        async def turn(conversation_id: str, name: str, hold: float) -> None:
            async with ordering.turn(conversation_id):
                log.append(f"{name} in")
                await asyncio.sleep(hold)
                log.append(f"{name} out")

        start = time.monotonic()
        first = asyncio.create_task(turn("web-conversation-1", "first", 0.5))
        await asyncio.sleep(0.05)
        await asyncio.gather(first, turn("web-conversation-1", "second", 0.1), turn("web-conversation-2", "other", 0.1))
        elapsed = time.monotonic() - start
        with pytest.raises(ordering.TurnBusy):
            async with ordering.turn("web-conversation-3"), ordering.turn("web-conversation-3", wait=0.2):
                pass
        await redis_store.aclose()
        return log, elapsed

    log, elapsed = asyncio.run(scenario())
    assert log.index("second in") > log.index("first out")  # the same conversation waits its turn
    assert log.index("other out") < log.index("first out")  # another conversation does not
    assert elapsed < 2


def test_without_redis_the_local_locks_are_dropped_after_use(monkeypatch) -> None:
    monkeypatch.setenv("MINSHENG_REDIS_URL", "")
    get_settings.cache_clear()

    async def scenario() -> int:
        async def turn(conversation_id: str) -> None:
            async with ordering.turn(conversation_id):
                await asyncio.sleep(0.01)

        await asyncio.gather(*(turn(f"web-conversation-{i % 7}") for i in range(50)))
        return len(ordering.local_locks)

    assert asyncio.run(scenario()) == 0  # nothing grows with the number of conversations
    get_settings.cache_clear()
