"""Analytics at county scale (JSON): a synthetic 5-year history bulk-loaded (COPY on PostgreSQL), then the
dashboard's HTTP queries against a real uvicorn (p50/p95), the daily hotspot + warning job, and the API
process's peak memory (VmHWM).

    .venv/bin/python bench/analytics.py [--pg-tickets 1000000] [--sqlite-tickets 100000] [--only pg|sqlite]
        [--keep-db var/bench-analytics] [--seed-only] [--rebuild-summary]
--keep-db keeps the seeded databases in that directory and reuses them on the next run; --seed-only
stops after seeding the tickets and building the 日汇总 from nothing (its time is kept in
summary_backfill_{sqlite,postgresql}.json there). A run on kept databases keeps their 日汇总 (unless --rebuild-summary)
and measures only: the daily job's share (31 changed days, the 预警 rules, the week's hotspots), the
dashboard over HTTP and the API's memory — a few minutes, where seeding 1M tickets and the first
summary build take a quarter of an hour on a loaded machine.
Targets (issue 14): dashboard p95 < 300 ms, daily job < 60 s, API memory < 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
END = date(2026, 11, 30)


def _reset(url: str) -> None:
    os.environ["MINSHENG_DATABASE_URL"] = url
    os.environ["MINSHENG_BCRYPT_ROUNDS"] = "4"
    from api.core import db
    from api.core.settings import get_settings

    get_settings.cache_clear()
    db.reset_engine()


def _pg_server(root: Path) -> tuple[str, callable]:
    sys.path.insert(0, str(ROOT / "tests" / "api"))
    from tests.api.conftest import PG_BIN, _as_postgres, _free_port

    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    fresh = not (data / "PG_VERSION").exists()
    if fresh:
        subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                                    "--locale=C.UTF-8"), check=True, capture_output=True)
    subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "-o",
                                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                                "-c shared_buffers=256MB -c work_mem=32MB", "start"), check=True, capture_output=True)
    import psycopg

    if fresh:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")

    def stop() -> None:
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"), capture_output=True)

    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/bench", stop


def _villages() -> list[tuple[str, str, str]]:
    from api.org.profile import org_profile

    return [(v.town_name, v.name, v.grid) for v in org_profile().villages]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def _seeded_counts(engine) -> dict[str, int] | None:
    from sqlalchemy import text

    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("tickets", "ticket_assignments", "callback_jobs")}
    return counts if counts["tickets"] else None


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(kind: str, url: str, tickets: int, work: Path, *, seed_only: bool = False, keep: Path | None = None,
        rebuild_summary: bool = False) -> dict:
    import httpx
    from sqlalchemy import delete, func, insert, select

    from api.analytics import daily, hotspots, warnings
    from api.analytics.models import DailyChange, DailyCounts, DailyState
    from api.analytics.periods import Period, county_tz
    from api.analytics.synthetic import generate, write
    from api.core.db import get_engine, run_migrations, session_factory, utcnow
    from api.scheduler.startup import prepare_back_office
    from tests.support.processes import Service, free_port

    _reset(url)
    run_migrations()
    prepare_back_office()
    seeded = _seeded_counts(get_engine())
    generated = loaded = None
    if seeded is None:
        started = time.monotonic()
        history = generate(total=tickets, end=END, villages=_villages())
        generated = round(time.monotonic() - started, 1)
        write(engine=get_engine(), history=history)
        loaded = round(time.monotonic() - started - generated, 1)
        seeded = {"tickets": len(history.tickets), "ticket_assignments": len(history.assignments),
                  "callback_jobs": len(history.jobs)}
        del history
    backfill_file = (keep / f"summary_backfill_{kind}.json") if keep else None
    with session_factory()() as s:
        have_summary = s.scalar(select(func.count()).select_from(DailyState))
        if rebuild_summary or not have_summary or backfill_file is None or not backfill_file.exists():
            # 日汇总 from nothing: the scheduler's first run on a county's five years.
            for table in (DailyCounts, DailyState, DailyChange):
                s.execute(delete(table))
            s.commit()
            load_before, t0 = _load(), time.monotonic()
            backfill = {**daily.refresh(db_session=s), "s": round(time.monotonic() - t0, 1), "load_before": load_before,
                        "load_after": _load(), "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
            if backfill_file is not None:
                backfill_file.write_text(json.dumps(backfill) + "\n")
        else:
            backfill = {**json.loads(backfill_file.read_text()), "kept_from_seeding": True}
    if seed_only:
        return {"database": kind, "seeded": seeded, "generate_s": generated, "load_s": loaded,
                "summary_backfill": backfill}

    now = datetime(END.year, END.month, END.day, 12, tzinfo=UTC)
    load_job = _load()
    with session_factory()() as s:
        # The daily job's share after a day of 签收/办结/回访 touching the last 31 days' tickets (their days
        # marked changed); on a kept database the warnings exist already, so the rules only refresh them.
        today = datetime.now(UTC).astimezone(county_tz()).date()
        marked = utcnow()
        s.execute(insert(DailyChange), [{"day": today - timedelta(days=d), "changed_at": marked} for d in range(1, 32)])
        s.commit()
        t0 = time.monotonic()
        refreshed = daily.refresh(db_session=s)
        job_summary = time.monotonic() - t0
        t0 = time.monotonic()
        counts = warnings.run_rules(db_session=s, now=now)
        job_warn = time.monotonic() - t0
        t0 = time.monotonic()
        spots = hotspots.find_hotspots(db_session=s, period=Period(END - timedelta(days=6), END))
        job_hot = time.monotonic() - t0

    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if k.startswith("MINSHENG_")}, "MINSHENG_DATABASE_URL": url,
           "MINSHENG_SCHEDULER_INTERVAL_SECONDS": "0", "MINSHENG_RASA_URL": "http://127.0.0.1:9"}
    api = Service(f"api-{kind}", [str(ROOT / ".venv/bin/uvicorn"), "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
                  env, work)
    latencies: dict[str, list[float]] = {}
    load_http = _load()
    try:
        base = f"http://127.0.0.1:{port}"
        api.wait_http(f"{base}/health", timeout=180)
        client = httpx.Client(base_url=base, timeout=120)
        token = client.post("/api/v1/auth/token", data={"username": "admin", "password": "admin12345"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        rng = random.Random(1)
        queries = {
            "summary_month": lambda p: ("/api/v1/analytics/summary", p),
            "summary_by_day": lambda p: ("/api/v1/analytics/summary", {**p, "group_by": "day"}),
            "summary_by_category1": lambda p: ("/api/v1/analytics/summary", {**p, "group_by": "category1"}),
            "summary_by_town": lambda p: ("/api/v1/analytics/summary", {**p, "group_by": "town"}),
            "summary_by_department": lambda p: ("/api/v1/analytics/summary", {**p, "group_by": "department"}),
            "summary_by_hour": lambda p: ("/api/v1/analytics/summary", {**p, "group_by": "hour"}),
            "ranking": lambda p: ("/api/v1/analytics/ranking", p),
            "drill_down": lambda p: ("/api/v1/analytics/tickets", {**p, "dim": "town", "key": "上冈镇", "limit": 200}),
        }
        client.get("/api/v1/analytics/summary", params={"start": "2026-11-01", "end": "2026-11-30"}, headers=headers)  # warm
        for _ in range(12):
            first = date(2026 - rng.randrange(0, 4), rng.randrange(1, 13), 1)
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            params = {"start": first.isoformat(), "end": last.isoformat()}
            for name, make in queries.items():
                path, q = make(params)
                t0 = time.perf_counter()
                r = client.get(path, params=q, headers=headers)
                latencies.setdefault(name, []).append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text[:300]
        hot = []
        load_hot = _load()
        for k in range(3):
            week_end = END - timedelta(days=30 * k)
            t0 = time.perf_counter()
            r = client.get("/api/v1/analytics/hotspots", params={"start": (week_end - timedelta(days=6)).isoformat(),
                                                                  "end": week_end.isoformat()}, headers=headers)
            hot.append(time.perf_counter() - t0)
            assert r.status_code == 200
        status = Path(f"/proc/{api.process.pid}/status").read_text()
        hwm_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    finally:
        api.stop()
    every = [x for v in latencies.values() for x in v]
    return {
        "database": kind, "tickets": seeded["tickets"], "assignments": seeded["ticket_assignments"],
        "callback_jobs": seeded["callback_jobs"], "generate_s": generated, "load_s": loaded,
        "reused_seeded_db": generated is None,
        "dashboard_ms": {"requests": len(every), "p50": _p(every, 0.5), "p95": _p(every, 0.95), "max": _p(every, 1.0),
                         "per_query_p95": {k: _p(v, 0.95) for k, v in latencies.items()}},
        "hotspots_week_http_ms": [round(x * 1000) for x in hot],
        "summary_backfill": backfill,
        "load_average": {"daily_job_start": load_job, "dashboard_start": load_http, "hotspots_start": load_hot,
                         "end": _load()},
        "daily_job_s": {"summary_refresh_31_changed_days": round(job_summary, 1), "warning_rules": round(job_warn, 1),
                        "hotspots_last_7_days": round(job_hot, 1), "total": round(job_summary + job_warn + job_hot, 1)},
        "daily_job_refreshed": refreshed,
        "daily_job_found": {"new_warnings": counts, "hotspots": len(spots), "bursts": sum(1 for s in spots if s["burst"])},
        "api_peak_rss_mb": round(hwm_kb / 1024),
        "targets_met": {"dashboard_p95_under_300ms": _p(every, 0.95) < 300, "daily_job_under_60s": job_summary + job_warn + job_hot < 60,
                        "api_memory_under_1gb": hwm_kb < 1024 * 1024},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-tickets", type=int, default=1_000_000)
    parser.add_argument("--sqlite-tickets", type=int, default=100_000)
    parser.add_argument("--only", choices=("pg", "sqlite"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "analytics.json"))
    parser.add_argument("--keep-db", help="directory keeping the seeded databases between runs")
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--rebuild-summary", action="store_true", help="build the kept databases' 日汇总 again")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="minsheng-bench-analytics-"))
    keep = Path(args.keep_db).resolve() if args.keep_db else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        if args.only in (None, "sqlite"):
            db_file = (keep or work) / "bench.sqlite3"
            results.append(run("sqlite", f"sqlite:///{db_file}", args.sqlite_tickets, work, seed_only=args.seed_only,
                               keep=keep, rebuild_summary=args.rebuild_summary))
            print(json.dumps(results[-1], ensure_ascii=False), flush=True)
        if args.only in (None, "pg"):
            # Its own dir: postgres must own it.
            pg_root = keep / "pg" if keep else Path(tempfile.mkdtemp(prefix="minsheng-bench-pg-"))
            pg_root.mkdir(exist_ok=True)
            url, stop = _pg_server(pg_root)
            try:
                results.append(run("postgresql", url, args.pg_tickets, work, seed_only=args.seed_only, keep=keep,
                                   rebuild_summary=args.rebuild_summary))
                print(json.dumps(results[-1], ensure_ascii=False), flush=True)
            finally:
                stop()
                if not keep:
                    shutil.rmtree(pg_root, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.seed_only:
        return 0
    out = {"benchmark": "analytics", "machine": f"{os.cpu_count()} cores", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
           "command": " ".join(["MINSHENG_ENV=" + os.environ.get("MINSHENG_ENV", ""), ".venv/bin/python", *sys.argv]),
           "history_end": END.isoformat(), "results": results}
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
