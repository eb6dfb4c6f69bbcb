"""Ticket creation throughput through the real API (uvicorn + migrations + routing + linkage).

Starts the API on a free port against a fresh database (SQLite by default, or --database-url),
creates tickets over HTTP with the service token, sequentially and with N concurrent clients,
then walks a sample through the lifecycle. Prints JSON and writes bench/results/ticket_throughput.json.

Usage: .venv/bin/python bench/ticket_throughput.py [--tickets 200] [--concurrency 4]
       [--database-url URL | --postgres]   (--postgres starts a throw-away Debian PostgreSQL 15)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "ticket_throughput.json"
SERVICE = {"Authorization": "Bearer dev-service-token"}
TEXTS = [
    ("complaint", "人民路和冠华路路口的路灯坏了一个多星期，晚上很黑", "近湖街道"),
    ("help_request", "上冈镇陈堡村自来水停了两天了，家里老人没水用", "上冈镇"),
    ("report", "开发区凤凰路有工厂夜里偷排污水，河里都是臭味", "建湖经济开发区"),
    ("consultation", "请问公积金提取需要带哪些材料", None),
    ("complaint", "小区楼下烧烤摊油烟太大，晚上吵到十二点", "钟庄街道"),
    ("suggestion", "建议在秀夫广场多设几个公共厕所", "近湖街道"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/lib/postgresql/15/bin"), key=lambda p: p.parent.name)


def start_postgres(root: Path) -> tuple[str, list[str]]:
    """initdb + pg_ctl in `root` (as the postgres user when run as root); returns (URL, stop command)."""
    import shutil

    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    data = root / "data"
    subprocess.run([*as_pg, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                    "--locale=C.UTF-8"], check=True, capture_output=True)
    subprocess.run([*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
                    "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    subprocess.run([*as_pg, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "minsheng"],
                   check=True, capture_output=True)
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/minsheng", [*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]


def body(i: int) -> dict:
    demand_type, text, town = TEXTS[i % len(TEXTS)]
    return {"demand_type": demand_type, "description": f"{text}（第{i}次测试）", "location_town": town,
            "phone": f"139{i:08d}"[:11], "channel": "chat"}


def create(client: httpx.Client, i: int) -> float:
    start = time.perf_counter()
    r = client.post("/api/v1/tickets", json=body(i), headers={**SERVICE, "Idempotency-Key": uuid.uuid4().hex})
    r.raise_for_status()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="minsheng-bench-"))
    stop_pg: list[str] | None = None
    if args.postgres:
        url, stop_pg = start_postgres(tmp)
    else:
        url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    port = free_port()
    env = {**os.environ, "MINSHENG_DATABASE_URL": url, "MINSHENG_SCHEDULER_INTERVAL_SECONDS": "0",
           "MINSHENG_RASA_URL": "http://127.0.0.1:9", "MINSHENG_AUTO_DISPATCH": "true"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.time() + 120
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.time() > deadline:
                    raise SystemExit(f"API did not start: {server.stderr.read().decode()[-2000:] if server.stderr else ''}")
                time.sleep(0.2)
            create(client, 0)  # warm-up: the routing classifier trains on first use

            n = args.tickets
            start = time.perf_counter()
            sequential = [create(client, i) for i in range(1, n + 1)]
            seq_seconds = time.perf_counter() - start

        clients = [httpx.Client(base_url=base, timeout=60) for _ in range(args.concurrency)]
        start = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            concurrent = list(pool.map(lambda i: create(clients[i % args.concurrency], i), range(n + 1, 2 * n + 1)))
        conc_seconds = time.perf_counter() - start
        for c in clients:
            c.close()

        with httpx.Client(base_url=base, timeout=60) as client:
            listing = client.get("/api/v1/tickets", params={"limit": 1}, headers=SERVICE).json()
            dispatched = client.get("/api/v1/tickets", params={"status": "已派单", "limit": 1}, headers=SERVICE).json()

        def pct(values: list[float], q: float) -> float:
            return round(statistics.quantiles(values, n=100)[q - 1], 1)

        figures = {
            "benchmark": "ticket_throughput",
            "database": url.split(":")[0].split("+")[0],
            "tickets_per_run": n,
            "sequential_tickets_per_s": round(n / seq_seconds, 1),
            "sequential_p50_ms": pct(sequential, 50),
            "sequential_p95_ms": pct(sequential, 95),
            "concurrency": args.concurrency,
            "concurrent_tickets_per_s": round(n / conc_seconds, 1),
            "concurrent_p50_ms": pct(concurrent, 50),
            "concurrent_p95_ms": pct(concurrent, 95),
            "tickets_in_db": listing["total"],
            "auto_dispatched": dispatched["total"],
            "includes": "HTTP, validation, idempotency record, numbering, classifier+routing, linkage, repeat check, SLA, audit event, 双交办",
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        if stop_pg:
            subprocess.run(stop_pg, capture_output=True)
    # One file, one entry per database: a PostgreSQL run does not erase the SQLite figures.
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    try:
        stored = json.loads(RESULTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = {}
    runs = stored.get("runs", {}) if isinstance(stored, dict) else {}
    runs[figures["database"]] = figures
    RESULTS.write_text(json.dumps({"benchmark": "ticket_throughput", "runs": runs}, ensure_ascii=False, indent=2) + "\n",
                       encoding="utf-8")
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
