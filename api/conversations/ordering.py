"""One conversation's turns one at a time, in arrival order, across API instances.

With Redis: a lock per conversation with a lease (settings.redis_lock_seconds), so a crashed
holder cannot block the conversation for ever. Without: an asyncio lock per conversation that is
dropped as soon as nobody holds or waits for it (nothing grows with the number of conversations).
The lock guards one conversation only; no thread, database connection or shared lock is held
while Rasa thinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from redis.exceptions import LockError

from api.core import redis_store
from api.core.settings import get_settings

log = logging.getLogger(__name__)


class TurnBusy(Exception):
    """The conversation's previous turn still holds the lock after the wait: ask the citizen to resend."""


class _LocalLocks:
    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, conversation_id: str, wait: float) -> AsyncIterator[None]:
        lock, users = self._locks.get(conversation_id, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[conversation_id] = (lock, users + 1)
        try:
            try:
                await asyncio.wait_for(lock.acquire(), wait)
            except TimeoutError as exc:
                raise TurnBusy(conversation_id) from exc
            try:
                yield
            finally:
                lock.release()
        finally:
            lock, users = self._locks[conversation_id]
            if users <= 1:
                del self._locks[conversation_id]
            else:
                self._locks[conversation_id] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


local_locks = _LocalLocks()


def _wait_seconds() -> float:
    settings = get_settings()
    # A turn holding the lock lasts at most a slot wait plus one Rasa time-out (and the two commits).
    return settings.rasa_queue_seconds + settings.rasa_timeout_seconds + 5


@contextlib.asynccontextmanager
async def turn(conversation_id: str, *, wait: float | None = None) -> AsyncIterator[None]:
    """Hold the conversation's turn; TurnBusy after `wait` seconds (default: one turn's longest hold)."""
    wait = _wait_seconds() if wait is None else wait
    if not redis_store.configured():
        async with local_locks.hold(conversation_id, wait):
            yield
        return
    settings = get_settings()
    lock = redis_store.client().lock(redis_store.key("turn", conversation_id), timeout=settings.redis_lock_seconds,
                                     blocking_timeout=wait, sleep=0.02)
    if not await lock.acquire():
        raise TurnBusy(conversation_id)
    try:
        yield
    finally:
        try:
            await lock.release()
        except LockError:  # the lease ran out during a very slow turn; the next turn may already run
            log.warning("turn lock of %s expired before release", conversation_id)
