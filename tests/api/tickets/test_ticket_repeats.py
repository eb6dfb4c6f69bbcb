"""重复诉求 and 并单: the same citizen again, or the same place and category; merge with a reason."""

from __future__ import annotations

from backoffice_helpers import act, get, new_ticket

LAMP = "人民路和冠华路路口的路灯坏了一个多星期，晚上很黑"


def test_same_citizen_similar_content_is_linked_then_merged(client, staff):
    first = new_ticket(client, description=LAMP)
    second = new_ticket(client, description="人民路冠华路路口路灯坏了一个多星期了，晚上太黑，怎么还没修")
    unrelated = new_ticket(client, description="我想咨询一下孩子入学需要准备什么材料")

    assert second["repeat_of"] == first["ticket_no"]
    assert unrelated["repeat_of"] is None
    original = get(client, staff["dispatcher"], first["ticket_no"])
    assert original["repeat_count"] == 1
    assert any(e["action"] == "repeat_link" and second["ticket_no"] in e["note"] for e in original["events"])
    repeats = client.get("/api/v1/tickets", params={"queue": "repeats"}, headers=staff["dispatcher"]).json()
    assert {x["ticket_no"] for x in repeats["items"]} == {first["ticket_no"], second["ticket_no"]}
    listed = {x["ticket_no"]: x for x in repeats["items"]}
    assert listed[first["ticket_no"]]["repeat_count"] == 1 and listed[second["ticket_no"]]["repeat_of"] == first["ticket_no"]

    act(client, staff["dispatcher"], second["ticket_no"], "merge", note="重复诉求", expect=422)  # which ticket?
    act(client, staff["dispatcher"], second["ticket_no"], "merge", target_ticket_no=second["ticket_no"], note="x", expect=409)
    act(client, staff["handler_cgj"], second["ticket_no"], "merge", target_ticket_no=first["ticket_no"], note="x", expect=404)
    merged = act(client, staff["dispatcher"], second["ticket_no"], "merge", target_ticket_no=first["ticket_no"],
                 note="同一来电人同一路灯问题，并入原工单办理")
    assert merged["status"] == "已并单" and merged["merged_into"] == first["ticket_no"]
    original = get(client, staff["dispatcher"], first["ticket_no"])
    assert original["repeat_count"] == 1  # linked already: merging does not count twice
    assert original["events"][-1]["action"] == "merge_in" and second["ticket_no"] in original["events"][-1]["note"]
    # A third call is linked to the original, and a merged ticket cannot be merged into.
    third = new_ticket(client, description="人民路冠华路口路灯一个多星期不亮了，晚上很黑")
    assert third["repeat_of"] == first["ticket_no"]
    assert get(client, staff["dispatcher"], first["ticket_no"])["repeat_count"] == 2
    act(client, staff["dispatcher"], third["ticket_no"], "merge", target_ticket_no=second["ticket_no"], note="x", expect=409)


def test_same_place_and_category_from_different_citizens(client):
    from backoffice_helpers import SERVICE

    services = {s["service_name"]: s["service_code"] for s in client.get("/open311/v2/services.json").json()}
    code = services["城市建设和市政管理"]
    form = {"api_key": "dev-open311-key", "service_code": code, "address_string": "上冈镇冈南路与盐河路交叉口",
            "description": "窨井盖缺失，很危险"}
    a = client.post("/open311/v2/requests.json", data={**form, "phone": "13900000001"}).json()[0]["service_request_id"]
    b = client.post("/open311/v2/requests.json", data={**form, "phone": "13900000002",
                                                        "description": "冈南路盐河路路口井盖没了"}).json()[0]["service_request_id"]
    # different address, same category: not a repeat
    c = client.post("/open311/v2/requests.json", data={**form, "phone": "13900000003", "address_string": "近湖街道育才路"}).json()[0]
    tb = client.get(f"/api/v1/tickets/{b}", headers=SERVICE).json()
    assert tb["repeat_of"] == a and "同一地点" in tb["events"][-1]["note"]
    assert client.get(f"/api/v1/tickets/{c['service_request_id']}", headers=SERVICE).json()["repeat_of"] is None


def test_merging_the_original_into_its_repeat_keeps_one_chain(client, staff):
    first = new_ticket(client, description=LAMP)
    second = new_ticket(client, description="人民路冠华路路口路灯坏了一个多星期了，晚上太黑")
    assert second["repeat_of"] == first["ticket_no"]
    # The dispatcher keeps the newer ticket (say it has the better description) and folds the first into it.
    act(client, staff["dispatcher"], first["ticket_no"], "merge", target_ticket_no=second["ticket_no"], note="以新工单为准")
    kept = get(client, staff["dispatcher"], second["ticket_no"])
    assert kept["repeat_of"] is None and kept["repeat_count"] == 1
    assert get(client, staff["dispatcher"], first["ticket_no"])["merged_into"] == second["ticket_no"]
    third = new_ticket(client, description="人民路冠华路口路灯一个多星期不亮了，晚上很黑")
    assert third["repeat_of"] == second["ticket_no"]
