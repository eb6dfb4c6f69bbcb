"""Read side of the 工单工作台: role queues, search, the whole timeline of a ticket, list export.

Visibility and masking come from api.tickets.access (never re-implemented here): a department
sees only its own tickets, and phone / ID numbers are masked in every string staff read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from api.analytics.export import workbook
from api.auth.deps import Principal
from api.auth.models import Role
from api.callbacks.models import CallbackJob
from api.conversations.models import Message
from api.core.db import utcnow
from api.core.settings import get_settings
from api.org.models import Department
from api.org.profile import org_profile
from api.tickets import access
from api.tickets.flows import LEVEL_LABELS, REASON_LABELS
from api.tickets.letters import render_letter
from api.tickets.models import (
    DEMAND_TYPE_LABELS,
    TERMINAL_STATUSES,
    Notification,
    Supervision,
    Ticket,
    TicketAssignment,
    TicketStatus,
)
from api.tickets.transitions import ACTION_LABELS


class OfficeError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


# Each view: its Mandarin name and the roles whose workbench shows it (search is everyone's).
VIEWS: dict[str, tuple[str, frozenset[Role]]] = {
    "dispatch": ("待派单", frozenset({Role.dispatcher, Role.admin})),
    "unit": ("本单位工单", frozenset({Role.handler})),
    "review": ("待审核", frozenset({Role.dispatcher, Role.supervisor, Role.admin})),
    "extension": ("延期申请", frozenset({Role.supervisor, Role.admin})),
    "escalated": ("提级督办", frozenset({Role.supervisor, Role.leader, Role.admin})),
    "overdue": ("已超期", frozenset({Role.supervisor, Role.leader, Role.dispatcher, Role.admin})),
    "dual": ("双交办", frozenset({Role.leader, Role.supervisor, Role.admin})),
    "repeats": ("重复诉求", frozenset({Role.dispatcher, Role.supervisor, Role.admin})),
    "callback": ("待回访", frozenset({Role.agent, Role.dispatcher, Role.supervisor, Role.admin})),
    "search": ("工单查询", frozenset({Role.agent, Role.dispatcher, Role.handler, Role.supervisor, Role.leader, Role.admin})),
}
OPEN = [s for s in TicketStatus if s not in TERMINAL_STATUSES]


@dataclass(frozen=True)
class Filters:
    ticket_no: str | None = None
    phone_last4: str | None = None
    text: str | None = None
    town: str | None = None
    department: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def views_for(role: Role) -> list[dict[str, str]]:
    return [{"id": key, "label": label} for key, (label, roles) in VIEWS.items() if role in roles]


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(get_settings().timezone))


def _filtered(query, filters: Filters):
    if filters.ticket_no:
        query = query.where(Ticket.ticket_no.like(f"%{filters.ticket_no.strip().upper()}%"))
    if filters.phone_last4:
        # The last four digits are shown to every staff member anyway (138****5678): no disclosure.
        query = query.where(Ticket.phone.like(f"%{filters.phone_last4}"))
    if filters.text:
        like = f"%{filters.text.strip()}%"
        query = query.where(or_(Ticket.description.like(like), Ticket.location.like(like)))
    if filters.town:
        query = query.where(Ticket.location_town == filters.town)
    if filters.department:
        query = query.where(exists().where(
            TicketAssignment.ticket_id == Ticket.id, TicketAssignment.active.is_(True),
            TicketAssignment.department_id == filters.department,
        ))
    if filters.status:
        query = query.where(Ticket.status == filters.status)
    if filters.date_from:
        query = query.where(Ticket.created_at >= _local_start(filters.date_from))
    if filters.date_to:
        query = query.where(Ticket.created_at < _local_start(filters.date_to + timedelta(days=1)))
    return query


def _view_query(view: str, principal: Principal):
    query = access.restrict(select(Ticket), principal)
    if view == "dispatch":
        # Low confidence and unrouted first: the ones the machine could not place need a person most.
        return query.where(Ticket.status.in_([TicketStatus.accepted, TicketStatus.returned])).order_by(
            case((Ticket.urgency == "特急", 0), (Ticket.urgency == "紧急", 1), else_=2),
            case((Ticket.status == TicketStatus.returned, 0), (Ticket.lead_department.is_(None), 0), else_=1),
            func.coalesce(Ticket.category_confidence, 0.0), Ticket.created_at)
    if view == "unit":
        return query.where(Ticket.status.in_(OPEN + [TicketStatus.replied, TicketStatus.reply_review])).order_by(
            case((Ticket.complete_due_at.is_(None), 1), else_=0), Ticket.complete_due_at, Ticket.created_at)
    if view == "review":
        return query.where(Ticket.status.in_([TicketStatus.replied, TicketStatus.reply_review])).order_by(Ticket.updated_at)
    if view == "extension":
        return query.where(Ticket.extension_request.is_not(None), Ticket.status.in_(OPEN)).order_by(Ticket.updated_at)
    if view == "escalated":
        return query.where(Ticket.escalation_level > 0, Ticket.status.not_in(TERMINAL_STATUSES)).order_by(
            Ticket.escalation_level.desc(), Ticket.complete_due_at)
    if view == "overdue":
        return query.where(Ticket.overdue.is_(True), Ticket.status.not_in(TERMINAL_STATUSES)).order_by(Ticket.complete_due_at)
    if view == "dual":
        mine = Notification.kind == "双交办"
        if principal.role == Role.leader:
            mine = mine & (Notification.recipient_kind == "leader") & (Notification.recipient_id == (principal.leader_id or ""))
        return query.where(exists().where(Notification.ticket_id == Ticket.id, mine)).order_by(Ticket.created_at.desc())
    if view == "repeats":
        return query.where(or_(Ticket.repeat_count > 0, Ticket.repeat_of_id.is_not(None)),
                           Ticket.status.not_in(TERMINAL_STATUSES)).order_by(Ticket.created_at.desc())
    if view == "callback":
        return query.where(Ticket.status == TicketStatus.awaiting_callback).order_by(Ticket.updated_at)
    return query.order_by(Ticket.created_at.desc(), Ticket.id.desc())


def department_names(db_session: Session) -> dict[str, str]:
    return dict(db_session.execute(select(Department.id, Department.short)).all())


def deadline_state(ticket: Ticket, now: datetime) -> str | None:
    """overdue (已超期), soon (即将超期: within the county's warning hours) or None, for the colours."""
    if ticket.status in TERMINAL_STATUSES or ticket.complete_due_at is None:
        return None
    if ticket.status == TicketStatus.awaiting_callback:
        return None  # the department's part is done; what remains is the platform's follow-up
    if ticket.overdue or ticket.complete_due_at <= now:
        return "overdue"
    if ticket.complete_due_at - timedelta(hours=org_profile().sla.warn_before_hours) <= now:
        return "soon"
    return None


def _local(moment: datetime | None) -> str | None:
    return moment.astimezone(ZoneInfo(get_settings().timezone)).isoformat(timespec="minutes") if moment else None


def row(ticket: Ticket, principal: Principal, names: dict[str, str], now: datetime) -> dict[str, Any]:
    own = next((a for a in ticket.active_assignments if a.department_id == principal.department_id), None)
    co = [names.get(a.department_id, a.department_id) for a in ticket.active_assignments if a.role == "co"]
    return {
        "ticket_no": ticket.ticket_no,
        "status": ticket.status,
        "urgency": ticket.urgency,
        "demand_type": DEMAND_TYPE_LABELS.get(ticket.demand_type, ticket.demand_type),
        "category": " / ".join(x for x in (ticket.category_level1, ticket.category_level2) if x) or "未分类",
        "confidence": ticket.category_confidence,
        "description": access.mask_text(ticket.description) or "",
        "location": access.mask_text(ticket.location),
        "town": ticket.location_town,
        "phone": access.mask_phone(ticket.phone),
        "lead_department": names.get(ticket.lead_department or "", ticket.lead_department),
        "co_departments": co,
        "needs_dispatcher": ticket.needs_dispatcher,
        "overdue": ticket.overdue,
        "deadline_state": deadline_state(ticket, now),
        "escalation_level": ticket.escalation_level,
        "repeat_of": ticket.repeat_of.ticket_no if ticket.repeat_of is not None else None,
        "repeat_count": ticket.repeat_count,
        "my_part": {"role": own.role, "status": own.status} if own else None,
        "complete_due_at": _local(ticket.complete_due_at),
        "created_at": _local(ticket.created_at),
    }


def list_view(*, db_session: Session, principal: Principal, view: str, filters: Filters,
              limit: int = 50, offset: int = 0) -> dict[str, Any]:
    if view not in VIEWS:
        raise OfficeError(422, f"没有这个列表：{view}（可选：{'、'.join(VIEWS)}）")
    label, roles = VIEWS[view]
    if principal.role not in roles:
        raise OfficeError(403, f"「{label}」不是您这个岗位的工作列表。")
    query = _filtered(_view_query(view, principal), filters)
    total = db_session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    tickets = db_session.scalars(query.options(selectinload(Ticket.assignments), selectinload(Ticket.repeat_of))
                                 .limit(limit).offset(offset)).all()
    names, now = department_names(db_session), utcnow()
    return {"view": view, "label": label, "total": total, "items": [row(t, principal, names, now) for t in tickets]}


def counts(*, db_session: Session, principal: Principal) -> dict[str, int]:
    """How many tickets wait in each of this person's lists (the numbers beside the tabs)."""
    out = {}
    for view in views_for(principal.role):
        if view["id"] == "search":
            continue
        query = _view_query(view["id"], principal).order_by(None)
        out[view["id"]] = db_session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return out


EXPORT_COLUMNS = ["工单号", "状态", "紧急程度", "诉求类型", "分类", "镇（街道）", "主办单位", "协办单位", "办结时限",
                  "时限状态", "督办级别", "受理时间", "来电（已脱敏）", "诉求内容（已脱敏）"]
DEADLINE_LABELS = {"overdue": "已超期", "soon": "即将超期", None: ""}


def export_xlsx(*, db_session: Session, principal: Principal, view: str, filters: Filters) -> bytes:
    """The list as the person sees it (their visibility, masked), up to 5000 rows."""
    data = list_view(db_session=db_session, principal=principal, view=view, filters=filters, limit=5000)
    rows = [[r["ticket_no"], r["status"], r["urgency"], r["demand_type"], r["category"], r["town"] or "",
             r["lead_department"] or "", "、".join(r["co_departments"]), (r["complete_due_at"] or "").replace("T", " ")[:16],
             DEADLINE_LABELS[r["deadline_state"]], r["escalation_level"] or "", (r["created_at"] or "").replace("T", " ")[:16],
             r["phone"] or "", r["description"]] for r in data["items"]]
    return workbook([(data["label"], EXPORT_COLUMNS, rows)])


# ---- one ticket: suggestion, parts, repeats, the whole timeline ---------------------------------------

EVENT_LABELS = {
    **{a.value: label for a, label in ACTION_LABELS.items()},
    "create": "受理", "merge_in": "并入重复工单", "overdue": "超期", "sign_overdue": "超时未签收",
    "supervise": "提级督办", "view_contact": "查看完整联系方式", "repeat": "重复诉求", "attach": "上传附件",
    "linkage": "六方联动",
}
ROLE_LABELS = {"citizen": "市民", "bot": "机器人", "agent": "坐席", "system": "系统"}


def suggestion(ticket: Ticket, names: dict[str, str]) -> dict[str, Any]:
    route = (ticket.extra or {}).get("route") or {}
    return {
        "department": ticket.lead_department,
        "department_name": names.get(ticket.lead_department or ""),
        "co_departments": [{"id": d, "name": names.get(d, d)} for d in ticket.co_departments or []],
        "joint": bool(route.get("joint")),
        "confidence": ticket.category_confidence,
        "category": " / ".join(x for x in (ticket.category_level1, ticket.category_level2, ticket.category_level3) if x),
        "reasons": [access.mask_text(r) for r in route.get("reasons") or []],
        "needs_dispatcher": ticket.needs_dispatcher,
    }


def repeat_candidates(*, db_session: Session, principal: Principal, ticket: Ticket) -> list[dict[str, Any]]:
    """The chain this ticket belongs to (its original and the other repeats), for 并单 side by side."""
    root = ticket.repeat_of or ticket
    query = access.restrict(
        select(Ticket).where(or_(Ticket.id == root.id, Ticket.repeat_of_id == root.id), Ticket.id != ticket.id,
                             Ticket.status.not_in([TicketStatus.merged, TicketStatus.withdrawn])), principal)
    names, now = department_names(db_session), utcnow()
    return [row(t, principal, names, now) for t in db_session.scalars(query.order_by(Ticket.created_at).limit(10))]


def timeline(*, db_session: Session, ticket: Ticket) -> list[dict[str, Any]]:
    """Everything that happened to the ticket, oldest first: events, the call or chat, follow-ups."""
    items: list[dict[str, Any]] = []
    for e in ticket.events:
        items.append({"at": e.created_at, "kind": "event", "label": EVENT_LABELS.get(e.action, e.action), "actor": e.actor,
                      "text": access.mask_text(e.note) or "", "to_status": e.to_status})
    if ticket.conversation_id:
        kind = "call" if ticket.channel == "voice" else "chat"
        for m in db_session.scalars(select(Message).where(Message.conversation_id == ticket.conversation_id)
                                    .order_by(Message.id)):
            items.append({"at": m.created_at, "kind": kind, "label": ("通话 · " if kind == "call" else "对话 · ")
                          + ROLE_LABELS.get(m.role, m.role), "actor": m.author or ROLE_LABELS.get(m.role, m.role),
                          "text": access.mask_text(m.text) or ""})
    for job in db_session.scalars(select(CallbackJob).where(CallbackJob.ticket_id == ticket.id).order_by(CallbackJob.id)):
        items.append({"at": job.created_at, "kind": "followup", "label": "回访排队", "actor": "回访",
                      "text": f"第{job.round + 1}轮回访（{'电话' if job.channel == 'phone' else '对话'}）：{job.status}"})
        for attempt in job.attempt_log:
            items.append({"at": attempt.started_at, "kind": "followup", "label": f"回访第{attempt.number}次",
                          "actor": attempt.worker, "text": attempt.outcome or "拨打中"})
        if job.completed_at:
            said = "；".join(x for x in (f"满意度：{job.rating}" if job.rating else "",
                                           f"原因：{access.mask_text(job.reason)}" if job.reason else "",
                                           job.skip_reason or "") if x)
            items.append({"at": job.completed_at, "kind": "followup", "label": "回访结果", "actor": "回访",
                          "text": said or (job.outcome or "")})
    items.sort(key=lambda x: x["at"])
    return [{**x, "at": _local(x["at"])} for x in items]


def citizen_words(*, db_session: Session, ticket: Ticket) -> list[str]:
    """What the citizen said (their chat or call turns), masked: the reviewer reads it beside the reply."""
    if not ticket.conversation_id:
        return []
    texts = db_session.scalars(select(Message.text).where(Message.conversation_id == ticket.conversation_id,
                                                           Message.role == "citizen").order_by(Message.id))
    return [access.mask_text(t) or "" for t in texts]


def supervisions(ticket: Ticket, names: dict[str, str]) -> list[dict[str, Any]]:
    return [{"id": s.id, "letter_no": s.letter_no, "level": s.level, "level_label": LEVEL_LABELS.get(s.level, ""),
             "reason": REASON_LABELS.get(s.reason_kind, s.reason_kind), "detail": access.mask_text(s.reason),
             "department": names.get(s.department_id or "", s.department_id), "due_at": _local(s.due_at),
             "created_at": _local(s.created_at),
             "letter_url": f"/api/v1/tickets/{ticket.ticket_no}/supervisions/{s.id}/letter.docx",
             "preview_url": f"/api/v1/office/tickets/{ticket.ticket_no}/supervisions/{s.id}/preview"}
            for s in ticket.supervisions]


def letter_preview(*, db_session: Session, ticket: Ticket, supervision_id: int) -> dict[str, Any]:
    """The 督办函 as the department receives it: read back from the very .docx it downloads."""
    from docx import Document
    from docx.table import Table as DocxTable

    supervision = db_session.get(Supervision, supervision_id)
    if supervision is None or supervision.ticket_id != ticket.id:
        raise OfficeError(404, f"工单 {ticket.ticket_no} 没有这份督办函。")
    department = db_session.get(Department, supervision.department_id or "")
    doc = Document(BytesIO(render_letter(supervision=supervision, ticket=ticket, department=department)))
    blocks: list[dict[str, Any]] = []
    for block in doc.iter_inner_content():  # paragraphs and the table in document order
        if isinstance(block, DocxTable):
            blocks.append({"table": [[cell.text for cell in r.cells] for r in block.rows]})
        elif block.text.strip():
            blocks.append({"text": block.text, "align": "center" if block.alignment == 1 else
                           "right" if block.alignment == 2 else "left"})
    return {"letter_no": supervision.letter_no, "blocks": blocks}
