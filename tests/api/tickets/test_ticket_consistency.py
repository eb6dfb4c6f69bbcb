"""What staff saw when they walked the lifecycle (issue 13): one deadline per 督办函, the category
following the ticket, readable 退单 notices, buttons that would succeed, one review decision, parts
settled with the ticket, and each side of a 并单 logging its own side."""

from __future__ import annotations

import io
import re

from backoffice_helpers import PASSWORD, act, get, login, new_ticket
from docx import Document

from api.tickets.access import mask_text


def _letter(content: bytes) -> tuple[str, dict[str, str]]:
    doc = Document(io.BytesIO(content))
    rows = {row.cells[0].text: row.cells[1].text for table in doc.tables for row in table.rows}
    return "\n".join(p.text for p in doc.paragraphs), rows


def _handler(client, staff, department: str) -> dict[str, str]:
    username = f"handler_{department}"
    r = client.post("/api/v1/users", json={"username": username, "password": PASSWORD, "role": "handler",
                                           "department_id": department}, headers=staff["admin"])
    assert r.status_code == 201, r.text
    return login(client, username)


MEDICAL = dict(
    description="县人民医院门诊的医生态度很差，排队挂号三个小时没人管，还乱开检查",
    location="俺家就在近湖街道人民路那块儿，有事打我电话幺三八，一二三四，五六七八",
    location_town="近湖街道", location_detail="人民路县人民医院门诊楼",
)


def test_letter_after_a_move_names_one_deadline_the_new_category_and_a_masked_place(client, staff):
    handler_wjw = _handler(client, staff, "wjw")
    no = new_ticket(client, **MEDICAL)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="wjw")
    # 退单: the dispatcher's notice names the department and reads as one sentence.
    act(client, handler_wjw, no, "return", note="不属于本单位职责，请改派。")
    [notice] = [n for n in client.get("/api/v1/notifications", headers=staff["dispatcher"]).json() if n["kind"] == "退单"]
    assert notice["message"] == f"工单 {no} 被卫健委退回，退单理由：不属于本单位职责。请改派。"

    act(client, staff["dispatcher"], no, "reassign", department="cgj", note="按职责改派城管局")
    moved = get(client, staff["supervisor"], no)
    assert moved["category"]["level1"] != "卫生计生"  # the category follows the ticket to 城管局
    act(client, staff["handler_cgj"], no, "sign")
    act(client, staff["handler_cgj"], no, "start")
    act(client, staff["handler_cgj"], no, "request_extension", note="需协调卫健部门联合检查", days=5)
    approved = act(client, staff["supervisor"], no, "approve_extension")
    [supervision] = approved["supervisions"]
    assert supervision["reason_kind"] == "extension"

    letter = client.get(supervision["letter_url"], headers=staff["supervisor"])
    assert letter.status_code == 200
    body, rows = _letter(letter.content)
    dates = set(re.findall(r"\d{4}年\d{1,2}月\d{1,2}日（星期.）|\d{1,2}月\d{1,2}日（星期.）", body + rows["办结时限"]))
    promised = re.search(r"于(.+?)前办结", body).group(1)
    assert promised in rows["办结时限"] and len(dates) == 1, (body, rows["办结时限"])
    assert rows["诉求类别"].split(" / ")[0] == moved["category"]["level1"] != "卫生计生"
    assert rows["诉求地点"] == "近湖街道人民路县人民医院门诊楼"
    assert "幺三八" not in body + "".join(rows.values()) and "俺家" not in rows["诉求地点"]


def test_phone_numbers_said_in_groups_or_capitals_are_masked():
    for said in ("幺三八，一二三四，五六七八", "壹叁捌壹贰叁肆伍陆柒捌", "138 1234 5678", "138-1234-5678"):
        assert mask_text(f"电话{said}") == "电话138****5678", said
    for kept in ("1，2，3，4，5，6，7，8，9，10，11", "人民路1号，2栋，3单元401室", "2026年12月3日"):
        assert mask_text(kept) == kept


def test_allowed_actions_offer_only_moves_that_would_succeed(client, staff):
    no = new_ticket(client)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj", co_departments=["zjj"], joint=True)
    assert set(get(client, staff["handler_cgj"], no)["allowed_actions"]) == {"sign", "return"}
    act(client, staff["handler_cgj"], no, "sign")
    signed = get(client, staff["handler_cgj"], no)["allowed_actions"]
    assert "reply" not in signed and {"start", "return", "request_extension"} <= set(signed)
    act(client, staff["handler_cgj"], no, "reply", note="已修复", expect=409)  # the table's refusal agrees
    assert "approve_extension" not in get(client, staff["supervisor"], no)["allowed_actions"]
    act(client, staff["supervisor"], no, "approve_extension", expect=409)

    act(client, staff["handler_cgj"], no, "start")
    started = get(client, staff["handler_cgj"], no)["allowed_actions"]
    assert "reply" in started and "start" not in started and "sign" not in started
    act(client, staff["handler_cgj"], no, "request_extension", note="等供电公司停电配合", days=3)
    assert "request_extension" not in get(client, staff["handler_cgj"], no)["allowed_actions"]  # one is pending
    assert {"approve_extension", "reject_extension"} <= set(get(client, staff["supervisor"], no)["allowed_actions"])
    # The co-department signs, then may answer its part (it has no separate start).
    act(client, staff["handler_zjj"], no, "sign")
    assert "reply" in get(client, staff["handler_zjj"], no)["allowed_actions"]


def _replied(client, staff, **fields) -> str:
    no = new_ticket(client, **fields)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    act(client, staff["handler_cgj"], no, "sign")
    act(client, staff["handler_cgj"], no, "start")
    act(client, staff["handler_cgj"], no, "reply", note="已更换灯具，恢复照明")
    return no


def test_review_is_one_decision_and_the_old_two_steps_still_work(client, staff):
    no = _replied(client, staff)
    offered = get(client, staff["dispatcher"], no)["allowed_actions"]
    assert {"approve_reply", "reject_reply"} <= set(offered) and "review" not in offered
    approved = act(client, staff["dispatcher"], no, "approve_reply")
    assert approved["status"] == "待回访"
    assert [(e["action"], e["from_status"], e["to_status"]) for e in get(client, staff["service"], no)["events"]][-1] == (
        "approve_reply", "已答复", "待回访")

    back = _replied(client, staff)
    act(client, staff["supervisor"], back, "reject_reply", expect=422)  # sending back needs the reason
    assert act(client, staff["supervisor"], back, "reject_reply", note="答复未说明更换时间")["status"] == "办理中"

    old = _replied(client, staff)  # an older client still claims the reply first
    assert act(client, staff["supervisor"], old, "review")["status"] == "答复审核"
    assert act(client, staff["supervisor"], old, "approve_reply")["status"] == "待回访"


def test_closing_settles_every_department_part(client, staff):
    no = new_ticket(client)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj", co_departments=["zjj"], joint=False)
    act(client, staff["handler_cgj"], no, "sign")
    act(client, staff["handler_cgj"], no, "start")
    act(client, staff["handler_cgj"], no, "reply", note="已修复")  # the co part is not required to answer
    act(client, staff["dispatcher"], no, "approve_reply")
    act(client, staff["agent"], no, "close", satisfaction="满意", note="回访满意")
    parts = {a["department_id"]: a["status"] for a in get(client, staff["supervisor"], no)["assignments"]}
    assert parts == {"cgj": "已办结", "zjj": "已办结"}
    assert get(client, staff["handler_zjj"], no)["allowed_actions"] == []  # nothing left to sign


def test_each_side_of_a_merge_logs_its_own_side(client, staff):
    original = new_ticket(client)["ticket_no"]
    repeat = new_ticket(client, description="人民路冠华路路口路灯还是不亮，上次反映过了")["ticket_no"]
    act(client, staff["dispatcher"], repeat, "merge", target_ticket_no=original, note="同一路灯，重复诉求。")
    taken_in = get(client, staff["service"], original)["events"][-1]
    went_in = get(client, staff["service"], repeat)["events"][-1]
    assert taken_in["action"] == "merge_in" and taken_in["note"] == f"工单 {repeat} 并入本单：同一路灯，重复诉求。"
    assert went_in["action"] == "merge" and went_in["note"] == f"已并入工单 {original}：同一路灯，重复诉求。"


def test_the_intake_log_names_the_channel_in_words(client, staff):
    no = new_ticket(client)["ticket_no"]
    [accepted] = [e for e in get(client, staff["service"], no)["events"] if e["note"].endswith("渠道受理")]
    assert accepted["note"] == "经网上对话渠道受理"  # not the code "chat"
