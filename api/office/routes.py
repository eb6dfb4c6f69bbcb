"""工单工作台 (/office): the page, its read views (queues, search, timeline, export), attachments, live."""

from __future__ import annotations

from datetime import date
from pathlib import Path as FilePath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from api.auth.deps import Principal, principal_of, require_roles, socket_user
from api.auth.models import ROLE_LABELS, Role, User
from api.core.db import SessionDep, session_factory, utcnow
from api.office import attachments, flows, service
from api.office.service import Filters, OfficeError
from api.org import service as org
from api.tickets.models import TicketStatus
from api.tickets.routes import readable_or_404, ticket_out

STATIC = FilePath(__file__).parent / "static"
STAFF_ROLES = (Role.agent, Role.dispatcher, Role.handler, Role.supervisor, Role.leader, Role.admin)
Staff = Annotated[User, Depends(require_roles(*STAFF_ROLES))]
DbId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ERRORS = {401: {"description": "未登录"}, 403: {"description": "岗位无权"}, 404: {"description": "工单不存在或无权查看"},
          422: {"description": "参数不正确"}}

router = APIRouter(prefix="/api/v1/office", tags=["office"])
pages = APIRouter(include_in_schema=False)


def _raise(exc: OfficeError) -> HTTPException:
    return HTTPException(exc.status_code, detail=exc.detail)


def filters(
    ticket_no: Annotated[str | None, Query(max_length=32, description="工单号（可只输一部分）")] = None,
    phone_last4: Annotated[str | None, Query(pattern=r"^\d{4}$", description="来电号码后四位")] = None,
    text: Annotated[str | None, Query(max_length=100, description="诉求内容或地点中的文字")] = None,
    town: Annotated[str | None, Query(max_length=64, description="镇（街道）")] = None,
    department: Annotated[str | None, Query(max_length=64, description="承办单位（id、简称或代码）")] = None,
    status: Annotated[str | None, Query(max_length=16, description="工单状态，如 已派单")] = None,
    date_from: Annotated[date | None, Query(description="受理日期起（含），YYYY-MM-DD")] = None,
    date_to: Annotated[date | None, Query(description="受理日期止（含），YYYY-MM-DD")] = None,
) -> Filters:
    if status and status not in {s.value for s in TicketStatus}:
        raise HTTPException(422, detail=f"没有这个工单状态：{status}")
    return Filters(ticket_no=ticket_no or None, phone_last4=phone_last4, text=text or None, town=town or None,
                   department=department or None, status=status or None, date_from=date_from, date_to=date_to)


FiltersDep = Annotated[Filters, Depends(filters)]


def _resolved(filters_: Filters, db_session) -> Filters:
    if not filters_.department:
        return filters_
    dept = org.resolve_department(db_session=db_session, ref=filters_.department)
    if dept is None:
        raise HTTPException(422, detail=f"没有这个承办单位：{filters_.department}")
    return Filters(**{**filters_.__dict__, "department": dept.id})


@pages.get("/office")
def office_page() -> FileResponse:
    return FileResponse(STATIC / "office.html", media_type="text/html; charset=utf-8")


@router.get("/me", responses=ERRORS, summary="我的工作台：岗位、单位、可用列表及各列表件数")
def my_workbench(user: Staff, db_session: SessionDep) -> dict:
    principal = principal_of(user)
    dept = org.resolve_department(db_session=db_session, ref=user.department_id) if user.department_id else None
    return {
        "username": user.username, "full_name": user.full_name, "role": user.role,
        "role_label": ROLE_LABELS[Role(user.role)], "department_id": user.department_id,
        "department": dept.name if dept else None, "leader_id": user.leader_id,
        "views": service.views_for(principal.role), "counts": service.counts(db_session=db_session, principal=principal),
        "statuses": [s.value for s in TicketStatus],
    }


@router.get("/tickets", responses=ERRORS, summary="工作列表与工单查询（按岗位限定可见范围，已脱敏）")
def list_tickets(
    user: Staff, db_session: SessionDep, filters_: FiltersDep,
    view: Annotated[str, Query(max_length=16, description="dispatch | unit | review | extension | escalated | overdue | dual | repeats | callback | search")] = "search",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    try:
        return service.list_view(db_session=db_session, principal=principal_of(user), view=view,
                                 filters=_resolved(filters_, db_session), limit=limit, offset=offset)
    except OfficeError as exc:
        raise _raise(exc) from None


@router.get("/tickets.xlsx", responses={**ERRORS, 200: {"content": {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}}, response_class=Response,
    summary="把任一列表导出为 Excel（与页面所见一致：同样的范围和脱敏）")
def export_tickets(
    user: Staff, db_session: SessionDep, filters_: FiltersDep,
    view: Annotated[str, Query(max_length=16)] = "search",
) -> Response:
    try:
        body = service.export_xlsx(db_session=db_session, principal=principal_of(user), view=view,
                                   filters=_resolved(filters_, db_session))
    except OfficeError as exc:
        raise _raise(exc) from None
    label = service.VIEWS[view][0]
    name = f"{label}-{date.today().isoformat()}.xlsx"
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=\"office-{view}.xlsx\"; filename*=UTF-8''{quote(name)}"})


def _principal(user: User) -> Principal:
    return principal_of(user)


@router.get("/tickets/{ticket_no}", responses=ERRORS,
            summary="一张工单的全部：工单、派单建议及理由、各单位办理情况、重复件、督办函、附件、完整时间线")
def ticket_page(ticket_no: str, user: Staff, db_session: SessionDep) -> dict:
    principal = _principal(user)
    ticket = readable_or_404(db_session=db_session, ticket_no=ticket_no, principal=principal)
    names = service.department_names(db_session)
    return {
        "ticket": ticket_out(ticket, principal, db_session).model_dump(mode="json"),
        "deadline_state": service.deadline_state(ticket, utcnow()),
        "suggestion": service.suggestion(ticket, names),
        "repeats": service.repeat_candidates(db_session=db_session, principal=principal, ticket=ticket),
        "supervisions": service.supervisions(ticket, names),
        "attachments": attachments.list_for(db_session=db_session, ticket=ticket),
        "citizen_words": service.citizen_words(db_session=db_session, ticket=ticket),
        "timeline": service.timeline(db_session=db_session, ticket=ticket),
    }


@router.get("/tickets/{ticket_no}/supervisions/{supervision_id}/preview", responses=ERRORS, summary="督办函预览")
def letter_preview(ticket_no: str, supervision_id: DbId, user: Staff, db_session: SessionDep) -> dict:
    ticket = readable_or_404(db_session=db_session, ticket_no=ticket_no, principal=_principal(user))
    try:
        return service.letter_preview(db_session=db_session, ticket=ticket, supervision_id=supervision_id)
    except OfficeError as exc:
        raise _raise(exc) from None


@router.post("/tickets/{ticket_no}/attachments", status_code=201, responses={**ERRORS, 409: {"description": "状态或数量不允许"},
             413: {"description": "文件太大"}, 415: {"description": "类型不收"}},
             summary="上传答复附件（请求体为文件本身，filename 为原文件名；留痕审计）")
async def upload_attachment(ticket_no: str, request: Request, user: Staff,
                            filename: Annotated[str, Query(min_length=1, max_length=200)]) -> dict:
    body = await request.body()

    def work() -> dict:
        with session_factory()() as db_session:
            principal = _principal(user)
            ticket = readable_or_404(db_session=db_session, ticket_no=ticket_no, principal=principal)
            return attachments.add(db_session=db_session, principal=principal, ticket=ticket, filename=filename, body=body)

    try:
        return await run_in_threadpool(work)
    except OfficeError as exc:
        raise _raise(exc) from None


@router.get("/tickets/{ticket_no}/attachments/{attachment_id}", response_class=FileResponse, responses=ERRORS,
            summary="下载答复附件")
def download_attachment(ticket_no: str, attachment_id: DbId, user: Staff, db_session: SessionDep) -> FileResponse:
    ticket = readable_or_404(db_session=db_session, ticket_no=ticket_no, principal=_principal(user))
    try:
        attachment, path = attachments.file_of(db_session=db_session, ticket=ticket, attachment_id=attachment_id)
    except OfficeError as exc:
        raise _raise(exc) from None
    return FileResponse(path, media_type=attachment.content_type, filename=attachment.filename)


@pages.websocket("/ws/office")
async def office_socket(socket: WebSocket) -> None:
    """New work as it arrives. The token comes in the first message, never in the URL (URLs reach logs)."""
    await socket.accept()
    user = await socket_user(socket, STAFF_ROLES)
    if user is None:
        return
    await flows.follow(socket, principal_of(user))
