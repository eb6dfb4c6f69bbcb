"""The 工单 lifecycle as an explicit transition table: which action, from which states, by whom.

Department actions (sign, start, reply, return, request_extension) are taken by a handler for
their own department's part; the ticket itself moves when the lead department acts, and reaches
已答复 only when every required department has replied (一哨联办). See docs/back-office.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from api.auth.models import ROLE_LABELS, Role
from api.tickets.models import TicketStatus as S


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
    (workflow_service.available_actions narrows it to what would succeed on a given ticket)."""
    return [a.value for a, r in TRANSITIONS.items() if status in r.from_states and role in r.roles]


# Moves a page offers as buttons but that another move already covers: `review` is folded into the
# one-step decision (approve_reply / reject_reply).
LEGACY_ACTIONS = frozenset({Action.review})
