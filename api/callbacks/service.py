"""智能回访: scheduling from tickets, the job queue with leases, results onto the ticket, chat follow-up,
campaigns, statistics and export. Keyword-only functions, no HTTP (routes.py is thin).

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

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from io import BytesIO
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from api.auth.deps import Principal
from api.auth.models import Role
from api.callbacks.models import (
    OPEN_JOB_STATUSES,
    CallbackAttempt,
    CallbackCampaign,
    CallbackJob,
    CallbackOptOut,
    JobStatus,
)
from api.callbacks.policy import (
    CallbackPolicy,
    ConfidentialMode,
    Outcome,
    callback_settings,
    current_policy,
    in_window,
    next_window_start,
    plan_first,
    retry_at,
    satisfaction_rate,
)
from api.callbacks.survey import Matter, parse_rating, parse_yes_no, safe_summary
from api.core.db import utcnow
from api.tickets.models import Ticket, TicketStatus

log = logging.getLogger(__name__)

BOT = Principal(username="callback-bot", role=Role.service)
APPLY_GRACE = timedelta(minutes=2)
GOOD = ("满意", "基本满意")


class CallbackError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


# ---- scheduling ---------------------------------------------------------------------------------

def is_opted_out(*, db_session: Session, ticket: Ticket) -> bool:
    conds = [CallbackOptOut.ticket_id == ticket.id]
    if ticket.phone:
        conds.append(CallbackOptOut.phone == ticket.phone)
    return db_session.scalar(select(CallbackOptOut.id).where(or_(*conds)).limit(1)) is not None


def _running_campaign(db_session: Session, day: date) -> CallbackCampaign | None:
    return db_session.scalar(
        select(CallbackCampaign).where(CallbackCampaign.day == day, CallbackCampaign.status.in_(("running", "paused")))
        .order_by(CallbackCampaign.id.desc()).limit(1)
    )


def local_day(moment: datetime, policy: CallbackPolicy) -> date:
    return moment.astimezone(policy.tz).date()


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
        campaign = _running_campaign(db_session, local_day(now, policy))
        job.campaign_id = campaign.id if campaign else None
    try:
        with db_session.begin_nested():
            db_session.add(job)
    except IntegrityError:  # another API instance scheduled this round first
        return None
    if plan.channel is None and callback_settings().close_without_rating and plan.skip_reason and "保密" not in plan.skip_reason:
        _close_unrated(db_session, ticket, f"{plan.skip_reason}，按规定办结（不计入满意率）", now)
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
    from api.tickets.models import TicketEvent

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


def matter_for(ticket: Ticket, policy: CallbackPolicy) -> Matter:
    summary: str | None
    if ticket.confidential and policy.confidential != ConfidentialMode.normal:
        summary = None
    else:
        summary = safe_summary(ticket.category_level3 or ticket.category_level2 or ticket.description)
    name = None if ticket.anonymous else (ticket.citizen_name or None)
    tail = ticket.phone[-4:] if ticket.phone and len(ticket.phone) >= 4 else None
    return Matter(citizen_name=name, phone_tail=tail, accepted_on=local_day(ticket.created_at, policy),
                  summary=summary, hotline=callback_settings().hotline_name)


def _claimable(now: datetime, policy: CallbackPolicy):
    # Today's campaign only: yesterday's unfinished jobs join today's when staff start it.
    running = select(CallbackCampaign.id).where(CallbackCampaign.status == "running",
                                                CallbackCampaign.day == local_day(now, policy))
    campaign_ok = CallbackJob.campaign_id.in_(running)
    if callback_settings().auto_campaign:
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
    lease = timedelta(seconds=lease_seconds or callback_settings().lease_seconds)
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
    job.lease_expires_at = now + timedelta(seconds=lease_seconds or callback_settings().lease_seconds)
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
    from pathlib import Path

    now = now or utcnow()
    job = _held(db_session, job_id, token, now)
    if not wav.startswith(b"RIFF") or len(wav) > 20_000_000:
        raise CallbackError(422, "录音必须是 WAV 文件（不超过 20 MB）。")
    folder = Path(callback_settings().recordings_dir)
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
        if callback_settings().close_without_rating:
            _close_unrated(db_session, ticket, "群众拒绝回访，按规定办结（不计入满意率）", now)
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
        if callback_settings().close_without_rating:
            _close_unrated(db_session, ticket, f"{job.attempts}次回访均未成功（{result.outcome}），按规定办结（不计入满意率）", now)
    db_session.commit()


# ---- results onto the ticket (through the ticket workflow) -------------------------------------

def _transition(db_session: Session, ticket: Ticket, now: datetime, **body: Any) -> bool:
    from api.tickets import workflow_service
    from api.tickets.schemas import TransitionIn
    from api.tickets.workflow import WorkflowError

    if ticket.status != TicketStatus.awaiting_callback:
        return False
    db_session.commit()  # our own rows are safe before the ticket moves (the workflow commits on its own)
    try:
        workflow_service.transition(db_session=db_session, ticket=ticket, principal=BOT, body=TransitionIn(**body), now=now)
    except WorkflowError as exc:
        log.warning("callback result for %s not applied: %s", ticket.ticket_no, exc.detail)
        db_session.rollback()
        return False
    return True


def _close_unrated(db_session: Session, ticket: Ticket, note: str, now: datetime) -> None:
    _transition(db_session, ticket, now, action="close", satisfaction="未回访", note=note)


def describe_result(job: CallbackJob) -> str:
    solved = {True: "已解决", False: "未解决", None: "未答"}[job.solved]
    text = f"智能回访（第{job.attempts}次{'对话' if job.channel == 'chat' else '电话'}）：{solved}，{job.rating or '未评价'}"
    if job.reason:
        text += f"。原因：{job.reason}"
    return text


def apply_to_ticket(*, db_session: Session, job: CallbackJob, ticket: Ticket, now: datetime) -> None:
    """满意/基本满意 and solved → 已办结; 不满意 or unsolved → 退回重办 + 提级督办 (the workflow does both)."""
    from api.tickets.service import record_event

    note = describe_result(job)
    # The whole result on the ticket's own history (the transition below adds its close/rework event).
    record_event(db_session=db_session, ticket=ticket, action="callback", actor=BOT.username, note=note, data={
        "job_id": job.id, "channel": job.channel, "solved": job.solved, "rating": job.rating, "reason": job.reason,
        "recording": bool(job.reason_audio), "transcript": (job.transcript or [])[-1:] or None,
    }, created_at=now)
    if job.rating in GOOD and job.solved is not False:
        applied = _transition(db_session, ticket, now, action="close", satisfaction=job.rating, note=note)
    else:
        applied = _transition(db_session, ticket, now, action="dissatisfied", note=note)
    job.applied = True  # handled: moved through the workflow, or noted on a ticket that had moved on
    if not applied:
        record_event(db_session=db_session, ticket=ticket, action="callback_result", actor=BOT.username,
                     note=f"{note}（工单当前为「{ticket.status}」，未改变状态）", created_at=now)
    db_session.commit()


# ---- chat follow-up -----------------------------------------------------------------------------

CHAT_PREFIX = "/callback_answer"


def _payload(job_id: int, **values: str) -> str:
    return CHAT_PREFIX + json.dumps({"job": job_id, **values}, ensure_ascii=False, separators=(",", ":"))


def parse_payload(payload: str | None) -> dict[str, Any] | None:
    if not payload or not payload.startswith(CHAT_PREFIX):
        return None
    try:
        data = json.loads(payload[len(CHAT_PREFIX):])
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("job"), int) else None


@dataclass
class ChatPost:
    conversation_id: str
    message_id: int


def _post(db_session: Session, job: CallbackJob, text: str, buttons: list[dict[str, str]] | None) -> ChatPost | None:
    from api.conversations import service as conversations
    from api.conversations.models import Role as MessageRole

    conversation = conversations.get(db_session=db_session, conversation_id=job.conversation_id or "")
    if conversation is None:
        return None
    message = conversations.add_message(db_session, conversation, MessageRole.bot, text, buttons=buttons)
    if buttons:  # the hub forwards only payloads it offered
        conversation.offered_payloads = [b["payload"] for b in buttons]
    db_session.flush()
    job.chat_message_id = message.id
    return ChatPost(conversation.id, message.id)


def _solved_question(job: CallbackJob, matter: Matter) -> tuple[str, list[dict[str, str]]]:
    when = f"{matter.accepted_on.month}月{matter.accepted_on.day}日" if matter.accepted_on else "前几天"
    what = f"关于{matter.summary}的问题" if matter.summary else "问题"
    text = (f"您好，这里是{matter.hotline}。您{when}反映的{what}（工单号{job.ticket_no}），承办单位已经答复。"
            "想跟您做个回访：您反映的问题解决了吗？")
    return text, [{"title": "已解决", "payload": _payload(job.id, solved="yes")},
                  {"title": "未解决", "payload": _payload(job.id, solved="no")}]


def _rating_question(job: CallbackJob) -> tuple[str, list[dict[str, str]]]:
    return "请您对这次办理给个评价：", [
        {"title": r, "payload": _payload(job.id, rating=r)} for r in ("满意", "基本满意", "不满意")]


def start_chat_followups(*, db_session: Session, now: datetime | None = None,
                         policy: CallbackPolicy | None = None) -> list[ChatPost]:
    """Post the first question into the conversation of each due chat job (in calling windows too:
    a message at midnight is as unwelcome as a call); switch stale ones over to the phone."""
    now = now or utcnow()
    policy = policy or current_policy()
    posts: list[ChatPost] = []
    if in_window(now, policy):
        due = db_session.scalars(select(CallbackJob).where(
            CallbackJob.channel == "chat", CallbackJob.status == JobStatus.queued, CallbackJob.next_attempt_at <= now,
        ).limit(200)).all()
        for job in due:
            ticket = db_session.get(Ticket, job.ticket_id)
            assert ticket is not None
            text, buttons = _solved_question(job, matter_for(ticket, policy))
            post = _post(db_session, job, text, buttons)
            if post is None:
                _to_phone(job, now, policy, "对话已不存在")
                continue
            job.status, job.chat_state = JobStatus.chat_waiting, {"stage": "solved"}
            job.chat_deadline_at = now + policy.chat_wait
            job.updated_at = now
            db_session.add(CallbackAttempt(job_id=job.id, number=job.attempts + 1, worker="chat",
                                           lease_token=f"chat-{job.id}", started_at=now))
            posts.append(post)
    for job in db_session.scalars(select(CallbackJob).where(
            CallbackJob.status == JobStatus.chat_waiting, CallbackJob.chat_deadline_at <= now)).all():
        _to_phone(job, now, policy, "对话回访未答复")
    db_session.commit()
    return posts


def _to_phone(job: CallbackJob, now: datetime, policy: CallbackPolicy, why: str) -> None:
    for attempt in job.attempt_log:
        if attempt.ended_at is None:
            attempt.ended_at, attempt.outcome, attempt.detail = now, Outcome.no_answer, why
    if job.phone:
        job.channel, job.status = "phone", JobStatus.queued
        job.next_attempt_at = next_window_start(now, policy)
        job.skip_reason = f"{why}，改为电话回访"
    else:
        job.status, job.completed_at, job.skip_reason = JobStatus.failed, now, f"{why}，且没有联系电话"
    job.updated_at = now


def chat_answer(*, db_session: Session, conversation_id: str, payload: str | None = None, text: str | None = None,
                now: datetime | None = None, policy: CallbackPolicy | None = None) -> tuple[CallbackJob | None, ChatPost | None]:
    """One answer from the citizen in the chat (a button payload or typed text)."""
    now = now or utcnow()
    policy = policy or current_policy()
    data = parse_payload(payload)
    query = select(CallbackJob).where(CallbackJob.conversation_id == conversation_id,
                                      CallbackJob.status == JobStatus.chat_waiting)
    if data is not None:
        query = query.where(CallbackJob.id == data["job"])
    job = db_session.scalars(query.order_by(CallbackJob.id.desc()).limit(1)).first()
    if job is None:
        return None, None
    state = dict(job.chat_state or {"stage": "solved"})
    turns = list(state.get("turns") or [])
    stage = state.get("stage", "solved")
    post: ChatPost | None = None
    if stage == "solved":
        solved = {"yes": True, "no": False}.get(str((data or {}).get("solved"))) if data else parse_yes_no(text or "")
        if solved is None:
            return job, None
        turns.append({"who": "citizen", "stage": "solved", "text": "已解决" if solved else "未解决"})
        job.solved = solved
        q, buttons = _rating_question(job)
        post = _post(db_session, job, q, buttons)
        state["stage"] = "rating"
    elif stage == "rating":
        rating = (data or {}).get("rating") if data else parse_rating(text or "")
        if rating not in ("满意", "基本满意", "不满意"):
            return job, None
        turns.append({"who": "citizen", "stage": "rating", "text": rating})
        job.rating = rating
        if rating == "不满意" or job.solved is False:
            ask = "很抱歉没能让您满意。请您直接输入不满意的原因，我们会转交承办单位重新办理。" if rating == "不满意" \
                else "请您直接输入还有哪些地方没有解决，我们会转交承办单位重新办理。"
            post = _post(db_session, job, ask, None)
            state["stage"] = "reason"
        else:
            post = _post(db_session, job, "感谢您的评价和对12345热线工作的支持！", None)
            state["stage"] = "done"
    elif stage == "reason":
        if not text or data is not None:
            return job, None
        turns.append({"who": "citizen", "stage": "reason", "text": text})
        job.reason = text.strip()
        post = _post(db_session, job, "您的意见我们已经记下了，会转交承办单位重新办理并跟踪督办。感谢您的耐心！", None)
        state["stage"] = "done"
    state["turns"] = turns
    job.chat_state = state
    job.updated_at = now
    if state["stage"] == "done":
        for attempt in job.attempt_log:
            if attempt.ended_at is None:
                attempt.ended_at, attempt.outcome = now, Outcome.completed
        job.transcript = [*(job.transcript or []), {"attempt": job.attempts + 1, "channel": "chat", "turns": turns}]
        job.attempts += 1
        job.outcome, job.status, job.completed_at = Outcome.completed, JobStatus.done, now
        ticket = db_session.get(Ticket, job.ticket_id)
        assert ticket is not None
        db_session.flush()
        apply_to_ticket(db_session=db_session, job=job, ticket=ticket, now=now)
    else:
        db_session.commit()
    return job, post


def collect_chat_answers(*, db_session: Session, now: datetime | None = None) -> list[ChatPost]:
    """Pick up answers the citizen gave through the hub (their messages are stored there before
    anything else happens), so the follow-up works without any change to the hub."""
    from api.conversations.models import Message
    from api.conversations.models import Role as MessageRole

    posts: list[ChatPost] = []
    waiting = db_session.scalars(select(CallbackJob).where(CallbackJob.status == JobStatus.chat_waiting)).all()
    for job in waiting:
        if not job.chat_message_id:
            continue
        replies = db_session.scalars(select(Message).where(
            Message.conversation_id == job.conversation_id, Message.role == MessageRole.citizen,
            Message.id > job.chat_message_id).order_by(Message.id)).all()
        for message in replies:
            if job.status != JobStatus.chat_waiting:
                break
            data = parse_payload(message.payload)
            if data is not None and data["job"] != job.id:
                continue
            _, post = chat_answer(db_session=db_session, conversation_id=job.conversation_id or "",
                                  payload=message.payload if data else None, text=None if data else message.text, now=now)
            if post is not None:
                posts.append(post)
    return posts


# ---- campaigns ----------------------------------------------------------------------------------

def start_campaign(*, db_session: Session, actor: str, name: str | None = None, now: datetime | None = None,
                   policy: CallbackPolicy | None = None) -> CallbackCampaign:
    """Start today's calling (or resume it): every open phone job not yet in a live campaign joins."""
    now = now or utcnow()
    policy = policy or current_policy()
    sync(db_session=db_session, now=now, policy=policy)
    day = local_day(now, policy)
    campaign = _running_campaign(db_session, day)
    if campaign is None:
        campaign = CallbackCampaign(name=name or f"{day.month}月{day.day}日回访", day=day, status="running",
                                    created_by=actor, created_at=now, updated_at=now)
        db_session.add(campaign)
        db_session.flush()
    campaign.status, campaign.updated_at = "running", now
    db_session.execute(update(CallbackCampaign).where(
        CallbackCampaign.day < day, CallbackCampaign.status.in_(("running", "paused")),
    ).values(status="finished", updated_at=now).execution_options(synchronize_session=False))
    live = select(CallbackCampaign.id).where(CallbackCampaign.status.in_(("running", "paused")), CallbackCampaign.id != campaign.id)
    db_session.execute(update(CallbackJob).where(
        CallbackJob.status.in_((JobStatus.queued, JobStatus.retry)),
        or_(CallbackJob.campaign_id.is_(None), CallbackJob.campaign_id.notin_(live)),
    ).values(campaign_id=campaign.id).execution_options(synchronize_session=False))
    db_session.commit()
    return campaign


def set_campaign_status(*, db_session: Session, campaign_id: int, status: str, now: datetime | None = None) -> CallbackCampaign:
    campaign = db_session.get(CallbackCampaign, campaign_id)
    if campaign is None:
        raise CallbackError(404, f"没有找到回访批次 {campaign_id}。")
    if campaign.status == "finished":
        raise CallbackError(409, "这个回访批次已经结束。")
    campaign.status, campaign.updated_at = status, now or utcnow()
    db_session.commit()
    return campaign


def list_campaigns(*, db_session: Session, limit: int = 20) -> list[CallbackCampaign]:
    return list(db_session.scalars(select(CallbackCampaign).order_by(CallbackCampaign.id.desc()).limit(limit)))


# ---- queue views, progress, results, statistics, export -----------------------------------------

def _aware(moment: datetime) -> datetime:
    # SQLite hands aggregates back without the zone the column was written with (UTC).
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def day_bounds(day: date, policy: CallbackPolicy) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=policy.tz)
    return start, start + timedelta(days=1)


def today_queue(*, db_session: Session, now: datetime | None = None, policy: CallbackPolicy | None = None) -> list[CallbackJob]:
    """Jobs for today: open ones due by tonight, and those finished today."""
    now = now or utcnow()
    policy = policy or current_policy()
    start, end = day_bounds(local_day(now, policy), policy)
    return list(db_session.scalars(select(CallbackJob).where(or_(
        and_(CallbackJob.status.in_(OPEN_JOB_STATUSES), CallbackJob.next_attempt_at < end),
        and_(CallbackJob.completed_at >= start, CallbackJob.completed_at < end),
        and_(CallbackJob.updated_at >= start, CallbackJob.status == JobStatus.retry),
    )).order_by(CallbackJob.next_attempt_at, CallbackJob.id)))


def progress(*, db_session: Session, now: datetime | None = None, policy: CallbackPolicy | None = None) -> dict[str, Any]:
    now = now or utcnow()
    policy = policy or current_policy()
    counts = {s.value: 0 for s in JobStatus}
    for job in today_queue(db_session=db_session, now=now, policy=policy):
        status = job.status
        if status == JobStatus.claimed and job.lease_expires_at and job.lease_expires_at <= now:
            status = JobStatus.retry  # a dead worker's job: it will be offered again
        counts[status] += 1
    day = local_day(now, policy)
    campaign = _running_campaign(db_session, day)
    # Jobs already queued for a later day (a reply approved after today's window, a retry tomorrow):
    # not 待拨打 today, but not nothing either.
    later = db_session.execute(select(func.count(), func.min(CallbackJob.next_attempt_at)).where(
        CallbackJob.status.in_((JobStatus.queued, JobStatus.retry)),
        CallbackJob.next_attempt_at >= day_bounds(day, policy)[1])).one()
    return {
        "day": day.isoformat(), "in_window": in_window(now, policy),
        "scheduled_later": later[0] or 0, "next_scheduled_at": _aware(later[1]).isoformat() if later[1] else None,
        "next_window": next_window_start(now, policy).isoformat(),
        "campaign": None if campaign is None else {"id": campaign.id, "name": campaign.name, "status": campaign.status},
        "calling": counts[JobStatus.claimed], "chat": counts[JobStatus.chat_waiting], "queued": counts[JobStatus.queued],
        "retry_later": counts[JobStatus.retry], "done": counts[JobStatus.done], "failed": counts[JobStatus.failed],
        "skipped": counts[JobStatus.skipped], "cancelled": counts[JobStatus.cancelled],
    }


@dataclass
class ResultFilter:
    start: date | None = None
    end: date | None = None  # inclusive
    rating: str | None = None
    status: str | None = None
    department_id: str | None = None
    outcome: str | None = None
    ticket_no: str | None = None


def results(*, db_session: Session, filters: ResultFilter, policy: CallbackPolicy | None = None,
            limit: int = 500, offset: int = 0) -> list[CallbackJob]:
    policy = policy or current_policy()
    query = select(CallbackJob)
    if filters.start:
        query = query.where(CallbackJob.updated_at >= day_bounds(filters.start, policy)[0])
    if filters.end:
        query = query.where(CallbackJob.updated_at < day_bounds(filters.end, policy)[1])
    if filters.rating:
        query = query.where(CallbackJob.rating == filters.rating)
    if filters.status:
        query = query.where(CallbackJob.status == filters.status)
    if filters.department_id:
        query = query.where(CallbackJob.department_id == filters.department_id)
    if filters.outcome:
        query = query.where(CallbackJob.outcome == filters.outcome)
    if filters.ticket_no:
        query = query.where(CallbackJob.ticket_no == filters.ticket_no)
    return list(db_session.scalars(query.order_by(CallbackJob.updated_at.desc(), CallbackJob.id.desc()).offset(offset).limit(limit)))


def department_names(db_session: Session) -> dict[str, str]:
    from api.org.models import Department

    return {d.id: d.short or d.name for d in db_session.scalars(select(Department))}


def stats(*, db_session: Session, start: date | None = None, end: date | None = None,
          policy: CallbackPolicy | None = None) -> dict[str, Any]:
    """满意率 = (满意 + 基本满意) / 有效回访数 per department and overall. 有效回访 = a job finished in the
    period with one of the three ratings; unreachable, refused and unrated follow-ups are not in it."""
    policy = policy or current_policy()
    query = select(CallbackJob.department_id, CallbackJob.rating, func.count()).where(
        CallbackJob.status == JobStatus.done, CallbackJob.rating.is_not(None)).group_by(
        CallbackJob.department_id, CallbackJob.rating)
    if start:
        query = query.where(CallbackJob.completed_at >= day_bounds(start, policy)[0])
    if end:
        query = query.where(CallbackJob.completed_at < day_bounds(end, policy)[1])
    per: dict[str | None, dict[str, int]] = {}
    for dept, rating, n in db_session.execute(query):
        per.setdefault(dept, {"满意": 0, "基本满意": 0, "不满意": 0})[rating] = n
    names = department_names(db_session)

    def row(counts: dict[str, int]) -> dict[str, Any]:
        rate = satisfaction_rate(counts["满意"], counts["基本满意"], counts["不满意"])
        return {"satisfied": counts["满意"], "basically_satisfied": counts["基本满意"], "dissatisfied": counts["不满意"],
                "valid": sum(counts.values()), "rate": None if rate is None else round(rate, 4)}

    total = {"满意": 0, "基本满意": 0, "不满意": 0}
    departments = []
    for dept, counts in sorted(per.items(), key=lambda kv: kv[0] or ""):
        for k in total:
            total[k] += counts[k]
        departments.append({"department_id": dept, "department": names.get(dept or "", dept or "未分派"), **row(counts)})
    attempted = select(func.count()).select_from(CallbackJob).where(CallbackJob.status.in_((JobStatus.done, JobStatus.failed)))
    if start:
        attempted = attempted.where(CallbackJob.completed_at >= day_bounds(start, policy)[0])
    if end:
        attempted = attempted.where(CallbackJob.completed_at < day_bounds(end, policy)[1])
    return {
        "formula": "满意率 = (满意 + 基本满意) / 有效回访数；有效回访数 = 满意 + 基本满意 + 不满意（未接通、拒访、未评价不计入）",
        "start": start.isoformat() if start else None, "end": end.isoformat() if end else None,
        "overall": row(total), "finished_followups": db_session.scalar(attempted) or 0,
        "departments": departments,
    }


EXPORT_COLUMNS = ["工单号", "承办单位", "渠道", "状态", "结果", "是否解决", "满意度", "不满意原因", "回访次数",
                  "最近更新", "完成时间", "备注"]


def export_xlsx(*, db_session: Session, filters: ResultFilter, policy: CallbackPolicy | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from api.callbacks.models import JOB_STATUS_LABELS
    from api.callbacks.policy import OUTCOME_LABELS

    policy = policy or current_policy()
    names = department_names(db_session)
    book = Workbook()
    sheet = book.active
    sheet.title = "回访结果"
    sheet.append(EXPORT_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M") if moment else ""

    for job in results(db_session=db_session, filters=filters, policy=policy, limit=100000):
        sheet.append([
            job.ticket_no, names.get(job.department_id or "", job.department_id or ""),
            "对话" if job.channel == "chat" else "电话", JOB_STATUS_LABELS.get(JobStatus(job.status), job.status),
            OUTCOME_LABELS.get(Outcome(job.outcome), job.outcome) if job.outcome else "",
            {True: "已解决", False: "未解决", None: ""}[job.solved], job.rating or "", job.reason or "", job.attempts,
            local(job.updated_at), local(job.completed_at), job.skip_reason or "",
        ])
    for column, width in zip("ABCDEFGHIJKL", (18, 16, 6, 10, 12, 8, 10, 40, 8, 17, 17, 30), strict=True):
        sheet.column_dimensions[column].width = width
    summary = book.create_sheet("满意率")
    data = stats(db_session=db_session, start=filters.start, end=filters.end, policy=policy)
    summary.append(["承办单位", "满意", "基本满意", "不满意", "有效回访数", "满意率"])
    for cell in summary[1]:
        cell.font = Font(bold=True)
    for d in [*data["departments"], {"department": "全县合计", **data["overall"]}]:
        rate = d["rate"]
        summary.append([d["department"], d["satisfied"], d["basically_satisfied"], d["dissatisfied"], d["valid"],
                        f"{rate * 100:.1f}%" if rate is not None else "—"])
    summary.append([])
    summary.append([data["formula"]])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


# ---- do-not-call --------------------------------------------------------------------------------

def add_optout(*, db_session: Session, actor: str, reason: str, phone: str | None = None,
               ticket_no: str | None = None, now: datetime | None = None) -> CallbackOptOut:
    now = now or utcnow()
    ticket_id = None
    if ticket_no:
        ticket = db_session.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))
        if ticket is None:
            raise CallbackError(404, f"没有找到工单 {ticket_no}。")
        ticket_id = ticket.id
    if not phone and ticket_id is None:
        raise CallbackError(422, "请填写电话号码或工单号。")
    optout = CallbackOptOut(phone=phone, ticket_id=ticket_id, reason=reason, created_by=actor, created_at=now)
    db_session.add(optout)
    # Jobs not yet dialled for this number or ticket are withdrawn at once.
    conds = []
    if phone:
        conds.append(CallbackJob.phone == phone)
    if ticket_id is not None:
        conds.append(CallbackJob.ticket_id == ticket_id)
    db_session.execute(update(CallbackJob).where(
        or_(*conds), CallbackJob.status.in_((JobStatus.queued, JobStatus.retry, JobStatus.chat_waiting)),
    ).values(status=JobStatus.skipped, skip_reason=f"群众要求不回访：{reason}", completed_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    db_session.commit()
    return optout


def list_optouts(*, db_session: Session) -> list[CallbackOptOut]:
    return list(db_session.scalars(select(CallbackOptOut).order_by(CallbackOptOut.id.desc())))


def remove_optout(*, db_session: Session, optout_id: int) -> None:
    optout = db_session.get(CallbackOptOut, optout_id)
    if optout is None:
        raise CallbackError(404, f"没有找到不回访登记 {optout_id}。")
    db_session.delete(optout)
    db_session.commit()
