"""Department A cannot read department B's tickets; contact details masked and their reading audited."""

from __future__ import annotations

from backoffice_helpers import act, get, new_ticket


def test_department_cannot_read_another_departments_tickets(client, staff):
    mine = new_ticket(client)["ticket_no"]
    theirs = new_ticket(client, description="有人在小区里偷电动车，监控拍到了", phone="13700001111")["ticket_no"]
    act(client, staff["dispatcher"], mine, "dispatch", department="cgj")
    act(client, staff["dispatcher"], theirs, "dispatch", department="gaj")

    assert client.get(f"/api/v1/tickets/{theirs}", headers=staff["handler_cgj"]).status_code == 404
    assert client.get(f"/api/v1/tickets/{theirs}/contact", headers=staff["handler_cgj"]).status_code == 404
    r = client.post(f"/api/v1/tickets/{theirs}/transitions", json={"action": "sign"}, headers=staff["handler_cgj"])
    assert r.status_code == 404
    listing = client.get("/api/v1/tickets", headers=staff["handler_cgj"]).json()
    assert [x["ticket_no"] for x in listing["items"]] == [mine] and listing["total"] == 1
    assert client.get("/api/v1/tickets", params={"department": "gaj"}, headers=staff["handler_cgj"]).json()["total"] == 0
    assert client.get(f"/api/v1/tickets/{theirs}", headers=staff["handler_gaj"]).status_code == 200
    # A handler with no assignment on a ticket accepted but not dispatched sees nothing either.
    pending = new_ticket(client)["ticket_no"]
    assert client.get(f"/api/v1/tickets/{pending}", headers=staff["handler_cgj"]).status_code == 404
    # The platform sees all three.
    assert client.get("/api/v1/tickets", headers=staff["dispatcher"]).json()["total"] == 3


def test_masking_and_audited_contact(client, staff):
    t = new_ticket(client, description="我的身份证号320925199001011234，电话13812345678，补贴一直没到账")
    no = t["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    view = get(client, staff["handler_cgj"], no)
    assert view["phone"] == "138****5678" and view["contact_masked"] is True
    assert "320925199001011234" not in view["description"] and "320925********1234" in view["description"]
    assert "13812345678" not in view["description"]
    listed = client.get("/api/v1/tickets", headers=staff["handler_cgj"]).json()["items"][0]
    assert "320925199001011234" not in listed["description"]
    # The owning department may read the number for a non-confidential ticket; it is audited.
    contact = client.get(f"/api/v1/tickets/{no}/contact", headers=staff["handler_cgj"])
    assert contact.status_code == 200 and contact.json()["phone"] == "13812345678"
    audit = [e for e in get(client, staff["service"], no)["events"] if e["action"] == "view_contact"]
    assert [(e["actor"], e["note"]) for e in audit] == [("handler_cgj", "查看完整联系方式")]
    assert client.get(f"/api/v1/tickets/{no}/contact", headers=staff["agent"]).json()["phone"] == "13812345678"
    assert len([e for e in get(client, staff["service"], no)["events"] if e["action"] == "view_contact"]) == 2


def test_confidential_ticket_hides_name_and_number_from_the_department(client, staff):
    no = new_ticket(client, confidential=True, demand_type="report", description="举报某餐馆使用地沟油")["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    view = get(client, staff["handler_cgj"], no)
    assert view["citizen_name"] == "王**" and view["phone"] == "138****5678"
    r = client.get(f"/api/v1/tickets/{no}/contact", headers=staff["handler_cgj"])
    assert r.status_code == 403 and "保密件" in r.json()["detail"]
    assert get(client, staff["dispatcher"], no)["citizen_name"] == "王建华"
    assert not [e for e in get(client, staff["service"], no)["events"] if e["action"] == "view_contact"]


def test_platform_only_filters(client, staff):
    new_ticket(client, phone="13811112222")
    r = client.get("/api/v1/tickets", params={"phone": "13811112222"}, headers=staff["handler_cgj"])
    assert r.status_code == 403
    assert client.get("/api/v1/tickets", params={"phone": "13811112222"}, headers=staff["agent"]).json()["total"] == 1
    assert client.get("/api/v1/tickets", params={"queue": "nope"}, headers=staff["agent"]).status_code == 422
    assert client.get("/api/v1/tickets").status_code == 401
