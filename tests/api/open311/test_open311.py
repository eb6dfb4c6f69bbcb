"""An Open311 GeoReport v2 client files a request and tracks it until it is closed."""

from __future__ import annotations

import httpx
from backoffice_helpers import act

KEY = "dev-open311-key"


def test_open311_client_flow(client, staff):
    o311 = httpx.Client(transport=client._transport, base_url="http://testserver/open311/v2/")  # a plain client
    discovery = o311.get("discovery.json").json()
    assert discovery["endpoints"][0]["specification"].endswith("GeoReport_v2")

    services = o311.get("services.json").json()
    assert len(services) > 50 and all({"service_code", "service_name", "group", "metadata", "type"} <= set(s) for s in services)
    lamp = next(s for s in services if s["service_name"] == "城市建设和市政管理")
    assert o311.get(f"services/{lamp['service_code']}.json").json() == {"service_code": lamp["service_code"], "attributes": []}

    form = {"service_code": lamp["service_code"], "lat": "33.4632", "long": "119.7935",
            "address_string": "近湖街道秀夫路", "description": "秀夫路路灯不亮，电话13812345678",
            "first_name": "建华", "last_name": "王", "phone": "13812345678", "email": "wang@example.cn"}
    assert o311.post("requests.json", data=form).status_code == 403
    assert o311.post("requests.json", data={**form, "api_key": "wrong"}).json()[0]["code"] == 403
    bad = o311.post("requests.json", data={**form, "api_key": KEY, "service_code": "nope"})
    assert bad.status_code == 400 and bad.json()[0]["description"].startswith("service_code")
    no_place = {k: v for k, v in form.items() if k not in ("lat", "long", "address_string")}
    assert o311.post("requests.json", data={**no_place, "api_key": KEY}).status_code == 400
    assert o311.post("requests.json", data={**form, "api_key": KEY, "phone": "123"}).status_code == 400

    created = o311.post("requests.json", data={**form, "api_key": KEY})
    assert created.status_code == 200
    [receipt] = created.json()
    request_id = receipt["service_request_id"]
    assert request_id.startswith("JH") and request_id in receipt["service_notice"]

    [status] = o311.get(f"requests/{request_id}.json").json()
    assert status["status"] == "open" and status["service_code"] == lamp["service_code"]
    assert status["lat"] == 33.4632 and status["address"] == "近湖街道秀夫路"
    assert "13812345678" not in status["description"]  # public reads never show numbers
    assert status["expected_datetime"]

    # The back office sees an Open311 ticket like any other and takes it to the end.
    ticket = client.get(f"/api/v1/tickets/{request_id}", headers=staff["service"]).json()
    assert ticket["channel"] == "open311" and ticket["category"]["level1"] == "城乡建设"
    act(client, staff["dispatcher"], request_id, "dispatch", department="cgj")
    assert o311.get(f"requests/{request_id}.json").json()[0]["agency_responsible"] == "建湖县城市管理局"
    act(client, staff["handler_cgj"], request_id, "sign")
    act(client, staff["handler_cgj"], request_id, "start")
    act(client, staff["handler_cgj"], request_id, "reply", note="已更换灯具")
    act(client, staff["supervisor"], request_id, "review")
    act(client, staff["supervisor"], request_id, "approve_reply")
    act(client, staff["service"], request_id, "close", satisfaction="满意")

    [done] = o311.get(f"requests/{request_id}.json").json()
    assert done["status"] == "closed" and "已更换灯具" in done["status_notes"]
    closed = o311.get("requests.json", params={"status": "closed"}).json()
    assert [r["service_request_id"] for r in closed] == [request_id]
    assert o311.get("requests.json", params={"status": "open"}).json() == []
    by_id = o311.get("requests.json", params={"service_request_id": request_id}).json()
    assert by_id[0]["service_request_id"] == request_id
    assert o311.get("requests.json", params={"start_date": "yesterday"}).status_code == 400
    assert o311.get("requests/JH00000000-0000.json").status_code == 404


def test_open311_json_body_and_confidentiality(client, staff):
    services = client.get("/open311/v2/services.json").json()
    code = services[0]["service_code"]
    r = client.post("/open311/v2/requests.json", json={"api_key": KEY, "service_code": code, "address_string": "建阳镇",
                                                        "description": "建阳镇某工地夜间施工"})
    assert r.status_code == 200
    no = r.json()[0]["service_request_id"]
    # Bad bodies answer 400/403 in the Open311 error format, never 500.
    assert client.post("/open311/v2/requests.json", content=b"{not json", headers={"content-type": "application/json"}).status_code == 403
    listed = client.get("/open311/v2/requests.json", params={"service_code": code}).json()
    assert [x["service_request_id"] for x in listed] == [no]


def test_calls_and_chats_are_not_published(client, staff):
    from backoffice_helpers import new_ticket

    chat = new_ticket(client, description="家里老人低保的事情想问问，电话13812345678")
    assert client.get("/open311/v2/requests.json").json() == []  # browsing shows Open311 filings only
    [by_number] = client.get(f"/open311/v2/requests/{chat['ticket_no']}.json").json()
    assert by_number["status"] == "open" and by_number["description"] is None and by_number["address"] is None
    assert client.get("/open311/v2/requests.json", params={"service_request_id": chat["ticket_no"]}).json()[0]["status"] == "open"
