"""A sliding-window rate limit per key (client address), in memory like the login throttle."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque


class RateLimit:
    def __init__(self, clock=time.monotonic) -> None:  # noqa: ANN001  (a clock function, for tests)
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: defaultdict[str, deque[float]] = defaultdict(deque)

    def hit(self, key: str, *, limit: int, window: float) -> int | None:
        """Count one hit; None when allowed, else the seconds until the oldest hit leaves the window."""
        now = self._clock()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return max(1, math.ceil(hits[0] + window - now))
            hits.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
