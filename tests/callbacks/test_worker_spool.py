"""A worker that crashed after the call but before the API took the result delivers it on restart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from api.tickets.models import Ticket, TicketStatus
from telephony.callback_worker import CallbackApi, CallbackWorker, WorkerConfig, speakable
from tests.callbacks.conftest import SERVICE_TOKEN, make_ticket, staff_token


def test_spooled_result_is_delivered_on_restart(database: str, db_session: Session, tmp_path: Path) -> None:
    from api.main import create_app

    ticket = make_ticket(db_session)
    app = create_app()
    spool = tmp_path / "spool"
    spool.mkdir()

    async def scenario() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c:
            r = await c.post("/api/v1/callbacks/campaigns", json={},
                             headers={"Authorization": f"Bearer {staff_token()}"})
            assert r.status_code == 201
            job = (await c.post("/api/v1/callbacks/jobs/claim", json={"worker": "gw-1"},
                                headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})).json()
        # The call ended with a rating, the worker wrote its spool file and then died.
        (spool / f"job-{job['job_id']}.json").write_text(json.dumps({
            "job_id": job["job_id"], "lease_token": job["lease_token"],
            "result": {"outcome": "completed", "solved": True, "rating": "满意", "transcript": []}}), encoding="utf-8")
        api = CallbackApi("http://api", SERVICE_TOKEN, transport=httpx.ASGITransport(app=app))
        worker = CallbackWorker(api, None, None, config=WorkerConfig(spool_dir=str(spool)))  # type: ignore[arg-type]
        try:
            return await worker.flush_spool()
        finally:
            await api.aclose()

    assert asyncio.run(scenario()) == 1
    assert not list(spool.iterdir())
    db_session.expire_all()
    t = db_session.get(Ticket, ticket.id)
    assert t.status == TicketStatus.closed and t.satisfaction == "满意"


def test_numbers_are_read_digit_by_digit() -> None:
    assert speakable("这里是建湖12345热线") == "这里是建湖幺二三四五热线"
    assert speakable("11月20日") == "11月20日"
