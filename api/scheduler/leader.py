"""One leader for the timed jobs when several API instances or workers run (Redis lease).

The jobs are idempotent (dedupe keys, one ticket per commit), so two runners would not corrupt
anything, but they would do the same work twice and race on every ticket. With Redis configured,
the instance holding the lease runs them; the lease lasts three intervals, so when the leader
stops another instance takes over within that time. Without Redis there is one instance: it leads.
"""

from __future__ import annotations

import uuid

from api.core import redis_store

INSTANCE = uuid.uuid4().hex

# Renew only if still ours; take it when free (one round trip, atomic in Redis).
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""


async def lead(*, job: str, lease_seconds: float) -> bool:
    """True when this instance should run `job` now (and holds its lease for lease_seconds)."""
    if not redis_store.configured():
        return True
    held = await redis_store.client().eval(_RENEW, 1, redis_store.key("leader", job), INSTANCE,
                                           max(1, int(lease_seconds)))
    return bool(held)
