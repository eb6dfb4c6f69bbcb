"""Scheduler: deadline warnings, overdue marking and automatic 提级督办 with its 督办函 (.docx)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from backoffice_helpers import act, get, new_ticket
from docx import Document

CST = ZoneInfo("Asia/Shanghai")


def _letter_text(content: bytes) -> str:
    doc = Document(io.BytesIO(content))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_overdue_ticket_escalates_automatically_with_a_letter(client, staff):
    from api.scheduler.jobs import run_due_jobs

    t = new_ticket(client)
    no = t["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    act(client, staff["handler_cgj"], no, "sign")
    due = datetime.fromisoformat(get(client, staff["service"], no)["complete_due_at"])

    assert run_due_jobs(now=due - timedelta(days=2)) == {"warnings": 0, "overdue": 0, "escalations": 0}
    warned = run_due_jobs(now=due - timedelta(hours=1))
    assert warned["warnings"] == 1 and warned["escalations"] == 0
    assert run_due_jobs(now=due - timedelta(minutes=30))["warnings"] == 0  # one warning per deadline
    notes = client.get("/api/v1/notifications", headers=staff["handler_cgj"]).json()
    assert any(n["kind"] == "临期预警" and n["ticket_no"] == no for n in notes)

    result = run_due_jobs(now=due + timedelta(minutes=1))
    assert result["overdue"] == 1 and result["escalations"] == 1
    assert run_due_jobs(now=due + timedelta(hours=5)) == {"warnings": 0, "overdue": 0, "escalations": 0}

    ticket = get(client, staff["supervisor"], no)
    assert ticket["overdue"] is True and ticket["escalation_level"] == 1
    [supervision] = ticket["supervisions"]
    assert supervision["reason_kind"] == "overdue" and supervision["department_id"] == "cgj"
    assert [e["action"] for e in ticket["events"]][-2:] == ["overdue", "escalate"]
    queue = client.get("/api/v1/tickets", params={"queue": "overdue"}, headers=staff["supervisor"]).json()
    assert [x["ticket_no"] for x in queue["items"]] == [no]
    dept_notes = client.get("/api/v1/notifications", params={"kind": "督办"}, headers=staff["handler_cgj"]).json()
    assert dept_notes and supervision["letter_no"] in dept_notes[0]["message"]

    letter = client.get(supervision["letter_url"], headers=staff["handler_cgj"])
    assert letter.status_code == 200
    assert letter.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    text = _letter_text(letter.content)
    assert "督 办 函" in text and supervision["letter_no"] in text
    assert "建湖县城市管理局：" in text and no in text and "超期未办结" in text
    assert "主要领导亲自研究解决" in text and "13812345678" not in text
    # Another department cannot fetch it; nor can anyone fetch a letter of another ticket.
    assert client.get(supervision["letter_url"], headers=staff["handler_gaj"]).status_code == 404
    other = new_ticket(client)["ticket_no"]
    assert client.get(f"/api/v1/tickets/{other}/supervisions/{supervision['id']}/letter.docx",
                      headers=staff["supervisor"]).status_code == 404


def test_escalation_levels_rise_and_reach_the_leader(client, staff):
    from api.scheduler.jobs import run_due_jobs

    no = new_ticket(client)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    act(client, staff["handler_cgj"], no, "sign")
    act(client, staff["handler_cgj"], no, "start")
    due = datetime.fromisoformat(get(client, staff["service"], no)["complete_due_at"])
    run_due_jobs(now=due + timedelta(minutes=1))  # level 1: overdue
    act(client, staff["handler_cgj"], no, "reply", note="已修复")
    act(client, staff["supervisor"], no, "review")
    level2 = act(client, staff["supervisor"], no, "reject_reply", note="未修复到位")  # level 2: rework
    assert level2["escalation_level"] == 2
    leader_notes = client.get("/api/v1/notifications", params={"kind": "督办"}, headers=staff["leader"]).json()
    assert leader_notes and no in leader_notes[0]["message"]
    level3 = act(client, staff["supervisor"], no, "escalate", note="群众多次来电，提请分管领导督办")
    assert level3["escalation_level"] == 3 and len(level3["supervisions"]) == 3
    assert act(client, staff["supervisor"], no, "escalate", note="再次督办")["escalation_level"] == 3  # capped


def test_unsigned_ticket_is_flagged_after_the_sign_in_deadline(client, staff):
    from api.scheduler.jobs import run_due_jobs

    no = new_ticket(client)["ticket_no"]
    sign_due = datetime.fromisoformat(act(client, staff["dispatcher"], no, "dispatch", department="cgj")["sign_due_at"])
    assert run_due_jobs(now=sign_due - timedelta(minutes=30))["warnings"] == 1
    assert run_due_jobs(now=sign_due + timedelta(minutes=1))["overdue"] == 1
    notes = client.get("/api/v1/notifications", params={"kind": "超时未签收"}, headers=staff["handler_cgj"]).json()
    assert len(notes) == 1 and notes[0]["ticket_no"] == no
    assert get(client, staff["service"], no)["events"][-1]["action"] == "sign_overdue"


def test_closed_and_extended_tickets_are_not_escalated(client, staff):
    from api.scheduler.jobs import run_due_jobs

    no = new_ticket(client)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    act(client, staff["handler_cgj"], no, "sign")
    due = datetime.fromisoformat(get(client, staff["service"], no)["complete_due_at"])
    act(client, staff["handler_cgj"], no, "request_extension", note="等待配件", days=5)
    extended = act(client, staff["supervisor"], no, "approve_extension")
    new_due = datetime.fromisoformat(extended["complete_due_at"])
    assert new_due.astimezone(CST).date() > due.astimezone(CST).date()
    result = run_due_jobs(now=due + timedelta(hours=1))
    assert result["escalations"] == 0 and get(client, staff["service"], no)["overdue"] is False
