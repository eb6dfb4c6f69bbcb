"""The daily 预警 job for cron or a systemd timer: `python -m api.analytics.job` runs every active rule
as of now (idempotent: a second run the same day adds nothing) and prints what it found."""

from __future__ import annotations

import json

from api.analytics import warnings
from api.core.db import session_factory


def main() -> int:
    with session_factory()() as db_session:
        print(json.dumps({"new_warnings": warnings.run_rules(db_session=db_session)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
