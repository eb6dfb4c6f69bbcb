"""双交办 (the leader in charge sees every dispatched ticket) and 一哨联办 (joint handling)."""

from __future__ import annotations

from backoffice_helpers import act, get, new_ticket


def test_dispatch_copies_the_leader_in_charge(client, staff):
    no = new_ticket(client)["ticket_no"]
    assert client.get(f"/api/v1/tickets/{no}", headers=staff["leader"]).status_code == 404  # not yet dispatched
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")  # 城管局 → 分管 deputy_urban 刘志强

    notes = client.get("/api/v1/notifications", headers=staff["leader"]).json()
    dual = [n for n in notes if n["kind"] == "双交办"]
    assert len(dual) == 1 and dual[0]["ticket_no"] == no and "城管局" in dual[0]["message"]
    mine = client.get("/api/v1/tickets", headers=staff["leader"]).json()
    assert [x["ticket_no"] for x in mine["items"]] == [no]
    view = get(client, staff["leader"], no)
    assert view["phone"] == "138****5678" and view["allowed_actions"] == []
    # Another leader neither gets the copy nor sees the ticket.
    assert client.get("/api/v1/notifications", headers=staff["leader_social"]).json() == []
    assert client.get(f"/api/v1/tickets/{no}", headers=staff["leader_social"]).status_code == 404
    # Leaders supervise; they do not call citizens.
    assert client.get(f"/api/v1/tickets/{no}/contact", headers=staff["leader"]).status_code == 403
    read = client.post(f"/api/v1/notifications/{dual[0]['id']}/read", headers=staff["leader"])
    assert read.status_code == 200 and read.json()["read_at"]
    assert client.get("/api/v1/notifications", params={"unread": True}, headers=staff["leader"]).json() == []
    assert client.post(f"/api/v1/notifications/{dual[0]['id']}/read", headers=staff["leader_social"]).status_code == 404


def test_joint_ticket_closes_only_when_every_department_replied(client, staff):
    t = new_ticket(client, description="小区楼下有人违章搭建彩钢棚，还占了消防通道",
                   location="近湖街道双湖花园", demand_type="report")
    no = t["ticket_no"]
    d = act(client, staff["dispatcher"], no, "dispatch", department="cgj", co_departments=["zjj", "gaj"], joint=True)
    assert [(a["department_id"], a["role"], a["required"]) for a in d["assignments"]] == [
        ("cgj", "lead", True), ("zjj", "co", True), ("gaj", "co", True)]
    assert d["assignments"][0]["department"] == "城管局"

    # Each department signs its own part; a co-department's signature does not move the ticket.
    assert act(client, staff["handler_zjj"], no, "sign")["status"] == "已派单"
    assert act(client, staff["handler_cgj"], no, "sign")["status"] == "已签收"
    act(client, staff["handler_cgj"], no, "sign", expect=409)  # already signed
    act(client, staff["handler_gaj"], no, "reply", note="x", expect=409)  # must sign first
    act(client, staff["handler_gaj"], no, "sign")
    act(client, staff["handler_cgj"], no, "start")

    r1 = act(client, staff["handler_cgj"], no, "reply", note="城管局：已责令拆除彩钢棚")
    assert r1["status"] == "办理中"
    r2 = act(client, staff["handler_zjj"], no, "reply", note="住建局：已约谈物业清理消防通道")
    assert r2["status"] == "办理中"
    act(client, staff["handler_zjj"], no, "reply", note="again", expect=409)  # its part is done
    r3 = act(client, staff["handler_gaj"], no, "reply", note="公安局（消防）：已复查通道畅通")
    assert r3["status"] == "已答复"
    replies = {a["department_id"]: a["reply_text"] for a in get(client, staff["service"], no)["assignments"]}
    assert set(replies) == {"cgj", "zjj", "gaj"} and all(replies.values())
    reply_events = [e for e in get(client, staff["service"], no)["events"] if e["action"] == "reply"]
    assert [e["actor"] for e in reply_events] == ["handler_cgj", "handler_zjj", "handler_gaj"]

    # A rejected joint reply can send back one department only.
    act(client, staff["supervisor"], no, "review")
    back = act(client, staff["supervisor"], no, "reject_reply", department="zjj", note="住建局答复未附整改照片")
    parts = {a["department_id"]: a["status"] for a in back["assignments"]}
    assert parts == {"cgj": "已答复", "zjj": "办理中", "gaj": "已答复"} and back["status"] == "办理中"
    assert act(client, staff["handler_zjj"], no, "reply", note="住建局：补充整改照片")["status"] == "已答复"


def test_non_joint_co_department_is_informed_only(client, staff):
    no = new_ticket(client)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj", co_departments=["zjj"], joint=False)
    act(client, staff["handler_cgj"], no, "sign")
    act(client, staff["handler_cgj"], no, "start")
    assert act(client, staff["handler_cgj"], no, "reply", note="已修复")["status"] == "已答复"


def test_co_department_may_return_its_part(client, staff):
    no = new_ticket(client)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj", co_departments=["gaj"])
    back = act(client, staff["handler_gaj"], no, "return", note="路灯与公安无关")
    assert back["status"] == "已派单"  # the lead still holds it
    assert client.get(f"/api/v1/tickets/{no}", headers=staff["handler_gaj"]).status_code == 404
    full = get(client, staff["service"], no)
    assert full["co_departments"] == [] and [a["department_id"] for a in full["assignments"]] == ["cgj"]
