"""网络渠道 import: real TipDM board rows (TSV), Chinese-header JSON and Excel exports become online tickets
with their real times, classified and routed like any other; importing again creates nothing."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from api.tickets.enterprise import is_enterprise
from tests.support.processes import ROOT

TSV = ROOT / "datasets" / "tipdm2020" / "messages.tsv"


def _real_rows(n: int) -> list[dict[str, str]]:
    with TSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return rows[:n]


def _tsv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter="\t")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_real_board_messages_become_online_tickets_once(client: TestClient, staff: dict) -> None:
    rows = _real_rows(12)
    bad = {**rows[0], "id": "999", "time": "二月底", "subject": "另一条留言", "detail": "内容不同的留言"}
    r = client.post("/api/v1/online/import", params={"platform": "人民网留言"}, headers=staff["dispatcher"],
                    files={"file": ("board.tsv", _tsv([*rows, bad]), "text/tab-separated-values")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 12 and body["duplicates"] == 0
    assert body["rejected"] == [{"row": 14, "reason": "时间格式不对：二月底（应如 2019-02-28 11:25:05）"}]
    first = client.get(f"/api/v1/tickets/{body['tickets'][0]}", headers=staff["service"]).json()
    assert first["channel"] == "online" and first["category"]["level1"]
    local = datetime.fromisoformat(first["created_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    sent = rows[0]["time"].replace("/", "-")
    assert local.strftime("%Y-%m-%d %H:%M:%S") == datetime.strptime(sent, "%Y-%m-%d %H:%M:%S").strftime("%Y-%m-%d %H:%M:%S") \
        or local.strftime("%Y-%-m-%-d %H:%M:%S") == sent
    assert first["ticket_no"].startswith("JH" + local.strftime("%Y%m%d"))

    again = client.post("/api/v1/online/import", headers=staff["dispatcher"],
                        files={"file": ("board.tsv", _tsv(rows), "text/tab-separated-values")}).json()
    assert again["created"] == 0 and again["duplicates"] == 12 and sorted(again["tickets"]) == []
    # The same message reposted under another id on another platform is the same ticket.
    chinese = [{"留言编号": "X1", "留言时间": rows[3]["time"], "留言主题": rows[3]["subject"], "留言详情": rows[3]["detail"],
                "点赞数": "5", "反对数": "0"}]
    js = client.post("/api/v1/online/import", params={"platform": "我的盐城"}, headers=staff["service"],
                     files={"file": ("export.json", json.dumps({"items": chinese}, ensure_ascii=False).encode(), "application/json")})
    assert js.json()["duplicates"] == 1 and js.json()["created"] == 0

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["留言编号", "留言时间", "留言主题", "留言详情"])
    book.active.append(["E1", datetime(2020, 1, 6, 9, 30), "我公司营业执照变更办理咨询", "我们公司想变更经营范围，需要什么材料？"])
    data = io.BytesIO()
    book.save(data)
    xl = client.post("/api/v1/online/import", headers=staff["agent"],
                     files={"file": ("export.xlsx", data.getvalue(), "application/octet-stream")}).json()
    assert xl["created"] == 1
    ticket = client.get(f"/api/v1/tickets/{xl['tickets'][0]}", headers=staff["service"]).json()
    assert ticket["enterprise"] is True and ticket["demand_type"] == "consultation"
    assert ticket["created_at"].startswith("2020-01-06T09:30")
    wrong = client.post("/api/v1/online/import", headers=staff["agent"], files={"file": ("x.pdf", b"%PDF", "application/pdf")})
    assert wrong.status_code == 422 and "CSV" in wrong.json()["detail"]
    assert client.post("/api/v1/online/import", headers=staff["handler_cgj"],
                       files={"file": ("board.tsv", _tsv(rows), "text/tab-separated-values")}).status_code == 403


def test_enterprise_tag() -> None:
    assert is_enterprise("我们公司申请的稳岗补贴一直没有到账")
    assert is_enterprise("我是一家小微企业的负责人，想咨询贷款贴息政策")
    assert not is_enterprise("楼下的公司晚上施工噪音太大")
    assert not is_enterprise("我单位拖欠我三个月工资")
