"""Ticket routes: intake (bot, staff), reading with masking, staff queues, the lifecycle, 督办函."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Depends, Header, HTTPException, Path, Query, Response, status
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from api.auth.deps import Principal, PrincipalDep, require_principal
from api.auth.models import Role
from api.conversations import service as conversations
from api.conversations.live import live
from api.core.db import SessionDep, session_factory, utcnow
from api.core.settings import get_settings
from api.org.models import Department
from api.tickets import access, deadlines, intake, service, transitions
from api.tickets.letters import render_letter
from api.tickets.models import Notification, Supervision, Ticket, TicketAssignment, TicketStatus
from api.tickets.schemas import (
    AssignmentOut,
    Category,
    ContactOut,
    NotificationOut,
    SupervisionOut,
    TicketEventOut,
    TicketIn,
    TicketOut,
    TicketPage,
    TicketSummary,
    TransitionIn,
)
from api.tickets.transitions import WorkflowError

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])
notifications_router = APIRouter(prefix="/api/v1/notifications", tags=["tickets"])

INTAKE_ROLES = (Role.service, Role.agent, Role.dispatcher, Role.admin)
Intake = Annotated[Principal, Depends(require_principal(*INTAKE_ROLES))]
ERRORS = {
    401: {"description": "未登录或令牌无效"}, 403: {"description": "角色无权执行"},
    404: {"description": "工单不存在或无权查看"}, 409: {"description": "当前状态不允许（原因见 detail）"},
    422: {"description": "缺少理由或参数不正确"},
}


def _dept_names(db_session: Session | None, ids: list[str]) -> dict[str, str]:
    if db_session is None or not ids:
        return {}
    return dict(db_session.execute(select(Department.id, Department.short).where(Department.id.in_(ids))).all())


def ticket_out(ticket: Ticket, principal: Principal | None = None, db_session: Session | None = None) -> TicketOut:
    """The ticket as `principal` may see it; None = the full view (service token, intake replies)."""
    masked = principal is not None and not access.sees_full_contact(principal)
    names = _dept_names(db_session, [a.department_id for a in ticket.assignments])
    out = TicketOut(
        **{k: getattr(ticket, k) for k in TicketOut.model_fields if k not in {
            "category", "events", "co_departments", "linkage_flags", "assignments", "supervisions", "repeat_of",
            "merged_into", "allowed_actions", "contact_masked",
        }},
        category=Category(
            level1=ticket.category_level1, level2=ticket.category_level2, level3=ticket.category_level3,
            confidence=ticket.category_confidence,
        ),
        co_departments=ticket.co_departments or [],
        linkage_flags=ticket.linkage_flags or [],
        events=[TicketEventOut.model_validate(e, from_attributes=True) for e in ticket.events],
        assignments=[
            AssignmentOut(**{k: getattr(a, k) for k in AssignmentOut.model_fields if k != "department"},
                          department=names.get(a.department_id))
            for a in ticket.assignments if a.active
        ],
        supervisions=[
            SupervisionOut(
                id=s.id, letter_no=s.letter_no, level=s.level, reason_kind=s.reason_kind, reason=s.reason,
                department_id=s.department_id, due_at=s.due_at, created_at=s.created_at,
                letter_url=f"/api/v1/tickets/{ticket.ticket_no}/supervisions/{s.id}/letter.docx",
            )
            for s in ticket.supervisions
        ],
        repeat_of=ticket.repeat_of.ticket_no if ticket.repeat_of is not None else None,
        merged_into=ticket.merged_into.ticket_no if ticket.merged_into is not None else None,
        allowed_actions=transitions.available_actions(ticket=ticket, principal=principal) if principal else [],
        contact_masked=masked,
    )
    if masked:
        out.phone = access.mask_phone(out.phone)
        out.description = access.mask_text(out.description) or ""
        for field in ("location", "location_detail", "incident_time", "citizen_name"):  # every free-text field
            setattr(out, field, access.mask_text(getattr(out, field)))
        for item in (*out.events, *out.assignments):  # staff sometimes paste the number into notes
            for field in ("note", "reply_text"):
                if getattr(item, field, None):
                    setattr(item, field, access.mask_text(getattr(item, field)))
        if ticket.confidential and principal.role not in access.PLATFORM_ROLES:
            out.citizen_name = access.mask_name(out.citizen_name)
    return out


def readable_or_404(*, db_session: Session, ticket_no: str, principal: Principal) -> Ticket:
    ticket = service.get_by_no(db_session=db_session, ticket_no=ticket_no)
    if ticket is None or not access.can_read(db_session=db_session, principal=principal, ticket=ticket):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"没有找到工单 {ticket_no}。")
    return ticket


async def _notify_conversation(conversation_id: str, text: str, ticket_no: str) -> None:
    with session_factory()() as db_session:
        message = conversations.post_bot_message(db_session=db_session, conversation_id=conversation_id, text=text,
                                                 unless_said=ticket_no)
        conversation = conversations.get(db_session=db_session, conversation_id=conversation_id)
        mode = conversation.mode if conversation else "bot"
    if message is not None:
        await live.publish_messages(conversation_id, [message], mode)


@router.post("", response_model=TicketOut, status_code=status.HTTP_201_CREATED, responses=ERRORS,
             summary="受理工单（服务令牌：机器人/语音网关；或坐席、派单员、管理员的 JWT）")
def create_ticket(
    ticket_in: TicketIn,
    db_session: SessionDep,
    response: Response,
    background: BackgroundTasks,
    principal: Intake,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> TicketOut:
    if not idempotency_key or not idempotency_key.strip():
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail="缺少 Idempotency-Key 请求头：重试同一份工单时用同一个键，才不会重复登记。",
        )
    actor = "bot" if principal.is_service else principal.username
    ticket, created = intake.create(
        db_session=db_session, ticket_in=ticket_in, idempotency_key=idempotency_key.strip(), actor=actor
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    # The outbox's filing (notify_conversation) owes the citizen the number, whether this call made the
    # ticket or replays one an earlier, unanswered call made; posted once per conversation.
    if ticket_in.notify_conversation and ticket.conversation_id:
        due = deadlines.describe(ticket.reply_due_at) if ticket.reply_due_at else ""
        text = f"您之前反映的问题已经登记好了，工单号是{ticket.ticket_no}。" + (
            f"承办部门会在{due}前给您答复。" if due else ""
        )
        background.add_task(_notify_conversation, ticket.conversation_id, text, ticket.ticket_no)
    ticket = service.get_by_no(db_session=db_session, ticket_no=ticket.ticket_no) or ticket
    return ticket_out(ticket, None if principal.is_service else principal, db_session)


def _aware(moment: datetime) -> datetime:
    # A date typed without a zone means the county's local time.
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(get_settings().timezone))


DbId = Annotated[int, Path(ge=1, le=2**31 - 1)]

QUEUES = {
    "dispatch": "派单员待派：已受理、已退单",
    "review": "答复审核：已答复、答复审核",
    "callback": "待回访",
    "overdue": "已超期",
    "escalated": "已督办",
    "repeats": "有重复诉求",
}


# What each work queue holds (built when asked: the columns belong to the mapped class).
QUEUE_FILTERS = {
    "dispatch": lambda: Ticket.status.in_([TicketStatus.accepted, TicketStatus.returned]),
    "review": lambda: Ticket.status.in_([TicketStatus.replied, TicketStatus.reply_review]),
    "callback": lambda: Ticket.status == TicketStatus.awaiting_callback,
    "overdue": lambda: Ticket.overdue.is_(True),
    "escalated": lambda: Ticket.escalation_level > 0,
    "repeats": lambda: or_(Ticket.repeat_count > 0, Ticket.repeat_of_id.is_not(None)),
}


@router.get("", response_model=TicketPage, responses=ERRORS, summary="工单列表与工作队列（按角色限定可见范围）")
def list_tickets(
    principal: PrincipalDep,
    db_session: SessionDep,
    queue: Annotated[str | None, Query(description="dispatch | review | callback | overdue | escalated | repeats")] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    demand_type: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=100, description="工单号、内容或地点中的文字")] = None,
    phone: Annotated[str | None, Query(max_length=32, description="来电号码（仅平台角色）")] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TicketPage:
    if queue is not None and queue not in QUEUES:
        raise HTTPException(422, detail=f"没有这个队列：{queue}（可选：{'、'.join(QUEUES)}）")
    query = access.restrict(select(Ticket), principal)
    if queue is not None:
        query = query.where(QUEUE_FILTERS[queue]())
    if status_:
        query = query.where(Ticket.status == status_)
    if department:
        query = query.where(exists().where(
            TicketAssignment.ticket_id == Ticket.id, TicketAssignment.active.is_(True),
            TicketAssignment.department_id == department,
        ))
    if demand_type:
        query = query.where(Ticket.demand_type == demand_type)
    if q:
        like = f"%{q}%"
        query = query.where(or_(Ticket.ticket_no.like(like), Ticket.description.like(like), Ticket.location.like(like)))
    if phone:
        if principal.role not in access.CONTACT_ROLES:
            raise HTTPException(403, detail="权限不足：只有平台人员可以按来电号码查询。")
        query = query.where(Ticket.phone == phone)
    if created_from:
        query = query.where(Ticket.created_at >= _aware(created_from))
    if created_to:
        query = query.where(Ticket.created_at < _aware(created_to))
    total = db_session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db_session.scalars(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit).offset(offset)).all()
    return TicketPage(total=total, items=[_summary(t, principal) for t in rows])


def _summary(ticket: Ticket, principal: Principal) -> TicketSummary:
    item = TicketSummary(
        **{k: getattr(ticket, k) for k in TicketSummary.model_fields if k != "repeat_of"},
        repeat_of=ticket.repeat_of.ticket_no if ticket.repeat_of is not None else None,
    )
    if not principal.is_service:
        item.description = access.mask_text(item.description) or ""
    return item


@router.get("/{ticket_no}", response_model=TicketOut, responses=ERRORS,
            summary="查看工单（服务令牌看完整信息；人员按角色脱敏）")
def get_ticket(ticket_no: str, principal: PrincipalDep, db_session: SessionDep) -> TicketOut:
    ticket = readable_or_404(db_session=db_session, ticket_no=ticket_no, principal=principal)
    return ticket_out(ticket, None if principal.is_service else principal, db_session)


@router.post("/{ticket_no}/transitions", response_model=TicketOut, responses=ERRORS,
             summary="工单流转：派单、签收、退单、改派、办理、答复、延期、审核、回访、撤单、并单、督办")
def transition(ticket_no: str, body: TransitionIn, principal: PrincipalDep, db_session: SessionDep) -> TicketOut:
    ticket = readable_or_404(db_session=db_session, ticket_no=ticket_no, principal=principal)
    try:
        transitions.transition(db_session=db_session, ticket=ticket, principal=principal, body=body)
    except WorkflowError as exc:
        db_session.rollback()
        raise HTTPException(exc.status_code, detail=exc.detail) from None
    db_session.expire_all()
    ticket = service.get_by_no_or_404(db_session=db_session, ticket_no=ticket_no)
    if not access.can_read(db_session=db_session, principal=principal, ticket=ticket):
        # e.g. a department that just returned the ticket no longer holds it
        return ticket_out(ticket, principal, db_session).model_copy(update={"events": [], "assignments": []})
    return ticket_out(ticket, None if principal.is_service else principal, db_session)


@router.get("/{ticket_no}/contact", response_model=ContactOut, responses=ERRORS,
            summary="查看完整联系方式（留痕审计）")
def read_contact(ticket_no: str, principal: PrincipalDep, db_session: SessionDep) -> ContactOut:
    ticket = readable_or_404(db_session=db_session, ticket_no=ticket_no, principal=principal)
    if not access.can_read_contact(principal, ticket):
        reason = "保密件的联系方式只由12345平台回访" if ticket.confidential else "您的角色不需要群众的完整联系方式"
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"不能查看完整联系方式：{reason}。")
    service.record_event(db_session=db_session, ticket=ticket, action="view_contact", actor=principal.username,
                         note="查看完整联系方式", data={"role": principal.role.value})
    db_session.commit()
    return ContactOut(ticket_no=ticket.ticket_no, citizen_name=ticket.citizen_name, phone=ticket.phone,
                      anonymous=ticket.anonymous, confidential=ticket.confidential)


@router.get("/{ticket_no}/supervisions/{supervision_id}/letter.docx", responses={
    **ERRORS, 200: {"content": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document": {}}}},
    response_class=Response, summary="下载督办函（.docx）")
def supervision_letter(ticket_no: str, supervision_id: DbId, principal: PrincipalDep, db_session: SessionDep) -> Response:
    ticket = readable_or_404(db_session=db_session, ticket_no=ticket_no, principal=principal)
    supervision = db_session.get(Supervision, supervision_id)
    if supervision is None or supervision.ticket_id != ticket.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"工单 {ticket_no} 没有这份督办函。")
    department = db_session.get(Department, supervision.department_id or "")
    body = render_letter(supervision=supervision, ticket=ticket, department=department)
    filename = f"duban-{ticket.ticket_no}-{supervision.id}.docx"
    return Response(
        body, media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _mine(principal: Principal):
    if principal.role == Role.leader:
        return (Notification.recipient_kind == "leader") & (Notification.recipient_id == (principal.leader_id or ""))
    if principal.role == Role.handler:
        return (Notification.recipient_kind == "department") & (Notification.recipient_id == (principal.department_id or ""))
    return (Notification.recipient_kind == "role") & (Notification.recipient_id == principal.role.value)


@notifications_router.get("", response_model=list[NotificationOut], responses=ERRORS,
                          summary="我的通知：双交办、临期预警、超期、督办、退单、延期")
def my_notifications(
    principal: PrincipalDep, db_session: SessionDep, unread: bool = False,
    kind: Annotated[str | None, Query(max_length=16)] = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    query = select(Notification, Ticket.ticket_no).outerjoin(Ticket, Ticket.id == Notification.ticket_id).where(_mine(principal))
    if unread:
        query = query.where(Notification.read_at.is_(None))
    if kind:
        query = query.where(Notification.kind == kind)
    rows = db_session.execute(query.order_by(Notification.id.desc()).limit(limit)).all()
    return [NotificationOut(id=n.id, ticket_no=no, kind=n.kind, message=n.message, created_at=n.created_at, read_at=n.read_at)
            for n, no in rows]


@notifications_router.post("/{notification_id}/read", response_model=NotificationOut, responses=ERRORS, summary="标记已读")
def read_notification(notification_id: DbId, principal: PrincipalDep, db_session: SessionDep) -> NotificationOut:
    row = db_session.execute(
        select(Notification, Ticket.ticket_no).outerjoin(Ticket, Ticket.id == Notification.ticket_id)
        .where(Notification.id == notification_id, _mine(principal))
    ).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="没有这条通知。")
    note, no = row
    note.read_at = note.read_at or utcnow()
    db_session.commit()
    return NotificationOut(id=note.id, ticket_no=no, kind=note.kind, message=note.message, created_at=note.created_at, read_at=note.read_at)
