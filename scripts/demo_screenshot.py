"""Screenshot of /analytics on the demo data (run `make demo-data` first) → docs/analytics-dashboard.png.

    .venv/bin/python scripts/demo_screenshot.py [--start 2019-07-01 --end 2019-07-31]
Starts its own API on a free port against the demo database, logs in as a demo supervisor, waits
for the charts, saves a full-page screenshot, and stops the API.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", default="2019-07-01")
    parser.add_argument("--end", default="2019-07-31")
    parser.add_argument("--out", default=str(ROOT / "docs" / "analytics-dashboard.png"))
    args = parser.parse_args()

    from api.auth.models import User
    from api.auth.security import hash_password
    from api.core.db import session_factory
    from tests.support.browser import chromium
    from tests.support.processes import Service, free_port

    with session_factory()() as s:
        if s.query(User).filter_by(username="demo-analyst").first() is None:
            s.add(User(username="demo-analyst", full_name="数据分析演示", role="supervisor", password_hash=hash_password("demo-analyst")))
            s.commit()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.startswith("MINSHENG_")}
    env.update({"MINSHENG_SCHEDULER_INTERVAL_SECONDS": "0", "MINSHENG_RASA_URL": "http://127.0.0.1:9"})
    api = Service("api", [str(ROOT / ".venv/bin/uvicorn"), "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
                  env, Path(tempfile.mkdtemp(prefix="minsheng-shot-")))
    try:
        api.wait_http(f"http://127.0.0.1:{port}/health", timeout=120)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/analytics?start={args.start}&end={args.end}")
            page.fill("#username", "demo-analyst")
            page.fill("#password", "demo-analyst")
            page.click("#login-form button[type=submit]")
            page.wait_for_selector("#hotspots tr", timeout=120_000)
            page.wait_for_timeout(1500)  # chart animations settle
            page.screenshot(path=args.out, full_page=True)
    finally:
        api.stop()
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
