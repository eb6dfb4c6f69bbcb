"""Free-text fields follow the phone field's masking (issue 11); anonymous 举报 without a phone;
紧急/特急 urgency gets the SLA deadline."""

from __future__ import annotations

from datetime import datetime

from backoffice_helpers import act, get, new_ticket


def test_numbers_in_any_free_text_field_are_masked_like_the_phone(client, staff):
    no = new_ticket(
        client,
        description="路灯坏了，我电话幺五零零五一五一二三四，身份证320925199001011234",
        location="卫深院后面那排房子 电话15005151234",
        location_detail="后面那排房子13700001111",
        incident_time="昨天晚上 15005151234",
    )["ticket_no"]
    act(client, staff["dispatcher"], no, "dispatch", department="cgj")
    view = get(client, staff["handler_cgj"], no)
    for field in ("description", "location", "location_detail", "incident_time"):
        assert "15005151234" not in view[field] and "13700001111" not in view[field], field
        assert "幺五零零五一五一二三四" not in view[field]
    assert "150****1234" in view["location"] and "150****1234" in view["description"]
    assert "320925199001011234" not in view["description"]
    # the service (the citizen's own channel) and the audited /contact still see everything
    assert "15005151234" in get(client, staff["service"], no)["location"]


def test_anonymous_report_is_accepted_without_a_phone(client, staff):
    t = new_ticket(client, demand_type="report", description="有人在村里小作坊生产假酒", phone=None,
                   citizen_name=None, anonymous=True, confidential=True)
    assert t["phone"] is None and t["anonymous"] is True and t["citizen_name"] is None


def test_urgent_help_and_emergency_get_their_sla_deadlines(client, staff):
    normal = new_ticket(client, demand_type="help_request", description="家里水管爆了，水漫到客厅")
    urgent = new_ticket(client, demand_type="help_request", description="家里水管爆了，水漫到客厅了", urgency="紧急")
    emergency = new_ticket(client, demand_type="help_request", description="楼下饭店着火了", urgency="特急")
    assert urgent["urgency"] == "紧急" and emergency["urgency"] == "特急"
    due = {t["urgency"]: datetime.fromisoformat(t["reply_due_at"]) for t in (normal, urgent, emergency)}
    assert due["特急"] <= due["紧急"] <= due["普通"]
    assert datetime.fromisoformat(emergency["complete_due_at"]) < datetime.fromisoformat(normal["complete_due_at"])
