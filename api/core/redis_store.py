"""The shared Redis (settings.redis_url), when several API instances run: one client per event loop.

Unset redis_url means one instance: callers fall back to in-process locks and fan-out.
"""

from __future__ import annotations

import asyncio
import weakref

import redis.asyncio as redis

from api.core.settings import get_settings

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.Redis] = weakref.WeakKeyDictionary()


def configured() -> bool:
    return bool(get_settings().redis_url)


def client() -> redis.Redis:
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        # Short socket time-outs: a Redis that stops answering fails the turn quickly instead of hanging it.
        _clients[loop] = redis.Redis.from_url(get_settings().redis_url, socket_timeout=5, socket_connect_timeout=2,
                                              health_check_interval=30)
    return _clients[loop]


def key(*parts: str) -> str:
    return ":".join([get_settings().redis_channel_prefix, *parts])


async def aclose() -> None:
    pooled = _clients.pop(asyncio.get_running_loop(), None)
    if pooled is not None:
        await pooled.aclose()
