"""The 工单 lifecycle through the API: every legal transition, and illegal ones for every role."""

from __future__ import annotations

import pytest
from backoffice_helpers import act, get, new_ticket

from api.tickets.transitions import TRANSITIONS, Action

ROLES = ["agent", "dispatcher", "handler_cgj", "supervisor", "leader", "admin", "service"]

# Who owns each move, written down independently of api.tickets.transitions (docs/back-office.md).
OWNERS = {
    "dispatch": {"dispatcher", "admin"}, "reassign": {"dispatcher", "admin"},
    "sign": {"handler"}, "return": {"handler"}, "start": {"handler"}, "reply": {"handler"},
    "request_extension": {"handler"},
    "approve_extension": {"supervisor", "admin"}, "reject_extension": {"supervisor", "admin"},
    "escalate": {"supervisor", "admin"},
    "review": {"dispatcher", "supervisor", "admin"}, "approve_reply": {"dispatcher", "supervisor", "admin"},
    "reject_reply": {"dispatcher", "supervisor", "admin"}, "merge": {"dispatcher", "supervisor", "admin"},
    "close": {"agent", "dispatcher", "supervisor", "admin", "service"},
    "dissatisfied": {"agent", "dispatcher", "supervisor", "admin", "service"},
    "withdraw": {"agent", "dispatcher", "admin", "service"},
}
# From which states each move may start.
OPEN = {"已受理", "已派单", "已签收", "办理中", "已退单"}
FROM = {
    "dispatch": {"已受理"}, "reassign": {"已退单", "已派单", "已签收"}, "sign": {"已派单", "已签收", "办理中"},
    "return": {"已派单", "已签收"}, "start": {"已签收", "办理中"}, "reply": {"已签收", "办理中"},
    "request_extension": {"已签收", "办理中"}, "approve_extension": {"已签收", "办理中"},
    "reject_extension": {"已签收", "办理中"}, "review": {"已答复"}, "approve_reply": {"已答复", "答复审核"},
    "reject_reply": {"已答复", "答复审核"}, "close": {"待回访"}, "dissatisfied": {"待回访"}, "withdraw": OPEN, "merge": OPEN,
    "escalate": {"已派单", "已签收", "办理中", "已答复", "答复审核", "待回访"},
}


def test_the_transition_table_matches_the_documented_ownership():
    assert {a.value: {r.value for r in rule.roles} for a, rule in TRANSITIONS.items()} == OWNERS
    assert {a.value: {s.value for s in rule.from_states} for a, rule in TRANSITIONS.items()} == FROM


def _events(ticket: dict) -> list[tuple[str, str | None, str | None, str]]:
    return [(e["action"], e["from_status"], e["to_status"], e["actor"]) for e in ticket["events"]]


def test_happy_path_walks_every_main_state(client, staff):
    t = new_ticket(client)
    no = t["ticket_no"]
    assert t["status"] == "已受理"

    assert act(client, staff["dispatcher"], no, "dispatch", department="城管局")["status"] == "已派单"
    assert act(client, staff["handler_cgj"], no, "sign")["status"] == "已签收"
    assert act(client, staff["handler_cgj"], no, "start")["status"] == "办理中"
    replied = act(client, staff["handler_cgj"], no, "reply", note="已安排维修班组更换灯具，当晚恢复照明。")
    assert replied["status"] == "已答复"
    assert act(client, staff["supervisor"], no, "review")["status"] == "答复审核"
    assert act(client, staff["dispatcher"], no, "approve_reply")["status"] == "待回访"
    closed = act(client, staff["agent"], no, "close", satisfaction="满意", note="回访群众表示满意")
    assert closed["status"] == "已办结"

    full = get(client, staff["service"], no)
    assert full["satisfaction"] == "满意" and full["closed_at"]
    assert _events(full) == [
        ("create", None, "已受理", "bot"),
        ("dispatch", "已受理", "已派单", "dispatcher"),
        ("sign", "已派单", "已签收", "handler_cgj"),
        ("start", "已签收", "办理中", "handler_cgj"),
        ("reply", "办理中", "已答复", "handler_cgj"),
        ("review", "已答复", "答复审核", "supervisor"),
        ("approve_reply", "答复审核", "待回访", "dispatcher"),
        ("close", "待回访", "已办结", "agent"),
    ]
    assert full["events"][4]["note"].startswith("已安排维修班组")
    # Nothing moves a closed ticket.
    r = client.post(f"/api/v1/tickets/{no}/transitions", json={"action": "withdraw", "note": "x"}, headers=staff["service"])
    assert r.status_code == 409 and "已办结" in r.json()["detail"]


def test_return_and_reassign(client, staff):
    no = new_ticket(client)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="gaj")
    act(client, staff["handler_gaj"], no, "return", expect=422)  # a return needs its reason
    returned = act(client, staff["handler_gaj"], no, "return", note="路灯属城管局职责，非我局事项")
    assert returned["status"] == "已退单" and returned["needs_dispatcher"] is True
    # The department that sent it back no longer holds it.
    assert client.get(f"/api/v1/tickets/{no}", headers=staff["handler_gaj"]).status_code == 404
    queue = client.get("/api/v1/tickets", params={"queue": "dispatch"}, headers=staff["dispatcher"]).json()
    assert no in [x["ticket_no"] for x in queue["items"]]
    notes = client.get("/api/v1/notifications", headers=staff["dispatcher"]).json()
    assert any(n["kind"] == "退单" and n["ticket_no"] == no for n in notes)

    act(client, staff["dispatcher"], no, "reassign", department="cgj", expect=422)  # 改派 needs a reason too
    re = act(client, staff["dispatcher"], no, "reassign", department="cgj", note="按职责改派城管局")
    assert re["status"] == "已派单" and re["lead_department"] == "cgj"
    assert act(client, staff["handler_cgj"], no, "sign")["status"] == "已签收"


def test_extension_request_approval_and_limits(client, staff):
    no = new_ticket(client)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    act(client, staff["handler_cgj"], no, "sign")
    before = get(client, staff["service"], no)["complete_due_at"]
    act(client, staff["handler_cgj"], no, "request_extension", note="需更换整段线缆", expect=422)  # days missing
    act(client, staff["handler_cgj"], no, "request_extension", note="需更换整段线缆", days=30, expect=422)  # over max
    act(client, staff["handler_cgj"], no, "request_extension", note="需更换整段线缆，等供电公司停电配合", days=3)
    act(client, staff["handler_cgj"], no, "request_extension", note="再申请", days=2, expect=409)  # one pending
    act(client, staff["dispatcher"], no, "approve_extension", expect=403)  # supervisor's call
    approved = act(client, staff["supervisor"], no, "approve_extension")
    assert approved["complete_due_at"] > before
    assert approved["extension_request"] is None and approved["escalation_level"] == 1  # 延期件 are supervised
    act(client, staff["handler_cgj"], no, "request_extension", note="还要延期", days=2, expect=409)  # max 1 request
    act(client, staff["supervisor"], no, "reject_extension", note="无", expect=409)  # nothing pending


def test_extension_rejected(client, staff):
    no = new_ticket(client)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    act(client, staff["handler_cgj"], no, "sign")
    act(client, staff["handler_cgj"], no, "request_extension", note="人手不足", days=2)
    act(client, staff["supervisor"], no, "reject_extension", expect=422)
    rejected = act(client, staff["supervisor"], no, "reject_extension", note="路灯维修不属于延期情形")
    assert rejected["extension_request"] is None and rejected["escalation_level"] == 0
    notes = client.get("/api/v1/notifications", headers=staff["handler_cgj"]).json()
    assert any(n["kind"] == "延期驳回" for n in notes)


def _to_review(client, staff) -> str:
    no = new_ticket(client)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    act(client, staff["handler_cgj"], no, "sign")
    act(client, staff["handler_cgj"], no, "start")
    act(client, staff["handler_cgj"], no, "reply", note="已修复")
    act(client, staff["supervisor"], no, "review")
    return no


def test_rejected_reply_goes_back_to_work(client, staff):
    no = _to_review(client, staff)
    act(client, staff["supervisor"], no, "reject_reply", expect=422)
    back = act(client, staff["supervisor"], no, "reject_reply", note="答复未说明修复时间和后续巡查")
    assert back["status"] == "办理中" and back["rework_count"] == 1 and back["escalation_level"] == 1
    assert back["assignments"][0]["status"] == "办理中"
    again = act(client, staff["handler_cgj"], no, "reply", note="已于11月27日修复，并纳入每周巡查")
    assert again["status"] == "已答复"


def test_dissatisfied_citizen_reopens_and_escalates(client, staff):
    no = _to_review(client, staff)
    act(client, staff["supervisor"], no, "approve_reply")
    act(client, staff["service"], no, "close", satisfaction="不满意", expect=422)  # use dissatisfied for that
    act(client, staff["service"], no, "dissatisfied", expect=422)
    back = act(client, staff["service"], no, "dissatisfied", note="群众反映路灯仍不亮")
    assert back["status"] == "办理中" and back["satisfaction"] == "不满意"
    assert back["escalation_level"] == 1 and back["supervisions"][0]["reason_kind"] == "dissatisfied"


def test_withdraw_needs_reason_and_works_from_open_states(client, staff):
    no = new_ticket(client)["ticket_no"]
    act(client, staff["service"], no, "withdraw", expect=422)
    done = act(client, staff["service"], no, "withdraw", note="群众来电表示问题已自行解决")
    assert done["status"] == "已撤单"
    act(client, staff["dispatcher"], no, "dispatch", department="cgj", expect=409)


def test_unknown_department_is_refused(client, staff):
    no = new_ticket(client)["ticket_no"]
    r = client.post(f"/api/v1/tickets/{no}/transitions", json={"action": "dispatch", "department": "不存在局"},
                    headers=staff["dispatcher"])
    assert r.status_code == 422 and "没有这个承办单位" in r.json()["detail"]
    r = client.post(f"/api/v1/tickets/{no}/transitions", json={"action": "fly"}, headers=staff["dispatcher"])
    assert r.status_code == 422


def _ticket_in(client, staff, status: str) -> str:
    no = new_ticket(client)["ticket_no"]
    dispatch = ("dispatcher", "dispatch", {"department": "cgj"})
    sign, start = ("handler_cgj", "sign", {}), ("handler_cgj", "start", {})
    reply = ("handler_cgj", "reply", {"note": "已修复"})
    review, approve = ("supervisor", "review", {}), ("supervisor", "approve_reply", {})
    steps = {
        "已受理": [],
        "已派单": [dispatch],
        "已签收": [dispatch, sign],
        "办理中": [dispatch, sign, start],
        "已答复": [dispatch, sign, start, reply],
        "答复审核": [dispatch, sign, start, reply, review],
        "待回访": [dispatch, sign, start, reply, review, approve],
        "已办结": [dispatch, sign, start, reply, review, approve, ("agent", "close", {"satisfaction": "满意"})],
        "已退单": [dispatch, ("handler_cgj", "return", {"note": "非本单位职责"})],
        "已撤单": [dispatch, ("service", "withdraw", {"note": "群众撤回"})],
        "已并单": [("dispatcher", "merge", {"note": "重复", "target_ticket_no": new_ticket(client, description="另一张工单内容")["ticket_no"]})],
    }[status]
    for who, action, extra in steps:
        act(client, staff[who], no, action, **extra)
    return no


def _role_of(account: str):
    from api.auth.models import Role

    return Role("handler" if account.startswith("handler") else account)


@pytest.mark.parametrize("status", ["已受理", "已派单", "已签收", "办理中", "已答复", "答复审核", "待回访", "已办结", "已退单", "已撤单", "已并单"])
def test_illegal_moves_for_every_role(client, staff, status):
    """Each (role, action) the table forbids in this state is refused and changes nothing."""
    no = _ticket_in(client, staff, status)
    for account in ROLES:
        role = _role_of(account).value
        visible = client.get(f"/api/v1/tickets/{no}", headers=staff[account]).status_code == 200
        for action in Action:
            owners, sources = OWNERS[action.value], FROM[action.value]
            if role in owners and status in sources:
                continue  # legal here: covered by the walks above
            body = {"action": action.value, "note": "测试理由", "department": "cgj", "days": 1,
                    "satisfaction": "满意", "target_ticket_no": no}
            r = client.post(f"/api/v1/tickets/{no}/transitions", json=body, headers=staff[account])
            if not visible:
                expected = {404}
            elif role not in owners:
                expected = {403}
            else:
                expected = {409}
            assert r.status_code in expected, (account, action.value, status, r.status_code, r.text)
            assert r.json()["detail"], "a refusal always says why"
        assert get(client, staff["service"], no)["status"] == status


def test_allowed_actions_follow_the_table(client, staff):
    no = _ticket_in(client, staff, "已派单")
    assert set(get(client, staff["handler_cgj"], no)["allowed_actions"]) == {"sign", "return"}
    assert "reassign" in get(client, staff["dispatcher"], no)["allowed_actions"]
    assert Action.sign.value not in get(client, staff["supervisor"], no)["allowed_actions"]
