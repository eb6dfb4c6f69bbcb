"""The 回访 job queue: scheduling from tickets, claims under a lease, heartbeats and reports.

The queue lives in `callback_jobs`. A worker claims one job at a time:

* PostgreSQL: candidates are read with `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers
  never wait on or pick the same row;
* every dialect (SQLite included): the claim itself is a conditional `UPDATE … WHERE id = :id AND
  <still claimable>`; only the worker whose UPDATE changed the row holds it (rowcount = 1).

A claim carries a lease (`lease_expires_at`, renewed by heartbeats) and a random `lease_token`. A
job whose worker died is offered again only after its lease expired; a report with a stale token
is refused, and a job in a final state (done, failed, skipped, cancelled) is never offered again.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from api.callbacks.models import CallbackAttempt, CallbackCampaign, CallbackJob, CallbackOptOut, JobStatus
from api.callbacks.policy import (
    CallbackPolicy,
    Outcome,
    current_policy,
    in_window,
    plan_first,
    retry_at,
)
from api.callbacks.service import (
    BOT,
    GOOD,
    CallbackError,
    is_opted_out,
    local_day,
    matter_for,
    running_campaign,
)
from api.callbacks.survey import Matter
from api.callbacks.ticket_result import apply_to_ticket, close_unrated
from api.core.db import utcnow
from api.core.settings import get_settings
from api.tickets.models import Ticket, TicketEvent, TicketStatus

log = logging.getLogger(__name__)

APPLY_GRACE = timedelta(minutes=2)


# ---- scheduling ---------------------------------------------------------------------------------

def schedule(*, db_session: Session, ticket: Ticket, now: datetime, policy: CallbackPolicy | None = None) -> CallbackJob | None:
    """Create the follow-up job for this round of a 待回访 ticket (None if it already exists)."""
    policy = policy or current_policy()
    plan = plan_first(
        ready_at=now, phone=ticket.phone, conversation_id=ticket.conversation_id, ticket_channel=ticket.channel,
        confidential=ticket.confidential, opted_out=is_opted_out(db_session=db_session, ticket=ticket), policy=policy,
    )
    job = CallbackJob(
        ticket_id=ticket.id, ticket_no=ticket.ticket_no, round=ticket.rework_count or 0,
        department_id=ticket.lead_department, channel=plan.channel or "phone", phone=ticket.phone,
        conversation_id=ticket.conversation_id, max_attempts=policy.max_attempts,
        next_attempt_at=plan.first_attempt_at or now, due_at=plan.due_at, created_at=now, updated_at=now,
    )
    if plan.channel is None:
        job.status, job.skip_reason, job.completed_at = JobStatus.skipped, plan.skip_reason, now
    else:
        campaign = running_campaign(db_session=db_session, day=local_day(now, policy))
        job.campaign_id = campaign.id if campaign else None
    try:
        with db_session.begin_nested():
            db_session.add(job)
    except IntegrityError:  # another API instance scheduled this round first
        return None
    if plan.channel is None and get_settings().callbacks.close_without_rating and plan.skip_reason and "保密" not in plan.skip_reason:
        close_unrated(db_session, ticket, f"{plan.skip_reason}，按规定办结（不计入满意率）", now)
    return job


def sync(*, db_session: Session, now: datetime | None = None, policy: CallbackPolicy | None = None) -> int:
    """Reconcile with the ticket workflow: schedule every 待回访 round that has no job yet and cancel
    open jobs whose ticket left 待回访 another way. Idempotent; safe to run from many places."""
    now = now or utcnow()
    policy = policy or current_policy()
    job = aliased(CallbackJob)
    missing = db_session.scalars(
        select(Ticket).where(
            Ticket.status == TicketStatus.awaiting_callback,
            ~exists().where(and_(job.ticket_id == Ticket.id, job.round == func.coalesce(Ticket.rework_count, 0))),
        ).limit(500)
    ).all()
    created = 0
    for ticket in missing:
        if schedule(db_session=db_session, ticket=ticket, now=now, policy=policy) is not None:
            created += 1
    _record_hand_ratings(db_session, now, policy)
    # A result recorded just before a crash, never put on the ticket. The grace period keeps this
    # from racing the report that is applying it right now (the ticket's version lock would refuse
    # a second transition anyway).
    for job in db_session.scalars(select(CallbackJob).where(
            CallbackJob.status == JobStatus.done, CallbackJob.applied.is_(False),
            CallbackJob.completed_at < now - APPLY_GRACE).limit(100)).all():
        ticket = db_session.get(Ticket, job.ticket_id)
        if ticket is not None:
            apply_to_ticket(db_session=db_session, job=job, ticket=ticket, now=now)
    stale = db_session.scalars(select(CallbackJob).where(
        CallbackJob.status.in_((JobStatus.queued, JobStatus.retry, JobStatus.chat_waiting)),
        CallbackJob.ticket_id.in_(select(Ticket.id).where(Ticket.status != TicketStatus.awaiting_callback)),
    ).limit(500)).all()
    manual = 0
    for job in stale:
        if _take_manual_result(db_session, job):
            manual += 1
        else:
            job.status, job.skip_reason, job.completed_at, job.updated_at = (
                JobStatus.cancelled, "工单已不在待回访状态", now, now)
    db_session.commit()
    if created or stale:
        log.info("callback sync: %s scheduled, %s manual results, %s cancelled", created, manual, len(stale) - manual)
    return created


MANUAL_LOOKBACK = timedelta(days=7)


def _record_hand_ratings(db_session: Session, now: datetime, policy: CallbackPolicy) -> None:
    """A ticket staff closed with a rating before any job was scheduled for that round (closed
    straight after 审核通过) still had its follow-up: file it as a finished 人工回访 job."""
    job = aliased(CallbackJob)
    closed = db_session.scalars(select(Ticket).where(
        Ticket.status == TicketStatus.closed, Ticket.satisfaction.in_(GOOD), Ticket.closed_at >= now - MANUAL_LOOKBACK,
        ~exists().where(and_(job.ticket_id == Ticket.id, job.round == func.coalesce(Ticket.rework_count, 0))),
    ).limit(500)).all()
    for ticket in closed:
        record = CallbackJob(
            ticket_id=ticket.id, ticket_no=ticket.ticket_no, round=ticket.rework_count or 0,
            department_id=ticket.lead_department, phone=ticket.phone, conversation_id=ticket.conversation_id,
            max_attempts=policy.max_attempts, next_attempt_at=ticket.closed_at, created_at=ticket.closed_at,
            updated_at=ticket.closed_at,
        )
        if not _take_manual_result(db_session, record):
            continue
        try:
            with db_session.begin_nested():
                db_session.add(record)
        except IntegrityError:  # another instance filed it first
            continue


def _take_manual_result(db_session: Session, job: CallbackJob) -> bool:
    """Staff who rang the citizen themselves and closed the ticket (满意/基本满意) or sent it back
    (不满意) did this round's follow-up: the job carries their result, so 满意率 counts it."""
    event = db_session.scalars(select(TicketEvent).where(
        TicketEvent.ticket_id == job.ticket_id, TicketEvent.action.in_(("close", "dissatisfied")),
        TicketEvent.created_at >= job.created_at, TicketEvent.actor != BOT.username,
    ).order_by(TicketEvent.id.desc()).limit(1)).first()
    if event is None:
        return False
    rating = "不满意" if event.action == "dissatisfied" else (event.data or {}).get("satisfaction")
    if rating not in (*GOOD, "不满意"):
        return False  # 未回访: closed without a rating, nothing to count
    job.status, job.outcome, job.rating, job.applied = JobStatus.done, Outcome.manual, rating, True
    job.solved = rating != "不满意"
    job.reason = event.note
    job.completed_at = job.updated_at = event.created_at
    job.skip_reason = None
    return True


# ---- the queue: claim, heartbeat, report --------------------------------------------------------

@dataclass
class Claim:
    job: CallbackJob
    attempt: CallbackAttempt
    matter: Matter


def _claimable(now: datetime, policy: CallbackPolicy):
    # Today's campaign only: yesterday's unfinished jobs join today's when staff start it.
    running = select(CallbackCampaign.id).where(CallbackCampaign.status == "running",
                                                CallbackCampaign.day == local_day(now, policy))
    campaign_ok = CallbackJob.campaign_id.in_(running)
    if get_settings().callbacks.auto_campaign:
        campaign_ok = or_(campaign_ok, CallbackJob.campaign_id.is_(None))
    other = aliased(CallbackJob)
    busy_line = exists().where(  # never two calls to one number at once (two tickets of one citizen)
        other.phone == CallbackJob.phone, other.id != CallbackJob.id, other.status == JobStatus.claimed,
        other.lease_expires_at > now,
    )
    fresh = and_(CallbackJob.status.in_((JobStatus.queued, JobStatus.retry)), CallbackJob.next_attempt_at <= now)
    expired = and_(CallbackJob.status == JobStatus.claimed, CallbackJob.lease_expires_at <= now)
    return and_(CallbackJob.channel == "phone", campaign_ok, or_(fresh, expired), ~busy_line)


def claim(
    *, db_session: Session, worker: str, now: datetime | None = None, lease_seconds: int | None = None,
    policy: CallbackPolicy | None = None,
) -> Claim | None:
    """Give this worker one phone job to dial now, under a lease; None when nothing may be called."""
    now = now or utcnow()
    policy = policy or current_policy()
    sync(db_session=db_session, now=now, policy=policy)
    if not in_window(now, policy):
        return None  # outside the allowed calling windows (or a rest day): nobody is called
    lease = timedelta(seconds=lease_seconds or get_settings().callbacks.lease_seconds)
    dialect = db_session.get_bind().dialect.name
    for _ in range(5):  # lost races are retried with the next candidate
        query = select(CallbackJob.id).where(_claimable(now, policy)).order_by(
            CallbackJob.next_attempt_at, CallbackJob.id).limit(1)
        if dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=CallbackJob)
        job_id = db_session.scalar(query)
        if job_id is None:
            db_session.commit()
            return None
        token = secrets.token_hex(8)
        won = db_session.execute(
            update(CallbackJob).where(CallbackJob.id == job_id, _claimable(now, policy)).values(
                status=JobStatus.claimed, lease_owner=worker, lease_token=token, lease_expires_at=now + lease,
                heartbeat_at=now, updated_at=now,
            ).execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            db_session.rollback()
            continue
        job = db_session.get(CallbackJob, job_id, populate_existing=True)
        assert job is not None
        # An attempt left open by a worker that died: it never reported, so it is closed as lost.
        for stale in db_session.scalars(select(CallbackAttempt).where(
                CallbackAttempt.job_id == job.id, CallbackAttempt.ended_at.is_(None))):
            stale.ended_at, stale.outcome, stale.detail = now, Outcome.failed, "外呼程序中断，租约过期后重新派发"
        attempt = CallbackAttempt(job_id=job.id, number=job.attempts + 1, worker=worker, lease_token=token, started_at=now)
        db_session.add(attempt)
        ticket = db_session.get(Ticket, job.ticket_id)
        assert ticket is not None
        db_session.commit()
        return Claim(job=job, attempt=attempt, matter=matter_for(ticket, policy))
    return None


def _held(db_session: Session, job_id: int, token: str, now: datetime) -> CallbackJob:
    job = db_session.get(CallbackJob, job_id, populate_existing=True)
    if job is None:
        raise CallbackError(404, f"没有找到回访任务 {job_id}。")
    if job.status != JobStatus.claimed or job.lease_token != token:
        raise CallbackError(409, "这个回访任务已不归你处理（租约已过期并被重新派发，或已完成）。")
    return job


def heartbeat(*, db_session: Session, job_id: int, token: str, now: datetime | None = None,
              lease_seconds: int | None = None) -> CallbackJob:
    now = now or utcnow()
    job = _held(db_session, job_id, token, now)
    job.heartbeat_at = now
    job.lease_expires_at = now + timedelta(seconds=lease_seconds or get_settings().callbacks.lease_seconds)
    db_session.commit()
    return job


def release(*, db_session: Session, job_id: int, token: str, now: datetime | None = None) -> CallbackJob:
    """A worker shutting down before it dialled hands the job back at once (no attempt counted)."""
    now = now or utcnow()
    job = _held(db_session, job_id, token, now)
    for attempt in db_session.scalars(select(CallbackAttempt).where(
            CallbackAttempt.job_id == job.id, CallbackAttempt.lease_token == token)):
        db_session.delete(attempt)
    job.status = JobStatus.retry if job.attempts else JobStatus.queued
    job.lease_owner = job.lease_token = None
    job.lease_expires_at = None
    job.updated_at = now
    db_session.commit()
    return job


def store_recording(*, db_session: Session, job_id: int, token: str, wav: bytes, now: datetime | None = None) -> str:
    """Keep the recorded reason (8 kHz WAV from the worker) under MINSHENG_CALLBACK_RECORDINGS_DIR."""
    now = now or utcnow()
    job = _held(db_session, job_id, token, now)
    if not wav.startswith(b"RIFF") or len(wav) > 20_000_000:
        raise CallbackError(422, "录音必须是 WAV 文件（不超过 20 MB）。")
    folder = Path(get_settings().callbacks.recordings_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{job.ticket_no}-r{job.round}-a{job.attempts + 1}-{token[:6]}.wav"
    path.write_bytes(wav)
    job.reason_audio = str(path.resolve())
    db_session.commit()
    return job.reason_audio


@dataclass
class Result:
    outcome: Outcome
    solved: bool | None = None
    rating: str | None = None
    reason: str | None = None
    reason_audio: str | None = None
    transcript: list[dict[str, Any]] | None = None
    sip_status: int | None = None
    detail: str | None = None


def report(*, db_session: Session, job_id: int, token: str, result: Result, now: datetime | None = None,
           policy: CallbackPolicy | None = None) -> CallbackJob:
    """A worker's account of its attempt: record it, then finish, retry later or give up."""
    now = now or utcnow()
    policy = policy or current_policy()
    job = _held(db_session, job_id, token, now)
    attempt = db_session.scalar(select(CallbackAttempt).where(
        CallbackAttempt.job_id == job.id, CallbackAttempt.lease_token == token))
    if attempt is not None:
        attempt.ended_at, attempt.outcome = now, result.outcome
        attempt.sip_status, attempt.detail = result.sip_status, result.detail
    _record(db_session, job, result, now, policy)
    return job


def _record(db_session: Session, job: CallbackJob, result: Result, now: datetime, policy: CallbackPolicy) -> None:
    job.attempts += 1
    job.outcome = result.outcome
    job.lease_owner = job.lease_token = None
    job.lease_expires_at = None
    job.updated_at = now
    if result.transcript:
        job.transcript = [*(job.transcript or []), {"attempt": job.attempts, "turns": result.transcript}]
    if result.solved is not None:
        job.solved = result.solved
    if result.rating:
        job.rating = result.rating
    if result.reason:
        job.reason = result.reason
    if result.reason_audio and result.reason_audio != "uploaded":
        job.reason_audio = result.reason_audio
    ticket = db_session.get(Ticket, job.ticket_id)
    assert ticket is not None
    decided = result.outcome == Outcome.completed or (result.outcome == Outcome.unrated and result.solved is False)
    if decided:
        job.status, job.completed_at = JobStatus.done, now
        apply_to_ticket(db_session=db_session, job=job, ticket=ticket, now=now)
        return
    if result.outcome == Outcome.refused:
        if job.phone:
            db_session.add(CallbackOptOut(phone=job.phone, ticket_id=job.ticket_id, reason="回访时群众要求不再来电",
                                          created_by=BOT.username, created_at=now))
        job.status, job.completed_at, job.skip_reason = JobStatus.failed, now, "群众拒绝回访"
        if get_settings().callbacks.close_without_rating:
            close_unrated(db_session, ticket, "群众拒绝回访，按规定办结（不计入满意率）", now)
        db_session.commit()
        return
    when = retry_at(attempt_no=job.attempts, outcome=result.outcome, ended_at=now, policy=policy)
    if when is not None and job.attempts < job.max_attempts:
        job.status, job.next_attempt_at = JobStatus.retry, when
        db_session.commit()
        return
    job.status, job.completed_at = JobStatus.failed, now
    if result.outcome == Outcome.wrong_person:
        job.skip_reason = "接听人不是诉求人，号码可能有误：请工作人员核实"
    else:
        job.skip_reason = f"{job.attempts}次回访未成功"
        if get_settings().callbacks.close_without_rating:
            close_unrated(db_session, ticket, f"{job.attempts}次回访均未成功（{result.outcome}），按规定办结（不计入满意率）", now)
    db_session.commit()
