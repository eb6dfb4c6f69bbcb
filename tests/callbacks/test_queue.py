"""The job queue: scheduling from 待回访, claims under leases, restarts, retries, results on the ticket."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.callbacks import campaigns, queue, service, statistics
from api.callbacks.models import CallbackAttempt, CallbackJob, JobStatus
from api.callbacks.policy import CallbackPolicy, Outcome, Window, current_policy
from api.core import db as core_db
from api.tickets.models import Supervision, Ticket, TicketStatus
from tests.callbacks.conftest import make_ticket

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Jianhu, a Friday


def started(db_session: Session, now: datetime = NOW) -> None:
    campaigns.start_campaign(db_session=db_session, actor="zhangli", now=now)


def test_ticket_in_awaiting_callback_gets_one_job(db_session: Session) -> None:
    ticket = make_ticket(db_session)
    assert queue.sync(db_session=db_session, now=NOW) == 1
    assert queue.sync(db_session=db_session, now=NOW) == 0  # idempotent
    job = db_session.scalar(select(CallbackJob).where(CallbackJob.ticket_id == ticket.id))
    assert job is not None and job.status == JobStatus.queued and job.channel == "phone"
    assert job.round == 0 and job.due_at is not None and job.department_id == "cgj"


def test_nothing_is_claimed_without_a_running_campaign(db_session: Session) -> None:
    make_ticket(db_session)
    assert queue.claim(db_session=db_session, worker="w1", now=NOW) is None
    started(db_session)
    claim = queue.claim(db_session=db_session, worker="w1", now=NOW)
    assert claim is not None and claim.matter.citizen_name == "王建国" and claim.matter.summary == "路灯"
    campaign = campaigns.list_campaigns(db_session=db_session)[0]
    campaigns.set_campaign_status(db_session=db_session, campaign_id=campaign.id, status="paused")
    make_ticket(db_session, phone="13905150000")
    assert queue.claim(db_session=db_session, worker="w1", now=NOW) is None
    campaigns.set_campaign_status(db_session=db_session, campaign_id=campaign.id, status="running")
    assert queue.claim(db_session=db_session, worker="w1", now=NOW) is not None


def test_no_claim_outside_the_calling_window(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    make_ticket(db_session)
    started(db_session)
    policy = CallbackPolicy(windows=(Window.parse("09:00-12:00"), Window.parse("14:00-20:00")))
    lunch = datetime(2026, 11, 27, 4, 30, tzinfo=UTC)  # 12:30 local
    assert queue.claim(db_session=db_session, worker="w1", now=lunch, policy=policy) is None
    saturday = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    assert queue.claim(db_session=db_session, worker="w1", now=saturday, policy=policy) is None
    assert queue.claim(db_session=db_session, worker="w1", now=NOW, policy=policy) is not None


def test_concurrent_workers_never_share_a_job(database: str) -> None:
    with core_db.session_factory()() as s:
        for i in range(12):
            make_ticket(s, phone=f"1380515{i:04d}")
        started(s)
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        with core_db.session_factory()() as s:
            while True:
                claim = queue.claim(db_session=s, worker=name, now=NOW)
                if claim is None:
                    return
                with lock:
                    claimed.append(claim.job.id)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 12


def test_one_citizen_is_never_called_on_two_lines_at_once(db_session: Session) -> None:
    make_ticket(db_session, phone="13805150001")
    make_ticket(db_session, phone="13805150001", description="楼下餐馆油烟很大")
    started(db_session)
    first = queue.claim(db_session=db_session, worker="w1", now=NOW)
    assert first is not None
    assert queue.claim(db_session=db_session, worker="w2", now=NOW) is None
    queue.report(db_session=db_session, job_id=first.job.id, token=first.job.lease_token or "",
                   result=queue.Result(outcome=Outcome.no_answer), now=NOW)
    assert queue.claim(db_session=db_session, worker="w2", now=NOW) is not None


def test_dead_worker_job_is_reoffered_only_after_its_lease(db_session: Session) -> None:
    make_ticket(db_session)
    started(db_session)
    claim = queue.claim(db_session=db_session, worker="w1", now=NOW, lease_seconds=60)
    assert claim is not None
    old_token = claim.job.lease_token or ""
    # w1 heartbeats once, then dies.
    queue.heartbeat(db_session=db_session, job_id=claim.job.id, token=old_token, now=NOW + timedelta(seconds=30),
                      lease_seconds=60)
    assert queue.claim(db_session=db_session, worker="w2", now=NOW + timedelta(seconds=80)) is None
    again = queue.claim(db_session=db_session, worker="w2", now=NOW + timedelta(seconds=91))
    assert again is not None and again.job.id == claim.job.id and again.job.lease_owner == "w2"
    # The dead worker's late report is refused: the result cannot be applied twice.
    with pytest.raises(service.CallbackError) as err:
        queue.report(db_session=db_session, job_id=claim.job.id, token=old_token,
                       result=queue.Result(outcome=Outcome.completed, solved=True, rating="满意"))
    assert err.value.status_code == 409
    attempts = db_session.scalars(select(CallbackAttempt).where(CallbackAttempt.job_id == claim.job.id)).all()
    assert [a.outcome for a in attempts] == [Outcome.failed, None]


def test_completed_job_is_never_offered_again(db_session: Session) -> None:
    ticket = make_ticket(db_session)
    started(db_session)
    claim = queue.claim(db_session=db_session, worker="w1", now=NOW, lease_seconds=30)
    assert claim is not None
    queue.report(db_session=db_session, job_id=claim.job.id, token=claim.job.lease_token or "",
                   result=queue.Result(outcome=Outcome.completed, solved=True, rating="基本满意"), now=NOW)
    for later in (NOW + timedelta(minutes=5), NOW + timedelta(days=1)):
        assert queue.claim(db_session=db_session, worker="w2", now=later) is None
    db_session.expire_all()
    assert db_session.get(Ticket, ticket.id).status == TicketStatus.closed


def test_satisfied_closes_the_ticket(db_session: Session) -> None:
    ticket = make_ticket(db_session)
    started(db_session)
    claim = queue.claim(db_session=db_session, worker="w1", now=NOW)
    assert claim is not None
    job = queue.report(db_session=db_session, job_id=claim.job.id, token=claim.job.lease_token or "",
                         result=queue.Result(outcome=Outcome.completed, solved=True, rating="基本满意",
                                               transcript=[{"who": "bot", "text": "您好"}]), now=NOW)
    db_session.expire_all()
    ticket = db_session.get(Ticket, ticket.id)
    assert ticket.status == TicketStatus.closed and ticket.satisfaction == "基本满意"
    assert ticket.events[-1].action == "close" and "基本满意" in (ticket.events[-1].note or "")
    result = ticket.events[-2]
    assert result.action == "callback" and result.data["rating"] == "基本满意" and result.data["transcript"]
    assert job.status == JobStatus.done and job.applied and job.transcript


def test_dissatisfied_goes_back_for_rework_and_escalates(db_session: Session) -> None:
    ticket = make_ticket(db_session)
    started(db_session)
    claim = queue.claim(db_session=db_session, worker="w1", now=NOW)
    assert claim is not None
    queue.report(db_session=db_session, job_id=claim.job.id, token=claim.job.lease_token or "",
                   result=queue.Result(outcome=Outcome.completed, solved=False, rating="不满意", reason="路灯还是不亮"),
                   now=NOW)
    db_session.expire_all()
    ticket = db_session.get(Ticket, ticket.id)
    assert ticket.status == TicketStatus.in_progress and ticket.rework_count == 1
    assert ticket.escalation_level == 1 and ticket.satisfaction == "不满意"
    supervision = db_session.scalar(select(Supervision).where(Supervision.ticket_id == ticket.id))
    assert supervision is not None and supervision.reason_kind == "dissatisfied" and "路灯还是不亮" in supervision.reason
    # After the rework the ticket comes back to 待回访: a new round is followed up again.
    ticket.status = TicketStatus.awaiting_callback
    db_session.commit()
    assert queue.sync(db_session=db_session, now=NOW) == 1
    rounds = db_session.scalars(select(CallbackJob.round).where(CallbackJob.ticket_id == ticket.id)).all()
    assert sorted(rounds) == [0, 1]


def test_no_answer_is_retried_with_backoff_then_closed_unrated(db_session: Session) -> None:
    ticket = make_ticket(db_session)
    started(db_session)
    now = NOW
    for attempt in (1, 2, 3):
        claim = queue.claim(db_session=db_session, worker="w1", now=now)
        assert claim is not None, f"attempt {attempt} not offered"
        job = queue.report(db_session=db_session, job_id=claim.job.id, token=claim.job.lease_token or "",
                             result=queue.Result(outcome=Outcome.no_answer, sip_status=480), now=now)
        if attempt < 3:
            assert job.status == JobStatus.retry
            assert queue.claim(db_session=db_session, worker="w1", now=now + timedelta(minutes=1)) is None
            now = job.next_attempt_at
    assert job.status == JobStatus.failed and job.attempts == 3
    db_session.expire_all()
    ticket = db_session.get(Ticket, ticket.id)
    assert ticket.status == TicketStatus.closed and ticket.satisfaction == "未回访"


def test_do_not_call(db_session: Session) -> None:
    service.add_optout(db_session=db_session, actor="zhangli", reason="本人来电要求不回访", phone="13805151234")
    ticket = make_ticket(db_session)
    other = make_ticket(db_session, phone="13905159999")
    queue.sync(db_session=db_session, now=NOW)
    jobs = {j.ticket_id: j for j in db_session.scalars(select(CallbackJob))}
    assert jobs[ticket.id].status == JobStatus.skipped and "不回访" in (jobs[ticket.id].skip_reason or "")
    assert jobs[other.id].status == JobStatus.queued
    # Registering later withdraws a job not yet dialled.
    service.add_optout(db_session=db_session, actor="zhangli", reason="电话里说不要再打", phone="13905159999")
    db_session.expire_all()
    assert db_session.get(CallbackJob, jobs[other.id].id).status == JobStatus.skipped
    started(db_session)
    assert queue.claim(db_session=db_session, worker="w1", now=NOW) is None


def test_refusal_during_the_call_registers_do_not_call(db_session: Session) -> None:
    make_ticket(db_session)
    started(db_session)
    claim = queue.claim(db_session=db_session, worker="w1", now=NOW)
    assert claim is not None
    queue.report(db_session=db_session, job_id=claim.job.id, token=claim.job.lease_token or "",
                   result=queue.Result(outcome=Outcome.refused), now=NOW)
    assert [o.phone for o in service.list_optouts(db_session=db_session)] == ["13805151234"]


def test_confidential_left_to_staff_by_default(db_session: Session) -> None:
    ticket = make_ticket(db_session, confidential=True)
    queue.sync(db_session=db_session, now=NOW)
    job = db_session.scalar(select(CallbackJob).where(CallbackJob.ticket_id == ticket.id))
    assert job.status == JobStatus.skipped and "保密" in (job.skip_reason or "")
    db_session.expire_all()
    assert db_session.get(Ticket, ticket.id).status == TicketStatus.awaiting_callback


def test_staff_closing_the_ticket_cancels_the_job(db_session: Session) -> None:
    ticket = make_ticket(db_session)
    queue.sync(db_session=db_session, now=NOW)
    ticket.status = TicketStatus.closed
    db_session.commit()
    queue.sync(db_session=db_session, now=NOW)
    job = db_session.scalar(select(CallbackJob).where(CallbackJob.ticket_id == ticket.id))
    assert job.status == JobStatus.cancelled


def _staff_closes(db_session: Session, ticket: Ticket, **body) -> None:
    from api.auth.deps import Principal
    from api.auth.models import Role
    from api.tickets import transitions
    from api.tickets.schemas import TransitionIn

    agent = Principal(username="zhangli", role=Role.agent)
    transitions.transition(db_session=db_session, ticket=ticket, principal=agent, body=TransitionIn(**body),
                                now=NOW + timedelta(hours=1))


def test_a_manual_rating_is_the_jobs_result_and_counts_in_the_rate(db_session: Session) -> None:
    rated, unrated = make_ticket(db_session), make_ticket(db_session, phone="13905150002")
    queue.sync(db_session=db_session, now=NOW)
    _staff_closes(db_session, rated, action="close", satisfaction="基本满意", note="坐席电话回访，群众基本满意")
    _staff_closes(db_session, unrated, action="close", satisfaction="未回访", note="群众已搬离，无法联系")
    queue.sync(db_session=db_session, now=NOW + timedelta(hours=2))
    job = db_session.scalar(select(CallbackJob).where(CallbackJob.ticket_id == rated.id))
    assert (job.status, job.outcome, job.rating, job.applied) == (JobStatus.done, Outcome.manual, "基本满意", True)
    assert job.reason == "坐席电话回访，群众基本满意"
    other = db_session.scalar(select(CallbackJob).where(CallbackJob.ticket_id == unrated.id))
    assert other.status == JobStatus.cancelled  # nothing rated: nothing to count
    stats = statistics.stats(db_session=db_session)
    assert stats["overall"]["basically_satisfied"] == 1 and stats["overall"]["valid"] == 1
    assert stats["overall"]["rate"] == 1.0


def test_a_rating_given_before_any_job_was_scheduled_still_counts(db_session: Session) -> None:
    ticket = make_ticket(db_session)  # 待回访, and staff close it before the scheduler runs
    _staff_closes(db_session, ticket, action="close", satisfaction="满意", note="当场电话回访，满意")
    queue.sync(db_session=db_session, now=NOW + timedelta(hours=2))
    [job] = db_session.scalars(select(CallbackJob).where(CallbackJob.ticket_id == ticket.id)).all()
    assert (job.status, job.outcome, job.rating) == (JobStatus.done, Outcome.manual, "满意")
    queue.sync(db_session=db_session, now=NOW + timedelta(hours=3))  # idempotent
    assert statistics.stats(db_session=db_session)["overall"]["valid"] == 1


def test_stats_formula(db_session: Session) -> None:
    ratings = ["满意", "满意", "基本满意", "不满意", "满意"]
    for i in range(len(ratings)):
        make_ticket(db_session, phone=f"1390515{i:04d}", department="cgj" if i < 3 else "scjgj")
    started(db_session)
    for rating in ratings:
        claim = queue.claim(db_session=db_session, worker="w1", now=NOW)
        assert claim is not None
        queue.report(db_session=db_session, job_id=claim.job.id, token=claim.job.lease_token or "",
                       result=queue.Result(outcome=Outcome.completed, solved=rating != "不满意", rating=rating), now=NOW)
    # One unreachable follow-up: not a valid one, not in the rate.
    make_ticket(db_session, phone="13705150000")
    queue.sync(db_session=db_session, now=NOW)
    data = statistics.stats(db_session=db_session)
    assert data["overall"] == {"satisfied": 3, "basically_satisfied": 1, "dissatisfied": 1, "valid": 5, "rate": 0.8}
    by = {d["department_id"]: d for d in data["departments"]}
    assert by["cgj"]["rate"] == 1.0 and by["scjgj"]["rate"] == 0.5
    assert "有效回访数" in data["formula"]


def test_policy_from_settings(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.core.settings import get_settings

    monkeypatch.setenv("MINSHENG_CALLBACK_WINDOWS", "08:30-11:30,15:00-19:00")
    monkeypatch.setenv("MINSHENG_CALLBACK_BACKOFF_MINUTES", "10,60")
    get_settings.cache_clear()
    policy = current_policy()
    assert [str(w) for w in policy.windows] == ["08:30-11:30", "15:00-19:00"]
    assert policy.backoff == (timedelta(minutes=10), timedelta(minutes=60))


def test_result_recorded_before_a_crash_is_put_on_the_ticket_later(db_session: Session) -> None:
    ticket = make_ticket(db_session)
    started(db_session)
    claim = queue.claim(db_session=db_session, worker="w1", now=NOW)
    assert claim is not None
    job = db_session.get(CallbackJob, claim.job.id)
    # The API died between saving the result and moving the ticket.
    job.status, job.rating, job.solved, job.outcome = JobStatus.done, "满意", True, Outcome.completed
    job.completed_at, job.applied = NOW, False
    db_session.commit()
    queue.sync(db_session=db_session, now=NOW + timedelta(seconds=30))  # a report may still be applying it
    db_session.expire_all()
    assert db_session.get(Ticket, ticket.id).status == TicketStatus.awaiting_callback
    queue.sync(db_session=db_session, now=NOW + timedelta(minutes=5))
    db_session.expire_all()
    assert db_session.get(Ticket, ticket.id).status == TicketStatus.closed
    assert db_session.get(CallbackJob, claim.job.id).applied


def test_campaigns_are_per_day(db_session: Session) -> None:
    make_ticket(db_session)
    started(db_session)
    claim = queue.claim(db_session=db_session, worker="w1", now=NOW)
    assert claim is not None
    queue.report(db_session=db_session, job_id=claim.job.id, token=claim.job.lease_token or "",
                   result=queue.Result(outcome=Outcome.busy, sip_status=486), now=NOW)
    tomorrow = NOW + timedelta(days=1)
    assert queue.claim(db_session=db_session, worker="w1", now=tomorrow) is None  # not started today
    today = campaigns.start_campaign(db_session=db_session, actor="zhangli", now=tomorrow)
    again = queue.claim(db_session=db_session, worker="w1", now=tomorrow)
    assert again is not None and again.job.id == claim.job.id and again.job.campaign_id == today.id
    assert [c.status for c in campaigns.list_campaigns(db_session=db_session)] == ["running", "finished"]
