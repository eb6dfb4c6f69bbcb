"""The 工单 lifecycle's state machine: the transition table (which action, from which states, by
whom) and the moves that apply it (assignments, deadlines, notices and 督办 through flows, one
audit event per move). Keyword-only functions; routes stay thin.

Department actions (sign, start, reply, return, request_extension) are taken by a handler for
their own department's part; the ticket itself moves when the lead department acts, and reaches
已答复 only when every required department has replied (一哨联办). See docs/back-office.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from api.auth.deps import Principal
from api.auth.models import ROLE_LABELS, Role
from api.core.db import utcnow
from api.org import service as org
from api.org.profile import org_profile
from api.tickets import deadlines, flows
from api.tickets.models import (
    SETTLED_PART,
    AssignmentStatus,
    Ticket,
    TicketAssignment,
    TicketStatus,
)
from api.tickets.models import TicketStatus as S
from api.tickets.schemas import TransitionIn
from api.tickets.service import get_by_no, record_event

# ---- the table --------------------------------------------------------------------------------

class Action(StrEnum):
    dispatch = "dispatch"  # 派单
    sign = "sign"  # 签收
    return_ = "return"  # 退单
    reassign = "reassign"  # 改派
    start = "start"  # 开始办理
    reply = "reply"  # 答复
    request_extension = "request_extension"  # 延期申请
    approve_extension = "approve_extension"  # 延期批准
    reject_extension = "reject_extension"  # 延期驳回
    review = "review"  # 答复审核
    approve_reply = "approve_reply"  # 审核通过
    reject_reply = "reject_reply"  # 审核不通过，退回重办
    close = "close"  # 回访办结
    dissatisfied = "dissatisfied"  # 回访不满意，退回重办
    withdraw = "withdraw"  # 撤单
    merge = "merge"  # 并单
    escalate = "escalate"  # 提级督办（人工）


ACTION_LABELS = {
    Action.dispatch: "派单", Action.sign: "签收", Action.return_: "退单", Action.reassign: "改派",
    Action.start: "开始办理", Action.reply: "答复", Action.request_extension: "延期申请",
    Action.approve_extension: "批准延期", Action.reject_extension: "驳回延期", Action.review: "答复审核",
    Action.approve_reply: "审核通过", Action.reject_reply: "退回重办", Action.close: "回访办结",
    Action.dissatisfied: "不满意重办", Action.withdraw: "撤单", Action.merge: "并单", Action.escalate: "提级督办",
}


@dataclass(frozen=True)
class Rule:
    from_states: frozenset[S]
    to_state: S | None  # None: the state does not change (or is decided by the service, e.g. the last reply)
    roles: frozenset[Role]
    reason_required: bool = False
    department: bool = False  # taken by a handler on their own department's assignment


PLATFORM = frozenset({Role.dispatcher, Role.supervisor, Role.admin})
DISPATCH = frozenset({Role.dispatcher, Role.admin})
HANDLER = frozenset({Role.handler})
CALLBACK = frozenset({Role.agent, Role.dispatcher, Role.supervisor, Role.admin, Role.service})
OPEN = frozenset({S.accepted, S.dispatched, S.signed, S.in_progress, S.returned})

TRANSITIONS: dict[Action, Rule] = {
    Action.dispatch: Rule(frozenset({S.accepted}), S.dispatched, DISPATCH),
    Action.sign: Rule(frozenset({S.dispatched, S.signed, S.in_progress}), S.signed, HANDLER, department=True),
    Action.return_: Rule(frozenset({S.dispatched, S.signed}), S.returned, HANDLER, reason_required=True, department=True),
    Action.reassign: Rule(frozenset({S.returned, S.dispatched, S.signed}), S.dispatched, DISPATCH, reason_required=True),
    Action.start: Rule(frozenset({S.signed, S.in_progress}), S.in_progress, HANDLER, department=True),
    Action.reply: Rule(frozenset({S.signed, S.in_progress}), None, HANDLER, reason_required=True, department=True),
    Action.request_extension: Rule(frozenset({S.signed, S.in_progress}), None, HANDLER, reason_required=True, department=True),
    Action.approve_extension: Rule(frozenset({S.signed, S.in_progress}), None, frozenset({Role.supervisor, Role.admin})),
    Action.reject_extension: Rule(frozenset({S.signed, S.in_progress}), None, frozenset({Role.supervisor, Role.admin}), reason_required=True),
    # 答复审核 is one decision: approve, or send back with a reason, straight from 已答复. `review`
    # (claim the reply for review, 已答复 → 答复审核) stays for older clients; the decision works from both.
    Action.review: Rule(frozenset({S.replied}), S.reply_review, PLATFORM),
    Action.approve_reply: Rule(frozenset({S.replied, S.reply_review}), S.awaiting_callback, PLATFORM),
    Action.reject_reply: Rule(frozenset({S.replied, S.reply_review}), S.in_progress, PLATFORM, reason_required=True),
    Action.close: Rule(frozenset({S.awaiting_callback}), S.closed, CALLBACK),
    Action.dissatisfied: Rule(frozenset({S.awaiting_callback}), S.in_progress, CALLBACK, reason_required=True),
    Action.withdraw: Rule(OPEN, S.withdrawn, frozenset({Role.agent, Role.dispatcher, Role.admin, Role.service}), reason_required=True),
    Action.merge: Rule(OPEN, S.merged, PLATFORM, reason_required=True),
    Action.escalate: Rule(
        frozenset({S.dispatched, S.signed, S.in_progress, S.replied, S.reply_review, S.awaiting_callback}),
        None, frozenset({Role.supervisor, Role.admin}), reason_required=True,
    ),
}


class WorkflowError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def check(action: Action, *, status: str, role: Role, note: str | None) -> Rule:
    """Raise WorkflowError (403 role, 409 state, 422 missing reason) unless the move is legal."""
    rule = TRANSITIONS[action]
    label = ACTION_LABELS[action]
    if role not in rule.roles:
        allowed = "、".join(ROLE_LABELS[r] for r in sorted(rule.roles, key=list(Role).index))
        raise WorkflowError(403, f"{ROLE_LABELS[role]}不能{label}：这一步由{allowed}办理。")
    if status not in rule.from_states:
        allowed = "、".join(s.value for s in S if s in rule.from_states)
        raise WorkflowError(409, f"工单当前状态为「{status}」，不能{label}（只有「{allowed}」状态可以{label}）。")
    if rule.reason_required and not (note and note.strip()):
        raise WorkflowError(422, f"{label}需要填写理由或内容（note）。")
    return rule


def allowed_actions(*, status: str, role: Role) -> list[str]:
    """What the table lets this role do from this state, whatever the ticket's parts and requests
    (available_actions below narrows it to what would succeed on a given ticket)."""
    return [a.value for a, r in TRANSITIONS.items() if status in r.from_states and role in r.roles]


# Moves a page offers as buttons but that another move already covers: `review` is folded into the
# one-step decision (approve_reply / reject_reply).
LEGACY_ACTIONS = frozenset({Action.review})


# ---- applying a move ---------------------------------------------------------------------------

SATISFIED = ("满意", "基本满意", "未回访")


def _department_short(db_session: Session, department_id: str) -> str:
    dept = org.get_department(db_session=db_session, department_id=department_id)
    return (dept.short or dept.name) if dept else department_id


def _clause(text: str, *, drop: str = "") -> str:
    """A staff note as a clause inside our own sentence: no closing punctuation, no repeated ask."""
    text = text.strip()
    while True:
        trimmed = text.rstrip("。，,.；;！!、 ")
        if drop and trimmed.endswith(drop):
            trimmed = trimmed[: -len(drop)]
        if trimmed == text:
            return text
        text = trimmed


def _settle_parts(ticket: Ticket, status: TicketStatus) -> None:
    # Closing, withdrawing or merging the ticket ends every department's part with it.
    for a in ticket.active_assignments:
        a.status = SETTLED_PART[status]


def _department_ids(db_session: Session, refs: list[str]) -> list[str]:
    ids = []
    for ref in refs:
        dept = org.resolve_department(db_session=db_session, ref=ref)
        if dept is None or not dept.active:
            raise WorkflowError(422, f"没有这个承办单位：{ref}")
        ids.append(dept.id)
    return list(dict.fromkeys(ids))


def assign(*, db_session: Session, ticket: Ticket, lead: str, co: list[str], joint: bool, now: datetime) -> None:
    """Hand the ticket to a lead department and its co-departments (一哨联办 when joint)."""
    for old in ticket.active_assignments:
        old.active = False
    sign_due = deadlines.sign_due(now, ticket.urgency, org_profile().sla.sign_in_hours)
    ticket.assignments.append(TicketAssignment(department_id=lead, role="lead", required=True, sign_due_at=sign_due, created_at=now))
    for dept in co:
        if dept != lead:
            ticket.assignments.append(
                TicketAssignment(department_id=dept, role="co", required=joint, sign_due_at=sign_due, created_at=now)
            )
    ticket.lead_department = lead
    ticket.co_departments = [d for d in co if d != lead]
    ticket.dispatched_at, ticket.sign_due_at = now, sign_due
    ticket.needs_dispatcher = False
    ticket.status = TicketStatus.dispatched
    db_session.flush()
    flows.dual_assign(db_session=db_session, ticket=ticket, now=now)


def _own_assignment(ticket: Ticket, principal: Principal) -> TicketAssignment:
    own = next((a for a in ticket.active_assignments if a.department_id == principal.department_id), None)
    if own is None:
        raise WorkflowError(404, f"没有找到工单 {ticket.ticket_no}。")
    return own


def _maybe_all_replied(ticket: Ticket) -> None:
    required = [a for a in ticket.active_assignments if a.required]
    if ticket.status == TicketStatus.in_progress and required and all(a.status == AssignmentStatus.replied for a in required):
        ticket.status = TicketStatus.replied


def _back_to_work(ticket: Ticket, department: str | None) -> list[str]:
    reopened = []
    for a in ticket.active_assignments:
        if a.status == AssignmentStatus.replied and (department is None or a.department_id == department):
            a.status = AssignmentStatus.in_progress
            reopened.append(a.department_id)
    ticket.rework_count = (ticket.rework_count or 0) + 1
    ticket.status = TicketStatus.in_progress
    return reopened


def _dispatch(db_session: Session, ticket: Ticket, principal: Principal, body: TransitionIn, now: datetime) -> dict:
    lead_ref = body.department or ticket.lead_department
    if not lead_ref:
        raise WorkflowError(422, "派单需要指定主办单位（department）。")
    lead = _department_ids(db_session, [lead_ref])[0]
    if body.co_departments is not None:
        co = _department_ids(db_session, body.co_departments)
        joint = True if body.joint is None else body.joint
    elif lead == ticket.lead_department:  # taking the suggestion keeps its co-departments and matrix flag
        co = list(ticket.co_departments or [])
        joint = bool(((ticket.extra or {}).get("route") or {}).get("joint")) if body.joint is None else body.joint
    else:  # another lead starts clean
        co, joint = [], bool(body.joint)
    previous = " / ".join(x for x in (ticket.category_level1, ticket.category_level2, ticket.category_level3) if x)
    assign(db_session=db_session, ticket=ticket, lead=lead, co=co, joint=joint, now=now)
    data: dict[str, Any] = {"lead": lead, "co": ticket.co_departments, "joint": joint}
    category = flows.category_for_lead(ticket=ticket, department_id=lead)
    if category is not None:  # the 诉求类别 follows the ticket to its new lead (督办函, statistics)
        ticket.category_level1, ticket.category_level2, ticket.category_level3 = category
        data["category"] = " / ".join(x for x in category if x)
        data["category_before"] = previous or None
    return data


def _sign(db_session, ticket, principal, body, now) -> dict:
    own = _own_assignment(ticket, principal)
    if own.status != AssignmentStatus.pending:
        raise WorkflowError(409, f"本单位已签收过这张工单（当前：{own.status}）。")
    own.status, own.signed_at, own.signed_by = AssignmentStatus.signed, now, principal.username
    if own.role == "lead" and ticket.status == TicketStatus.dispatched:
        ticket.status = TicketStatus.signed
    return {"department": own.department_id, "part": own.role}


def _return(db_session, ticket, principal, body, now) -> dict:
    own = _own_assignment(ticket, principal)
    if own.status not in (AssignmentStatus.pending, AssignmentStatus.signed):
        raise WorkflowError(409, "已开始办理的工单不能退单，请申请延期或与派单员会商。")
    own.status, own.active = AssignmentStatus.returned, False
    if own.role == "lead":
        for a in ticket.active_assignments:
            a.active = False
        ticket.status = TicketStatus.returned
        ticket.needs_dispatcher = True
        reason = _clause(body.note or "", drop="请改派") or "未写明理由"
        flows.notify(db_session=db_session, ticket=ticket, recipient_kind="role", recipient_id="dispatcher", kind="退单",
                     message=f"工单 {ticket.ticket_no} 被{_department_short(db_session, own.department_id)}退回，"
                             f"退单理由：{reason}。请改派。", now=now)
    else:
        ticket.co_departments = [d for d in ticket.co_departments or [] if d != own.department_id]
        _maybe_all_replied(ticket)
    return {"department": own.department_id, "part": own.role}


def _reassign(db_session, ticket, principal, body, now) -> dict:
    if not body.department:
        raise WorkflowError(422, "改派需要指定新的主办单位（department）。")
    return _dispatch(db_session, ticket, principal, body, now)


def _start(db_session, ticket, principal, body, now) -> dict:
    own = _own_assignment(ticket, principal)
    if own.status == AssignmentStatus.pending:
        raise WorkflowError(409, "请先签收，再开始办理。")
    if own.status != AssignmentStatus.signed:
        raise WorkflowError(409, f"本单位的部分已是「{own.status}」，不能再开始办理。")
    own.status = AssignmentStatus.in_progress
    if own.role == "lead":
        ticket.status = TicketStatus.in_progress
    return {"department": own.department_id, "part": own.role}


def _reply(db_session, ticket, principal, body, now) -> dict:
    own = _own_assignment(ticket, principal)
    if own.status == AssignmentStatus.pending:
        raise WorkflowError(409, "现在不能答复：请先签收。")
    if own.status == AssignmentStatus.replied:
        raise WorkflowError(409, "本单位已经答复过；如需补充，请等待退回重办。")
    if own.role == "lead" and own.status != AssignmentStatus.in_progress:
        raise WorkflowError(409, "现在不能答复：主办单位请先开始办理。")
    own.status, own.replied_at, own.replied_by, own.reply_text = AssignmentStatus.replied, now, principal.username, body.note
    _maybe_all_replied(ticket)
    waiting = [a.department_id for a in ticket.active_assignments if a.required and a.status != AssignmentStatus.replied]
    return {"department": own.department_id, "part": own.role, "waiting_for": waiting}


def _request_extension(db_session, ticket, principal, body, now) -> dict:
    own = _own_assignment(ticket, principal)
    if own.role != "lead":
        raise WorkflowError(403, "只有主办单位可以申请延期。")
    policy = org_profile().sla
    if ticket.extension_request:
        raise WorkflowError(409, "已有一份延期申请在审批中。")
    if (ticket.extension_count or 0) >= policy.extension_max_requests:
        raise WorkflowError(409, f"每张工单最多申请延期{policy.extension_max_requests}次，已用完。")
    if not body.days or body.days > policy.extension_max_days:
        raise WorkflowError(422, f"延期申请需写明延期天数（days，1至{policy.extension_max_days}个工作日）。")
    ticket.extension_request = {"days": body.days, "reason": body.note, "by": principal.username,
                                "department": own.department_id, "at": now.isoformat()}
    flows.notify(db_session=db_session, ticket=ticket, recipient_kind="role", recipient_id="supervisor", kind="延期申请",
                 message=f"工单 {ticket.ticket_no} 申请延期{body.days}个工作日：{body.note}", now=now)
    return {"days": body.days}


def _pending_extension(ticket: Ticket) -> dict:
    if not ticket.extension_request:
        raise WorkflowError(409, "这张工单没有待审批的延期申请。")
    return ticket.extension_request


def _approve_extension(db_session, ticket, principal, body, now) -> dict:
    request = _pending_extension(ticket)
    base = ticket.complete_due_at or now
    ticket.complete_due_at = deadlines.add_working_days(base, int(request["days"]))
    ticket.extension_count = (ticket.extension_count or 0) + 1
    ticket.extension_request = None
    if ticket.complete_due_at > now:
        ticket.overdue = False
    # 延期办理件 are among the 重难点工单 the work model supervises by letter.
    flows.escalate(db_session=db_session, ticket=ticket, reason_kind="extension", actor=principal.username, now=now,
                   reason=f"批准延期{request['days']}个工作日（{request['reason']}），新办结时限{deadlines.describe(ticket.complete_due_at)}。")
    return {"days": request["days"], "complete_due_at": ticket.complete_due_at.isoformat()}


def _reject_extension(db_session, ticket, principal, body, now) -> dict:
    request = _pending_extension(ticket)
    ticket.extension_count = (ticket.extension_count or 0) + 1
    ticket.extension_request = None
    flows.notify(db_session=db_session, ticket=ticket, recipient_kind="department", recipient_id=request["department"],
                 kind="延期驳回", message=f"工单 {ticket.ticket_no} 的延期申请未获批准：{body.note}", now=now)
    return {"days": request["days"]}


def _set_status(db_session, ticket, principal, body, now) -> dict:
    return {}


def _reject_reply(db_session, ticket, principal, body, now) -> dict:
    department = _department_ids(db_session, [body.department])[0] if body.department else None
    reopened = _back_to_work(ticket, department)
    flows.escalate(db_session=db_session, ticket=ticket, reason_kind="rework", reason=body.note or "", actor=principal.username,
                   now=now, department_id=department)
    return {"reopened": reopened}


def _close(db_session, ticket, principal, body, now) -> dict:
    if body.satisfaction not in SATISFIED:
        raise WorkflowError(422, "回访办结需要填写满意度（satisfaction：满意、基本满意，或无法联系时填“未回访”）；不满意请用 dissatisfied。")
    if body.satisfaction == "未回访" and not body.note:
        raise WorkflowError(422, "未回访办结需要写明原因（note）。")
    ticket.satisfaction, ticket.closed_at = body.satisfaction, now
    _settle_parts(ticket, TicketStatus.closed)
    return {"satisfaction": body.satisfaction}


def _dissatisfied(db_session, ticket, principal, body, now) -> dict:
    ticket.satisfaction = "不满意"
    reopened = _back_to_work(ticket, None)
    flows.escalate(db_session=db_session, ticket=ticket, reason_kind="dissatisfied", reason=body.note or "", actor=principal.username, now=now)
    return {"satisfaction": "不满意", "reopened": reopened}


def _withdraw(db_session, ticket, principal, body, now) -> dict:
    _settle_parts(ticket, TicketStatus.withdrawn)
    for a in ticket.active_assignments:
        a.active = False
    ticket.closed_at = now
    return {}


def _merge(db_session, ticket, principal, body, now) -> dict:
    target = get_by_no(db_session=db_session, ticket_no=(body.target_ticket_no or "").strip())
    if target is None:
        raise WorkflowError(422, "并单需要填写原工单号（target_ticket_no），且该工单存在。")
    if target.id == ticket.id or target.status in (TicketStatus.merged, TicketStatus.withdrawn):
        raise WorkflowError(409, f"不能并入工单 {target.ticket_no}（状态「{target.status}」）。")
    if target.repeat_of_id == ticket.id:
        # Merging the original into its own repeat: the repeat becomes the original of the chain.
        target.repeat_of = None
        ticket.repeat_count = max(0, (ticket.repeat_count or 0) - 1)
    if ticket.repeat_of_id != target.id:
        if ticket.repeat_of is not None:
            ticket.repeat_of.repeat_count = max(0, (ticket.repeat_of.repeat_count or 0) - 1)
        ticket.repeat_of = target
        target.repeat_count = (target.repeat_count or 0) + 1
    ticket.merged_into = target
    _settle_parts(ticket, TicketStatus.merged)
    for a in ticket.active_assignments:
        a.active = False
    ticket.closed_at = now
    reason = _clause(body.note or "")
    # Each side's log speaks for itself: the original took the repeat in, the repeat went into the original.
    record_event(db_session=db_session, ticket=target, action="merge_in", actor=principal.username,
                 note=f"工单 {ticket.ticket_no} 并入本单：{reason}。",
                 data={"merged": ticket.ticket_no, "repeat_count": target.repeat_count}, created_at=now)
    return {"target": target.ticket_no, "_note": f"已并入工单 {target.ticket_no}：{reason}。"}


def _escalate(db_session, ticket, principal, body, now) -> dict:
    supervision = flows.escalate(db_session=db_session, ticket=ticket, reason_kind="manual", reason=body.note or "",
                                 actor=principal.username, now=now, department_id=None)
    return {"supervision_id": supervision.id}


HANDLERS = {
    Action.dispatch: _dispatch, Action.sign: _sign, Action.return_: _return, Action.reassign: _reassign,
    Action.start: _start, Action.reply: _reply, Action.request_extension: _request_extension,
    Action.approve_extension: _approve_extension, Action.reject_extension: _reject_extension,
    Action.review: _set_status, Action.approve_reply: _set_status, Action.reject_reply: _reject_reply,
    Action.close: _close, Action.dissatisfied: _dissatisfied, Action.withdraw: _withdraw, Action.merge: _merge,
    Action.escalate: _escalate,
}
# Moves whose target state is the same whoever acts: set from the table after the handler ran.
TABLE_SETS_STATE = {Action.review, Action.approve_reply, Action.close, Action.withdraw, Action.merge}


def transition(*, db_session: Session, ticket: Ticket, principal: Principal, body: TransitionIn,
               now: datetime | None = None) -> Ticket:
    """Apply one action, or raise WorkflowError (403/404/409/422) with the reason in Mandarin."""
    now = now or utcnow()
    action = Action(body.action)
    rule = check(action, status=ticket.status, role=principal.role, note=body.note)
    from_status = ticket.status
    try:
        data: dict[str, Any] = HANDLERS[action](db_session, ticket, principal, body, now)
        note = data.pop("_note", None) or body.note
        if action in TABLE_SETS_STATE and rule.to_state is not None:
            ticket.status = rule.to_state
        if action is Action.dispatch or action is Action.reassign:
            ticket.overdue = False
        record_event(
            db_session=db_session, ticket=ticket, action=action.value, actor=principal.username,
            from_status=from_status, to_status=ticket.status, note=note, data=data or None, created_at=now,
        )
        db_session.commit()
    except StaleDataError:
        # Someone else moved the ticket since it was read (version_id): refuse rather than overwrite.
        db_session.rollback()
        raise WorkflowError(409, "工单刚被其他人更新，请刷新后再试。") from None
    return ticket


# What each state of a department's own part lets its handler do next (签收 → 开始办理 → 答复);
# a co-department may answer straight after signing (its part has no separate start).
_PART_ACTIONS = {
    AssignmentStatus.pending: {Action.sign, Action.return_},
    AssignmentStatus.signed: {Action.start, Action.return_, Action.request_extension},
    AssignmentStatus.in_progress: {Action.reply, Action.request_extension},
}


def available_actions(*, ticket: Ticket, principal: Principal) -> list[str]:
    """The moves that would succeed now for this person on this ticket: the table narrowed by their
    own part's state, the lead/co role and a pending 延期申请 (a page offers only these buttons)."""
    if principal.is_service:
        return []
    own = next((a for a in ticket.active_assignments if a.department_id == principal.department_id), None)
    policy = org_profile().sla
    out = []
    for action, rule in TRANSITIONS.items():
        if action in LEGACY_ACTIONS or ticket.status not in rule.from_states or principal.role not in rule.roles:
            continue
        if rule.department:
            if own is None:
                continue
            offered = set(_PART_ACTIONS.get(AssignmentStatus(own.status), set()))
            if own.role != "lead":
                offered.discard(Action.request_extension)
                if own.status == AssignmentStatus.signed:
                    offered.add(Action.reply)
            if action not in offered:
                continue
            if action is Action.request_extension and (
                    ticket.extension_request or (ticket.extension_count or 0) >= policy.extension_max_requests):
                continue
        if action in (Action.approve_extension, Action.reject_extension) and not ticket.extension_request:
            continue
        out.append(action.value)
    return out
