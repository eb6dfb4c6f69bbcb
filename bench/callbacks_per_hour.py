"""Callbacks completed per hour per gateway, on this machine, with real calls over loopback.

One callback worker (one SIP UA = one gateway) with `--lines` concurrent calls dials `--calls`
citizens. Each citizen is a Debian baresip registered at Kamailio that answers and presses keys
(confirm 1, solved 1, rating 1 or 2). The API runs in-process on a fresh SQLite database and the
worker talks to it over HTTP with the service token, as in production. Prompts are spoken by
espeak-ng at its default speed (edge-tts cannot be reached here), the fixed ones from the cache.

Prints JSON and writes bench/results/callbacks.json.

Usage: .venv/bin/python bench/callbacks_per_hour.py [--calls 20] [--lines 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def run(calls: int, lines: int, work: Path) -> dict[str, Any]:
    import httpx

    from api.core import db as core_db
    from api.core.settings import get_settings
    from telephony.callback_worker import CallbackApi, CallbackWorker, WorkerConfig
    from telephony.sip.ua import SipUA, UASettings
    from telephony.tts import EspeakTts, PromptCache, Synthesizer
    from tests.callbacks.conftest import make_ticket, staff_token
    from tests.callbacks.phone import Phone
    from tests.telephony.peers import Kamailio

    token = "bench-service-token"
    os.environ.update({
        "MINSHENG_DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}", "MINSHENG_SERVICE_TOKEN": token,
        "MINSHENG_CALLBACK_WINDOWS": "00:00-24:00", "MINSHENG_CALLBACK_CALL_ON_REST_DAYS": "true",
        "MINSHENG_CALLBACK_RECORDINGS_DIR": str(work / "recordings"),
    })
    get_settings.cache_clear()
    get_settings.cache_clear()
    core_db.reset_engine()
    core_db.run_migrations()
    users = [f"1380515{i:04d}" for i in range(calls)]
    with core_db.session_factory()() as s:
        for u in users:
            make_ticket(s, phone=u)

    from api.main import create_app

    app = create_app()
    kamailio = Kamailio(work / "kamailio", password="bench-secret")
    kamailio.start()
    where = f"127.0.0.1:{kamailio.port}"
    phones = {u: Phone(work / f"phone-{u}", [u], registrar=(where, "bench-secret")) for u in users}
    on_line: dict[int, Phone] = {}
    started: dict[int, float] = {}
    durations: list[float] = []
    outcomes: list[str] = []
    finished = asyncio.Event()

    async def hook(kind: str, data: dict[str, Any]) -> None:
        if kind == "dialing":
            on_line[data["job_id"]] = phones[data["target"].split(":")[1].split("@")[0]]
            started[data["job_id"]] = time.monotonic()
        elif kind == "listening" and data["stage"] in ("confirm", "solved", "rating"):
            key = "2" if data["stage"] == "rating" and data["job_id"] % 2 else "1"
            await on_line[data["job_id"]].command("sndcode", key)
        elif kind == "reported":
            durations.append(time.monotonic() - started[data["job_id"]])
            outcomes.append(data["result"]["outcome"])
            if len(outcomes) == calls:
                finished.set()

    synth = Synthesizer([EspeakTts()], PromptCache(work / "prompts"))
    ua = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="12345", max_calls=lines))
    api = CallbackApi("http://api", token, transport=httpx.ASGITransport(app=app))
    worker = CallbackWorker(api, ua, synth, config=WorkerConfig(
        name="bench-gw", dial_uri=f"sip:{{phone}}@{where}", concurrency=lines, lease_seconds=60, poll_interval=0.5,
        spool_dir=str(work / "spool"),
    ), on_event=hook)
    try:
        for phone in phones.values():
            await phone.start()
        for phone in phones.values():
            await phone.wait_registered()
        await ua.start()
        # The gateway renders its fixed prompts at start (as the voice gateway does).
        from api.callbacks.survey import Matter, Survey

        warm = Survey(Matter(None, None, None, None))
        await synth.prerender([warm._ask_rating(), "好的，感谢您的支持，再见！"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            r = await client.post("/api/v1/callbacks/campaigns", json={},
                                  headers={"Authorization": f"Bearer {staff_token('agent')}"})
            r.raise_for_status()
        t0 = time.monotonic()
        task = asyncio.ensure_future(worker.run())
        await asyncio.wait_for(finished.wait(), 60 * calls)
        wall = time.monotonic() - t0
        worker.stop()
        await task
    finally:
        await ua.stop()
        await api.aclose()
        for phone in phones.values():
            await phone.stop()
        kamailio.stop()
    completed = outcomes.count("completed")
    return {
        "gateway_lines": lines, "calls": calls, "completed": completed, "outcomes": dict(
            (o, outcomes.count(o)) for o in sorted(set(outcomes))),
        "wall_seconds": round(wall, 1),
        "callbacks_per_hour_per_gateway": round(completed / wall * 3600, 1),
        "mean_call_seconds": round(statistics.mean(durations), 1),
        "p95_call_seconds": round(sorted(durations)[max(int(len(durations) * 0.95) - 1, 0)], 1),
        "per_line_per_hour": round(completed / wall * 3600 / lines, 1),
        "tts": "espeak-ng -v cmn (default speed); fixed prompts cached, personal ones rendered per call",
        "path": "worker → Kamailio → baresip (auto-answer, RFC 2833 keys), API in-process over HTTP, SQLite",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "note": "a citizen who presses keys at once; real callees talk and think, so expect fewer per hour",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--lines", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minsheng-callbacks-") as tmp:
        result = asyncio.run(run(args.calls, args.lines, Path(tmp)))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    out = ROOT / "bench" / "results" / "callbacks.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
