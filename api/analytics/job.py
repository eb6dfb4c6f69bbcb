"""The daily 数据治理 job: refresh the 日汇总 of every stale day, then run every active 预警 rule.

The API's scheduler runs it once per Beijing day after DAILY_AT (run_daily_if_due); cron or a
systemd timer may run `python -m api.analytics.job [--force]` instead. Each day's run is recorded in
analytics_job_runs; its primary key lets only one API worker (or the CLI) claim the day, and both
steps are idempotent (a second run adds no warning and recomputes only days that went stale).
"""

from __future__ import annotations

import argparse
import json
import logging
import time as clock
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.analytics import daily, warnings
from api.analytics.models import JobRun
from api.analytics.periods import county_tz, local_day
from api.core.db import session_factory, utcnow

log = logging.getLogger(__name__)
DAILY_AT = time(2, 0)  # Beijing time: after the day's last 受理, before the morning's work
FAILED_RETRY = timedelta(minutes=30)
CRASHED_AFTER = timedelta(hours=3)  # a run still "running" this long died with its process


def _claim(*, db_session: Session, now: datetime, trigger: str, force: bool) -> bool:
    day = local_day(now)
    db_session.add(JobRun(day=day, status="running", started_at=now, trigger=trigger))
    try:
        db_session.commit()
        return True
    except IntegrityError:
        db_session.rollback()
    run = db_session.get(JobRun, day, populate_existing=True)
    if run is None:
        return False
    retry = (run.status == "failed" and now - run.started_at >= FAILED_RETRY) or (
        run.status == "running" and now - run.started_at >= CRASHED_AFTER) or (force and run.status != "running")
    if not retry:
        return False
    # Take the day over only if nobody else did since we looked.
    won = db_session.execute(update(JobRun).where(JobRun.day == day, JobRun.started_at == run.started_at,
                                                  JobRun.status == run.status)
                             .values(status="running", started_at=now, finished_at=None, trigger=trigger, result=None)
                             .execution_options(synchronize_session=False)).rowcount
    db_session.commit()
    return won == 1


def run_daily(*, db_session: Session, now: datetime | None = None, trigger: str = "cli",
              force: bool = False) -> dict[str, Any] | None:
    """Claim today's run and do it; None when today's run is done or another worker holds it."""
    now = now or utcnow()
    if not _claim(db_session=db_session, now=now, trigger=trigger, force=force):
        return None
    day = local_day(now)
    result: dict[str, Any] = {}
    status = "failed"
    try:
        t0 = clock.monotonic()
        result["summary"] = daily.refresh(db_session=db_session, now=now)
        result["summary_s"] = round(clock.monotonic() - t0, 1)
        t0 = clock.monotonic()
        result["new_warnings"] = warnings.run_rules(db_session=db_session, now=now)
        result["warnings_s"] = round(clock.monotonic() - t0, 1)
        status = "done"
    except Exception as exc:  # recorded, then raised: the next attempt comes after FAILED_RETRY
        db_session.rollback()
        result["error"] = f"{type(exc).__name__}: {exc}"[:500]
        raise
    finally:
        db_session.execute(update(JobRun).where(JobRun.day == day)
                           .values(status=status, finished_at=utcnow(), result=result)
                           .execution_options(synchronize_session=False))
        db_session.commit()
    return result


def due(now: datetime) -> bool:
    return now.astimezone(county_tz()).time() >= DAILY_AT


def run_daily_if_due(*, now: datetime | None = None) -> dict[str, Any] | None:
    """For the scheduler's loop (every interval): today's run once it is DAILY_AT or later."""
    now = now or utcnow()
    if not due(now):
        return None
    with session_factory()() as db_session:
        existing = db_session.get(JobRun, local_day(now))
        if existing is not None and existing.status == "done":
            return None
        return run_daily(db_session=db_session, now=now, trigger="scheduler")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="每日数据治理任务：刷新日汇总，运行预警规则")
    parser.add_argument("--force", action="store_true", help="今天已运行过也再运行一次")
    args = parser.parse_args(argv)
    with session_factory()() as db_session:
        result = run_daily(db_session=db_session, trigger="cli", force=args.force)
        if result is None:
            run = db_session.get(JobRun, local_day(utcnow()))
            print(json.dumps({"skipped": "今日任务已运行或正在运行", "status": run.status if run else None,
                              "result": run.result if run else None}, ensure_ascii=False))
            return 0
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
