"""Login throttling: per account (growing delays after a few failures) and per client (a cap per window).

In memory, per API process: the API runs as one uvicorn process (docs/architecture.md); several
processes would each apply the limits, which still bounds guessing to a small multiple.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from api.core.settings import get_settings

MAX_DELAY_SECONDS = 15 * 60


@dataclass
class _Account:
    consecutive: int = 0
    locked_until: float = 0.0


@dataclass
class _Client:
    attempts: deque[float] = field(default_factory=deque)  # failed or refused attempts, oldest first


class LoginThrottle:
    def __init__(self, clock=time.monotonic) -> None:  # noqa: ANN001  (a clock function, for tests)
        self._clock = clock
        self._lock = threading.Lock()
        self._accounts: dict[str, _Account] = {}
        self._clients: dict[str, _Client] = {}

    def _client(self, client: str, now: float) -> _Client:
        record = self._clients.setdefault(client, _Client())
        window = get_settings().login_failure_window_seconds
        while record.attempts and record.attempts[0] <= now - window:
            record.attempts.popleft()
        return record

    def refusal(self, *, account: str, client: str) -> int | None:
        """Seconds to wait when this attempt must be refused (it then counts against the client), else None."""
        settings = get_settings()
        now = self._clock()
        with self._lock:
            client_record = self._client(client, now)
            waits = []
            if len(client_record.attempts) >= settings.login_max_failures_per_client:
                waits.append(client_record.attempts[0] + settings.login_failure_window_seconds - now)
            account_record = self._accounts.get(account.casefold())
            if account_record is not None and account_record.locked_until > now:
                waits.append(account_record.locked_until - now)
            if not waits:
                return None
            client_record.attempts.append(now)
            if len(client_record.attempts) > 4 * settings.login_max_failures_per_client:
                client_record.attempts.popleft()  # bounded memory; the window stays full
            return max(1, math.ceil(max(waits)))

    def failed(self, *, account: str, client: str) -> None:
        settings = get_settings()
        now = self._clock()
        with self._lock:
            self._client(client, now).attempts.append(now)
            record = self._accounts.setdefault(account.casefold(), _Account())
            record.consecutive += 1
            over = record.consecutive - settings.login_free_failures_per_account
            if over >= 0:  # 1 s, 2 s, 4 s … up to 15 minutes between further tries
                record.locked_until = now + min(2.0**over, MAX_DELAY_SECONDS)

    def succeeded(self, *, account: str) -> None:
        with self._lock:
            self._accounts.pop(account.casefold(), None)

    def reset(self) -> None:
        with self._lock:
            self._accounts.clear()
            self._clients.clear()


login_throttle = LoginThrottle()
