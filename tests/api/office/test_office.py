"""工单工作台 read side (api/office): who sees which list, masking, search filters, export, attachments, live."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

import pytest
from backoffice_helpers import SERVICE, act, new_ticket
from openpyxl import load_workbook
from starlette.websockets import WebSocketDisconnect

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def attachments_dir(tmp_path, monkeypatch):
    from api.core.settings import get_settings

    monkeypatch.setenv("MINSHENG_OFFICE_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    monkeypatch.setenv("MINSHENG_OFFICE_LIVE_POLL_SECONDS", "0.2")
    get_settings.cache_clear()
    yield tmp_path / "attachments"
    get_settings.cache_clear()


def listing(client, headers, view="search", **params):
    r = client.get("/api/v1/office/tickets", params={"view": view, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return [x["ticket_no"] for x in r.json()["items"]]


def test_each_post_gets_its_own_lists_and_no_other(client, staff):
    views = {name: [v["id"] for v in client.get("/api/v1/office/me", headers=staff[name]).json()["views"]]
             for name in ("dispatcher", "handler_cgj", "supervisor", "leader", "agent")}
    assert views["dispatcher"][0] == "dispatch" and "unit" not in views["dispatcher"]
    assert views["handler_cgj"] == ["unit", "search"]
    assert {"review", "escalated", "overdue", "extension"} <= set(views["supervisor"])
    assert {"dual", "escalated", "overdue"} <= set(views["leader"]) and "review" not in views["leader"]
    assert views["agent"] == ["callback", "search"]
    r = client.get("/api/v1/office/tickets", params={"view": "dispatch"}, headers=staff["handler_cgj"])
    assert r.status_code == 403 and "岗位" in r.json()["detail"]
    assert client.get("/api/v1/office/tickets", params={"view": "nope"}, headers=staff["dispatcher"]).status_code == 422
    assert client.get("/api/v1/office/tickets").status_code == 401
    assert client.get("/api/v1/office/me", headers=SERVICE).status_code in (401, 403)  # machines have no workbench


def test_department_sees_only_its_tickets_masked(client, staff):
    mine = new_ticket(client, description="路灯坏了，联系我13812345678或身份证320925199001011234")["ticket_no"]
    theirs = new_ticket(client, description="有人在小区里偷电动车，监控拍到了", phone="13700001111")["ticket_no"]
    act(client, staff["dispatcher"], mine, "dispatch", department="cgj")
    act(client, staff["dispatcher"], theirs, "dispatch", department="gaj")

    assert listing(client, staff["handler_cgj"], "unit") == [mine]
    assert listing(client, staff["handler_cgj"]) == [mine]
    assert listing(client, staff["handler_cgj"], department="gaj") == []
    assert client.get(f"/api/v1/office/tickets/{theirs}", headers=staff["handler_cgj"]).status_code == 404
    page = client.get(f"/api/v1/office/tickets/{mine}", headers=staff["handler_cgj"]).json()
    text = repr(page)
    assert "13812345678" not in text and "320925199001011234" not in text
    assert page["ticket"]["phone"] == "138****5678"
    row = client.get("/api/v1/office/tickets", params={"view": "unit"}, headers=staff["handler_cgj"]).json()["items"][0]
    assert row["phone"] == "138****5678" and "138****5678" in row["description"]
    assert row["my_part"] == {"role": "lead", "status": "待签收"}
    # The export is the same list, as masked as the page.
    xlsx = client.get("/api/v1/office/tickets.xlsx", params={"view": "unit"}, headers=staff["handler_cgj"])
    assert xlsx.status_code == 200
    rows = list(load_workbook(BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "工单号" and [r[0] for r in rows[1:]] == [mine]
    assert "13812345678" not in repr(rows) and "138****5678" in repr(rows)


def test_search_filters(client, staff):
    a = new_ticket(client, phone="13811112222", location_town="近湖街道", description="人民路路灯不亮")["ticket_no"]
    b = new_ticket(client, phone="13933334444", location_town="钟庄街道", description="小区噪音扰民，晚上施工")["ticket_no"]
    act(client, staff["dispatcher"], a, "dispatch", department="cgj")
    d = staff["dispatcher"]
    assert listing(client, d, phone_last4="2222") == [a]
    assert listing(client, d, phone_last4="4444") == [b]
    assert client.get("/api/v1/office/tickets", params={"phone_last4": "12"}, headers=d).status_code == 422
    assert listing(client, d, text="噪音") == [b]
    assert listing(client, d, town="近湖街道") == [a]
    assert listing(client, d, department="城管局") == [a]  # short name, id or code
    assert client.get("/api/v1/office/tickets", params={"department": "没有的局"}, headers=d).status_code == 422
    assert listing(client, d, status="已受理") == [b]
    assert client.get("/api/v1/office/tickets", params={"status": "乱写"}, headers=d).status_code == 422
    assert listing(client, d, ticket_no=a[-4:]) == [a] or a in listing(client, d, ticket_no=a[-4:])
    today = date.today()
    assert set(listing(client, d, date_from=(today - timedelta(days=1)).isoformat(), date_to=(today + timedelta(days=1)).isoformat())) == {a, b}
    assert listing(client, d, date_from=(today + timedelta(days=2)).isoformat()) == []


def test_dispatch_queue_puts_unrouted_first_and_shows_the_suggestion(client, staff):
    clear = new_ticket(client, description="人民路冠华路路口的路灯坏了一个多星期，晚上很黑")
    vague = new_ticket(client, description="我有点事情想反映一下", location=None, location_town=None)
    order = listing(client, staff["dispatcher"], "dispatch")
    assert set(order) == {clear["ticket_no"], vague["ticket_no"]}
    vague_page = client.get(f"/api/v1/office/tickets/{vague['ticket_no']}", headers=staff["dispatcher"]).json()
    clear_page = client.get(f"/api/v1/office/tickets/{clear['ticket_no']}", headers=staff["dispatcher"]).json()
    low = lambda p: (p["suggestion"]["department"] is not None, p["suggestion"]["confidence"] or 0)  # noqa: E731
    first, second = sorted([vague_page, clear_page], key=low)
    assert order[0] == first["ticket"]["ticket_no"]
    assert clear_page["suggestion"]["reasons"], "the dispatcher sees why the machine suggests a department"
    assert "dispatch" in clear_page["ticket"]["allowed_actions"]


def test_timeline_has_events_and_the_chat(client, staff):
    r = client.post("/api/v1/conversations", headers=SERVICE)
    conversation = r.json()["conversation_id"]
    client.post(f"/api/v1/conversations/{conversation}/messages", json={"text": "路灯坏了，我电话13812345678"},
                headers={"Authorization": f"Bearer {r.json()['token']}"})
    no = new_ticket(client, conversation_id=conversation)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    page = client.get(f"/api/v1/office/tickets/{no}", headers=staff["handler_cgj"]).json()
    kinds = [(x["kind"], x["label"]) for x in page["timeline"]]
    assert ("event", "受理") in kinds and ("event", "派单") in kinds
    said = [x for x in page["timeline"] if x["kind"] == "chat" and "市民" in x["label"]]
    assert said and "138****5678" in said[0]["text"] and "13812345678" not in repr(page["timeline"])
    assert page["citizen_words"] == [said[0]["text"]]


def test_reply_attachments_stored_limited_and_audited(client, staff, attachments_dir):
    no = new_ticket(client)["ticket_no"]
    other = new_ticket(client, description="有人在小区里偷电动车")["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    act(client, staff["dispatcher"], other, "dispatch", department="gaj")
    url = f"/api/v1/office/tickets/{no}/attachments"
    h = staff["handler_cgj"]
    r = client.post(url, params={"filename": "../../修好的路灯.png"}, content=PNG, headers=h)
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["filename"] == "修好的路灯.png" and item["size"] == len(PNG)
    stored = list(attachments_dir.rglob("*.png"))
    assert len(stored) == 1 and stored[0].read_bytes() == PNG
    got = client.get(item["url"], headers=staff["supervisor"])
    assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"
    events = client.get(f"/api/v1/tickets/{no}", headers=SERVICE).json()["events"]
    assert [e["actor"] for e in events if e["action"] == "attach"] == ["handler_cgj"]
    # Type by content, not by name; size; the uploader's own ticket only; the reader's visibility.
    assert client.post(url, params={"filename": "x.png"}, content=b"MZ\x90\x00evil", headers=h).status_code == 415
    assert client.post(url, params={"filename": "x.exe"}, content=PNG, headers=h).status_code == 415
    assert client.post(url, params={"filename": "big.png"}, content=PNG + b"\x00" * 900_000, headers=h).status_code == 413
    assert client.post(f"/api/v1/office/tickets/{other}/attachments", params={"filename": "a.png"}, content=PNG,
                       headers=h).status_code == 404
    assert client.post(url, params={"filename": "a.png"}, content=PNG, headers=staff["leader"]).status_code == 403
    assert client.get(item["url"], headers=staff["handler_gaj"]).status_code == 404
    page = client.get(f"/api/v1/office/tickets/{no}", headers=h).json()
    assert [a["filename"] for a in page["attachments"]] == ["修好的路灯.png"]


def test_escalated_overdue_and_dual_lists_with_the_letter_preview(client, staff):
    no = new_ticket(client)["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    act(client, staff["supervisor"], no, "escalate", note="群众多次来电催办")
    assert listing(client, staff["supervisor"], "escalated") == [no]
    assert no in listing(client, staff["leader"], "dual")  # 城管局's leader in charge got the 双交办 copy
    assert listing(client, staff["leader_social"], "dual") == []
    page = client.get(f"/api/v1/office/tickets/{no}", headers=staff["supervisor"]).json()
    letter = page["supervisions"][0]
    preview = client.get(letter["preview_url"], headers=staff["supervisor"]).json()
    texts = [b.get("text", "") for b in preview["blocks"]]
    assert any("督 办 函" in t for t in texts) and letter["letter_no"] in texts
    table = next(b["table"] for b in preview["blocks"] if "table" in b)
    assert table[0] == ["工单编号", no]
    assert "13812345678" not in repr(preview)
    docx = client.get(letter["letter_url"], headers=staff["supervisor"])
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    assert client.get(letter["preview_url"].replace(f"/{letter['id']}/", "/999/"), headers=staff["supervisor"]).status_code == 404


def test_live_socket_pushes_new_work_to_those_who_may_see_it(client, staff):
    token = staff["handler_cgj"]["Authorization"].split()[1]
    with client.websocket_connect("/ws/office") as socket:
        socket.send_json({"type": "auth", "token": token})
        assert socket.receive_json() == {"type": "ready"}
        secret = new_ticket(client, description="有人在小区里偷电动车")["ticket_no"]
        act(client, staff["dispatcher"], secret, "dispatch", department="gaj")
        no = new_ticket(client)["ticket_no"]
        act(client, staff["dispatcher"], no, "dispatch", department="cgj")
        seen: list[tuple[str, str]] = []
        while (no, "dispatch") not in seen and len(seen) < 20:
            update = socket.receive_json()
            seen.append((update["ticket_no"], update["action"]))
        assert (no, "dispatch") in seen and all(ticket_no == no for ticket_no, _ in seen), seen  # never the other unit's
    with client.websocket_connect("/ws/office") as socket:
        socket.send_json({"type": "auth", "token": "not-a-token"})
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
        assert closed.value.code == 4401
