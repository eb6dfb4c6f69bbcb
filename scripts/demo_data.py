"""make demo-data: the real TipDM board messages (datasets/tipdm2020/messages.tsv) imported as tickets of
channel `online` with their real timestamps, through the ordinary intake, then the 预警 rules run as of
the last message's day. Idempotent: running it again imports nothing twice.

    .venv/bin/python scripts/demo_data.py [--limit N] [--file path]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", default=str(ROOT / "datasets" / "tipdm2020" / "messages.tsv"))
    parser.add_argument("--limit", type=int, default=0, help="import only the first N messages")
    parser.add_argument("--platform", default="网络问政平台（TipDM 2020 公开数据）")
    args = parser.parse_args()

    from api.analytics import warnings
    from api.core.db import run_migrations, session_factory
    from api.online import service
    from api.scheduler.startup import prepare_back_office

    run_migrations()
    prepare_back_office()
    path = Path(args.file)
    messages, rejected = service.parse(content=path.read_bytes(), filename=path.name)
    messages.sort(key=lambda m: m.time)  # numbers follow the days, as they were accepted
    if args.limit:
        messages = messages[: args.limit]
    started = time.monotonic()
    result = service.ImportResult(rejected=rejected)
    with session_factory()() as db_session:
        for i in range(0, len(messages), 200):
            service.import_messages(db_session=db_session, messages=messages[i:i + 200], platform=args.platform,
                                    actor="demo-data", result=result)
            print(f"  {min(i + 200, len(messages))}/{len(messages)} messages", flush=True)
        counts = warnings.run_rules(db_session=db_session, now=messages[-1].time) if messages else {}
    print(f"demo data: {len(result.created)} tickets created, {len(result.duplicates)} already there, "
          f"{len(result.rejected)} rows rejected, {time.monotonic() - started:.0f} s; 预警 {counts}")
    first, last = (messages[0].time, messages[-1].time) if messages else (None, None)
    print(f"messages from {first:%Y-%m-%d} to {last:%Y-%m-%d}: open http://127.0.0.1:8000/analytics" if first else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
