"""HTTP for 智能回访: the staff page and its API (JWT), the outbound workers (service token), chat answers."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from api.auth.deps import Principal, require_principal, require_roles
from api.auth.models import Role, User
from api.callbacks import campaigns as campaign_runs
from api.callbacks import chat, service, statistics
from api.callbacks import queue as job_queue
from api.callbacks.models import JOB_STATUS_LABELS, CallbackCampaign, CallbackJob, CallbackOptOut, JobStatus
from api.callbacks.policy import OUTCOME_LABELS, Outcome
from api.callbacks.schemas import (
    AttemptOut,
    CampaignIn,
    CampaignOut,
    ChatAnswerIn,
    ChatAnswerOut,
    ClaimIn,
    ClaimOut,
    HeartbeatIn,
    JobDetail,
    JobOut,
    MatterOut,
    OptOutIn,
    OptOutOut,
    ResultIn,
)
from api.conversations.access import CHAT_ERRORS, TrustedDep
from api.conversations.live import live
from api.conversations.models import Conversation, Message
from api.core.db import SessionDep, session_factory
from api.core.security import ServiceDep
from api.core.text import normalise_phone
from api.tickets.access import mask_phone

STATIC = Path(__file__).parent / "static"
VIEW_ROLES = (Role.agent, Role.dispatcher, Role.supervisor, Role.leader, Role.admin)
RUN_ROLES = (Role.agent, Role.dispatcher, Role.supervisor, Role.admin)
Viewer = Annotated[User, Depends(require_roles(*VIEW_ROLES))]
Runner = Annotated[User, Depends(require_roles(*RUN_ROLES))]

router = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"])
pages = APIRouter(include_in_schema=False)


def _raise(exc: service.CallbackError) -> HTTPException:
    return HTTPException(exc.status_code, detail=exc.detail)


def job_out(job: CallbackJob, names: dict[str, str] | None = None, *, detail: bool = False) -> JobOut | JobDetail:
    fields = dict(
        id=job.id, ticket_no=job.ticket_no, round=job.round, department_id=job.department_id,
        department=(names or {}).get(job.department_id or "", job.department_id), channel=job.channel,
        phone=mask_phone(job.phone), status=job.status, status_label=JOB_STATUS_LABELS.get(JobStatus(job.status), job.status),
        attempts=job.attempts, max_attempts=job.max_attempts, next_attempt_at=job.next_attempt_at, due_at=job.due_at,
        lease_owner=job.lease_owner, outcome=job.outcome,
        outcome_label=OUTCOME_LABELS.get(Outcome(job.outcome)) if job.outcome else None, solved=job.solved,
        rating=job.rating, reason=job.reason, has_recording=bool(job.reason_audio), skip_reason=job.skip_reason,
        campaign_id=job.campaign_id, applied=job.applied, updated_at=job.updated_at, completed_at=job.completed_at,
    )
    if not detail:
        return JobOut(**fields)
    return JobDetail(**fields, transcript=job.transcript, attempt_log=[
        AttemptOut.model_validate(a, from_attributes=True) for a in job.attempt_log])


def campaign_out(campaign: CallbackCampaign) -> CampaignOut:
    return CampaignOut.model_validate(campaign, from_attributes=True)


async def _publish(posts: list[chat.ChatPost]) -> None:
    """Push follow-up questions to open chat pages and consoles (the hub's live channel)."""
    if not posts:
        return

    def load() -> list[tuple[str, Message, str]]:
        with session_factory()() as db_session:
            out = []
            for post in posts:
                message = db_session.get(Message, post.message_id)
                conversation = db_session.get(Conversation, post.conversation_id)
                if message is not None:
                    out.append((post.conversation_id, message, conversation.mode if conversation else "bot"))
            return out

    for conversation_id, message, mode in await run_in_threadpool(load):
        await live.publish_messages(conversation_id, [message], mode)


def _run_chat() -> list[chat.ChatPost]:
    with session_factory()() as db_session:
        job_queue.sync(db_session=db_session)
        posts = chat.start_chat_followups(db_session=db_session)
        posts += chat.collect_chat_answers(db_session=db_session)
        return posts


# ---- outbound workers (service token) -----------------------------------------------------------

@router.post("/jobs/claim", response_model=ClaimOut | None, summary="外呼程序领取一个现在可以拨打的回访任务（服务令牌）")
async def claim_job(body: ClaimIn, _: ServiceDep) -> ClaimOut | None:
    await _publish(await run_in_threadpool(_run_chat))  # chat follow-ups ride on the workers' polling

    def run() -> ClaimOut | None:
        with session_factory()() as db_session:
            claim = job_queue.claim(db_session=db_session, worker=body.worker, lease_seconds=body.lease_seconds)
            if claim is None:
                return None
            job = claim.job
            return ClaimOut(
                job_id=job.id, lease_token=job.lease_token or "", lease_expires_at=job.lease_expires_at,
                attempt=claim.attempt.number, ticket_no=job.ticket_no, phone=job.phone or "",
                matter=MatterOut(**claim.matter.__dict__),
            )

    return await run_in_threadpool(run)


@router.post("/jobs/{job_id}/heartbeat", summary="外呼程序续租（服务令牌）")
def heartbeat(job_id: int, body: HeartbeatIn, db_session: SessionDep, _: ServiceDep) -> dict:
    try:
        job = job_queue.heartbeat(db_session=db_session, job_id=job_id, token=body.lease_token, lease_seconds=body.lease_seconds)
    except service.CallbackError as exc:
        raise _raise(exc) from None
    return {"lease_expires_at": job.lease_expires_at}


@router.post("/jobs/{job_id}/release", summary="外呼程序未拨打就交回任务（服务令牌）")
def release(job_id: int, body: HeartbeatIn, db_session: SessionDep, _: ServiceDep) -> dict:
    try:
        job = job_queue.release(db_session=db_session, job_id=job_id, token=body.lease_token)
    except service.CallbackError as exc:
        raise _raise(exc) from None
    return {"status": job.status}


@router.post("/jobs/{job_id}/recording", summary="外呼程序上传不满意原因的录音（WAV，服务令牌）")
async def upload_recording(job_id: int, request: Request, lease_token: str, _: ServiceDep) -> dict:
    wav = await request.body()

    def run() -> str:
        with session_factory()() as db_session:
            return job_queue.store_recording(db_session=db_session, job_id=job_id, token=lease_token, wav=wav)

    try:
        path = await run_in_threadpool(run)
    except service.CallbackError as exc:
        raise _raise(exc) from None
    return {"stored": Path(path).name}


@router.post("/jobs/{job_id}/result", response_model=JobOut, summary="外呼程序报告一次回访的结果（服务令牌）")
def report(job_id: int, body: ResultIn, db_session: SessionDep, _: ServiceDep) -> JobOut:
    result = job_queue.Result(**body.model_dump(exclude={"lease_token"}))
    try:
        job = job_queue.report(db_session=db_session, job_id=job_id, token=body.lease_token, result=result)
    except service.CallbackError as exc:
        raise _raise(exc) from None
    return job_out(job, service.department_names(db_session))


# ---- chat follow-up ----------------------------------------------------------------------------

@router.post("/chat/{conversation_id}/answer", response_model=ChatAnswerOut,
             responses=CHAT_ERRORS, summary="群众在对话中回答回访问题（按钮 payload 或文字）；需对话令牌或服务令牌")
async def chat_answer(conversation_id: str, body: ChatAnswerIn, _: TrustedDep) -> ChatAnswerOut:
    def run() -> tuple[ChatAnswerOut, list[chat.ChatPost]]:
        with session_factory()() as db_session:
            job, post = chat.chat_answer(db_session=db_session, conversation_id=conversation_id,
                                            payload=body.payload, text=body.text)
            reply, buttons = None, []
            if post is not None:
                message = db_session.get(Message, post.message_id)
                reply, buttons = (message.text, message.buttons or []) if message else (None, [])
            return ChatAnswerOut(job_id=job.id if job else None, status=job.status if job else None,
                                 reply=reply, buttons=buttons), [post] if post else []

    out, posts = await run_in_threadpool(run)
    if out.job_id is None:
        raise HTTPException(404, detail="这个对话没有正在进行的回访。")
    await _publish(posts)
    return out


@router.post("/chat/run", summary="立即发出到期的对话回访并收取答复（服务令牌或工作人员）")
async def chat_run(_: Annotated[Principal, Depends(require_principal(*RUN_ROLES, Role.service))]) -> dict:
    posts = await run_in_threadpool(_run_chat)
    await _publish(posts)
    return {"posted": len(posts)}


# ---- staff (JWT) -----------------------------------------------------------------------------

@router.post("/sync", summary="按工单状态补排回访任务（进入待回访的工单）")
def sync(_: Runner, db_session: SessionDep) -> dict:
    return {"scheduled": job_queue.sync(db_session=db_session)}


@router.get("/queue", response_model=list[JobOut], summary="今日回访队列")
def queue(_: Viewer, db_session: SessionDep) -> list[JobOut]:
    job_queue.sync(db_session=db_session)
    names = service.department_names(db_session)
    return [job_out(j, names) for j in statistics.today_queue(db_session=db_session)]


@router.get("/progress", summary="今日进度：通话中、已完成、未成功、稍后重拨")
def progress(_: Viewer, db_session: SessionDep) -> dict:
    return statistics.progress(db_session=db_session)


@router.get("/campaigns", response_model=list[CampaignOut], summary="回访批次")
def campaigns(_: Viewer, db_session: SessionDep) -> list[CampaignOut]:
    return [campaign_out(c) for c in campaign_runs.list_campaigns(db_session=db_session)]


@router.post("/campaigns", response_model=CampaignOut, status_code=201, summary="开始今日回访（已有则继续）")
def start_campaign(body: CampaignIn, user: Runner, db_session: SessionDep) -> CampaignOut:
    return campaign_out(campaign_runs.start_campaign(db_session=db_session, actor=user.username, name=body.name))


@router.post("/campaigns/{campaign_id}/pause", response_model=CampaignOut, summary="暂停（通话中的电话会打完）")
def pause_campaign(campaign_id: int, _: Runner, db_session: SessionDep) -> CampaignOut:
    return _set_campaign(db_session, campaign_id, "paused")


@router.post("/campaigns/{campaign_id}/resume", response_model=CampaignOut, summary="继续")
def resume_campaign(campaign_id: int, _: Runner, db_session: SessionDep) -> CampaignOut:
    return _set_campaign(db_session, campaign_id, "running")


def _set_campaign(db_session: Session, campaign_id: int, status: str) -> CampaignOut:
    try:
        return campaign_out(campaign_runs.set_campaign_status(db_session=db_session, campaign_id=campaign_id, status=status))
    except service.CallbackError as exc:
        raise _raise(exc) from None


def _filters(
    start: date | None = None, end: date | None = None, rating: str | None = None, status: str | None = None,
    department: str | None = None, outcome: str | None = None, ticket_no: str | None = None,
) -> statistics.ResultFilter:
    return statistics.ResultFilter(start=start, end=end, rating=rating or None, status=status or None,
                                department_id=department or None, outcome=outcome or None, ticket_no=ticket_no or None)


Filters = Annotated[statistics.ResultFilter, Depends(_filters)]


@router.get("/results", response_model=list[JobOut], summary="回访结果（可按日期、满意度、状态、承办单位、结果筛选）")
def results(filters: Filters, _: Viewer, db_session: SessionDep,
            limit: Annotated[int, Query(ge=1, le=2000)] = 500, offset: Annotated[int, Query(ge=0)] = 0) -> list[JobOut]:
    names = service.department_names(db_session)
    return [job_out(j, names) for j in statistics.results(db_session=db_session, filters=filters, limit=limit, offset=offset)]


@router.get("/results.xlsx", summary="导出回访结果（Excel）")
def export(filters: Filters, _: Viewer, db_session: SessionDep) -> Response:
    data = statistics.export_xlsx(db_session=db_session, filters=filters)
    name = f"callbacks-{date.today().isoformat()}.xlsx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/jobs/{job_id}", response_model=JobDetail, summary="一个回访任务：每次拨打与通话记录")
def job_detail(job_id: int, _: Viewer, db_session: SessionDep) -> JobDetail:
    job = db_session.get(CallbackJob, job_id)
    if job is None:
        raise HTTPException(404, detail=f"没有找到回访任务 {job_id}。")
    return job_out(job, service.department_names(db_session), detail=True)  # type: ignore[return-value]


@router.get("/jobs/{job_id}/recording", summary="不满意原因的录音（WAV）")
def recording(job_id: int, _: Viewer, db_session: SessionDep) -> FileResponse:
    job = db_session.get(CallbackJob, job_id)
    if job is None or not job.reason_audio or not Path(job.reason_audio).is_file():
        raise HTTPException(404, detail="没有录音。")
    return FileResponse(job.reason_audio, media_type="audio/wav")


@router.get("/stats", summary="满意率：(满意 + 基本满意) / 有效回访数，分承办单位和全县")
def stats(_: Viewer, db_session: SessionDep, start: date | None = None, end: date | None = None) -> dict:
    return statistics.stats(db_session=db_session, start=start, end=end)


@router.get("/optouts", response_model=list[OptOutOut], summary="不回访登记")
def optouts(user: Viewer, db_session: SessionDep) -> list[OptOutOut]:
    rows = [OptOutOut.model_validate(o, from_attributes=True) for o in service.list_optouts(db_session=db_session)]
    if Role(user.role) not in RUN_ROLES:  # leaders read the list, they do not dial: numbers masked
        rows = [row.model_copy(update={"phone": mask_phone(row.phone)}) for row in rows]
    return rows


@router.post("/optouts", response_model=OptOutOut, status_code=201, summary="登记不回访（号码或工单）")
def add_optout(body: OptOutIn, user: Runner, db_session: SessionDep) -> OptOutOut:
    phone = body.phone
    if phone:
        try:
            phone = normalise_phone(phone)
        except ValueError as exc:
            raise HTTPException(422, detail=str(exc)) from None
    try:
        optout: CallbackOptOut = service.add_optout(db_session=db_session, actor=user.username, reason=body.reason,
                                                    phone=phone, ticket_no=body.ticket_no)
    except service.CallbackError as exc:
        raise _raise(exc) from None
    return OptOutOut.model_validate(optout, from_attributes=True)


@router.delete("/optouts/{optout_id}", status_code=204, summary="取消不回访登记")
def remove_optout(optout_id: int, _: Runner, db_session: SessionDep) -> Response:
    try:
        service.remove_optout(db_session=db_session, optout_id=optout_id)
    except service.CallbackError as exc:
        raise _raise(exc) from None
    return Response(status_code=204)


@pages.get("/callbacks")
def page() -> FileResponse:
    return FileResponse(STATIC / "callbacks.html", media_type="text/html; charset=utf-8")
