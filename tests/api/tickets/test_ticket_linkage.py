"""六方联动: rule sets flag tickets for partners; each partner has a daily push list."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from backoffice_helpers import new_ticket

TODAY = lambda: datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()  # noqa: E731


def test_police_matter_is_flagged_urgent_and_pushed_to_110(client, staff):
    t = new_ticket(client, description="楼下有人打架，还拿着刀", location="钟庄街道钟庄花园")
    assert "110" in t["linkage_flags"] and t["urgency"] == "特急"
    daily = client.get("/api/v1/linkage/110/daily", params={"date": TODAY()}, headers=staff["supervisor"])
    assert daily.status_code == 200
    body = daily.json()
    assert body["count"] == 1 and body["items"][0]["ticket_no"] == t["ticket_no"] and body["items"][0]["urgent"] is True
    assert "打架" in body["items"][0]["reason"]
    # Today's list for a partner the ticket did not concern is empty; another day too.
    assert client.get("/api/v1/linkage/纪委/daily", headers=staff["supervisor"]).json()["count"] == 0
    other_day = (datetime.fromisoformat(TODAY()) - timedelta(days=1)).date().isoformat()
    assert client.get("/api/v1/linkage/110/daily", params={"date": other_day}, headers=staff["supervisor"]).json()["count"] == 0


def test_grid_of_the_village_and_partner_lists(client, staff):
    t = new_ticket(client, description="陈堡村有户人家养狗天天叫，邻居睡不着", location="上冈镇陈堡村", location_town="上冈镇")
    assert t["grid"] == "JH-SG-04" and "网格" in t["linkage_flags"]
    grid = client.get("/api/v1/linkage/网格/daily", headers=staff["service"]).json()
    assert grid["items"][0]["grid"] == "JH-SG-04"
    petition = new_ticket(client, description="这个问题我反映了好几次一直没解决，再不解决我就去市里反映", phone="13655556666")
    assert "信访" in petition["linkage_flags"]
    assert client.get("/api/v1/linkage/xfj/daily", headers=staff["dispatcher"]).json()["count"] == 1  # by department id
    partners = client.get("/api/v1/linkage/partners", headers=staff["dispatcher"]).json()
    assert {p["id"] for p in partners} == {"110", "政法委", "信访", "纪委", "行政执法监督", "网格"}


def test_linkage_lists_are_for_the_platform(client, staff):
    assert client.get("/api/v1/linkage/110/daily", headers=staff["handler_cgj"]).status_code == 403
    assert client.get("/api/v1/linkage/外星/daily", headers=staff["supervisor"]).status_code == 404
    assert client.get("/api/v1/linkage/110/daily", params={"date": "tomorrow"}, headers=staff["supervisor"]).status_code == 422
