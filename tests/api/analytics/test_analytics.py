"""数据治理 on planted patterns: known on-time and satisfaction counts, a burst in one village, a
repeated citizen, a sensitive word — each must be found and counted exactly (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from api.analytics import warnings
from api.callbacks.models import CallbackJob
from api.core import db as core_db
from api.tickets.models import Ticket, TicketAssignment

BJ = ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)


def bj(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=BJ).astimezone(UTC)


def plant(s, *, created: datetime, text: str = "小区路灯不亮，晚上走路不安全", dept: str | None = "cgj", town: str | None = "近湖街道",
          grid: str | None = None, phone: str | None = None, signed: timedelta | None = None,
          replied: timedelta | None = None, overdue: bool = False, dispatched: bool = True,
          levels: tuple[str, str, str] = ("城乡建设", "城市建设和市政管理", "路灯"), **extra) -> Ticket:
    n = next(_numbers)
    t = Ticket(ticket_no=f"JH{created.astimezone(BJ):%Y%m%d}-{n:04d}", status="办理中" if dispatched else "已受理",
               channel=extra.pop("channel", "voice"), demand_type="complaint", description=text, location_town=town, grid=grid,
               phone=phone, lead_department=dept if dispatched else None, category_level1=levels[0],
               category_level2=levels[1], category_level3=levels[2], created_at=created, updated_at=created,
               dispatched_at=created if dispatched else None, complete_due_at=created + timedelta(days=5),
               overdue=overdue, **extra)
    s.add(t)
    s.flush()
    if dispatched:
        s.add(TicketAssignment(ticket_id=t.id, department_id=dept, role="lead", required=True, status="已签收",
                               active=True, sign_due_at=created + timedelta(hours=2),
                               signed_at=created + signed if signed is not None else None,
                               replied_at=created + replied if replied is not None else None, created_at=created))
    return t


def rate(s, t: Ticket, rating: str, solved: bool) -> None:
    s.add(CallbackJob(ticket_id=t.id, ticket_no=t.ticket_no, round=0, department_id=t.lead_department, status="done",
                      next_attempt_at=t.created_at, rating=rating, solved=solved, created_at=t.created_at,
                      updated_at=t.created_at, completed_at=t.created_at + timedelta(days=6)))


def test_summary_counts_rates_exactly(client: TestClient, staff: dict) -> None:
    with core_db.session_factory()() as s:
        on = timedelta(hours=1)
        late = timedelta(hours=5)
        a = [plant(s, created=bj(2026, 11, 3 + i), signed=on if i < 6 else late,
                   replied=timedelta(days=2) if i < 5 else timedelta(days=7) if i < 7 else None,
                   overdue=i == 7, dept="cgj" if i < 5 else "zjj") for i in range(8)]
        first = plant(s, created=bj(2026, 11, 20), dispatched=False, town="上冈镇")
        plant(s, created=bj(2026, 11, 30, 23, 30), dispatched=False, town="上冈镇", repeat_of_id=first.id)
        s.add(TicketAssignment(ticket_id=a[1].id, department_id="swj", role="lead", required=True, status="已退单",
                               active=False, created_at=a[1].created_at))
        plant(s, created=bj(2026, 10, 31, 23, 30), dispatched=False)  # the day before: previous period only
        plant(s, created=bj(2025, 11, 10), dispatched=False)
        plant(s, created=bj(2025, 11, 11), dispatched=False)
        for t, (rating, solved) in zip(a, [("满意", True), ("满意", True), ("满意", True), ("基本满意", True),
                                           ("不满意", False)], strict=False):
            rate(s, t, rating, solved)
        s.commit()
    r = client.get("/api/v1/analytics/summary", params={"start": "2026-11-01", "end": "2026-11-30"}, headers=staff["agent"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 10
    assert (body["sign_due"], body["sign_on_time"], body["response_rate"]) == (8, 6, 0.75)
    assert (body["complete_due"], body["complete_on_time"], body["on_time_rate"]) == (8, 5, 0.625)
    assert (body["late_replied"], body["overdue"], body["overdue_total"]) == (2, 1, 3)
    assert (body["rated"], body["rated_good"], body["satisfaction_rate"]) == (5, 4, 0.8)
    assert body["resolution_rate"] == 0.8
    assert (body["returned"], body["return_rate"]) == (1, 0.125)
    assert (body["repeats"], body["repeat_rate"]) == (1, 0.1)
    assert body["previous"]["total"] == 1 and body["same_period_last_year"]["total"] == 2
    assert body["change"]["same_period_last_year"] == 4.0
    assert "有效回访数" in body["formulas"]["satisfaction_rate"]

    by_dept = client.get("/api/v1/analytics/summary", params={"start": "2026-11-01", "end": "2026-11-30", "group_by": "department"},
                         headers=staff["service"]).json()
    groups = {g["key"]: g for g in by_dept["groups"]}
    assert groups["cgj"]["total"] == 5 and groups["cgj"]["on_time_rate"] == 1.0 and groups["cgj"]["label"] == "城管局"
    assert groups["zjj"]["complete_on_time"] == 0 and groups[""]["label"] == "未派单"
    hours = client.get("/api/v1/analytics/summary", params={"start": "2026-11-01", "end": "2026-11-30", "group_by": "hour"},
                       headers=staff["agent"]).json()["groups"]
    assert {g["key"]: g["total"] for g in hours} == {"10": 9, "23": 1}
    days = client.get("/api/v1/analytics/summary", params={"start": "2026-11-01", "end": "2026-11-30", "group_by": "day"},
                      headers=staff["agent"]).json()["groups"]
    assert len(days) == 30 and days[-1]["total"] == 1
    months = client.get("/api/v1/analytics/summary", params={"start": "2026-10-01", "end": "2026-11-30", "group_by": "month"},
                        headers=staff["agent"]).json()["groups"]
    assert [(g["label"], g["total"]) for g in months] == [("2026年10月", 1), ("2026年11月", 10)]

    # A 承办人 sees only what their department holds.
    own = client.get("/api/v1/analytics/summary", params={"start": "2026-11-01", "end": "2026-11-30"}, headers=staff["handler_cgj"])
    assert own.json()["total"] == 5
    rank = client.get("/api/v1/analytics/ranking", params={"start": "2026-11-01", "end": "2026-11-30"}, headers=staff["agent"]).json()
    assert [row["key"] for row in rank] == ["cgj", "zjj"] and rank[0]["rank"] == 1
    # Drill-down: the tickets behind a figure, masked.
    drill = client.get("/api/v1/analytics/tickets", params={"start": "2026-11-01", "end": "2026-11-30", "dim": "department",
                                                            "key": "zjj", "measure": "late"}, headers=staff["agent"]).json()
    assert drill["total"] == 2 and {i["ticket_no"] for i in drill["items"]} == {a[5].ticket_no, a[6].ticket_no}
    sheet = client.get("/api/v1/analytics/export.xlsx", params={"start": "2026-11-01", "end": "2026-11-30", "table": "summary",
                                                                "group_by": "department"}, headers=staff["agent"])
    assert sheet.status_code == 200
    from io import BytesIO

    from openpyxl import load_workbook

    rows = list(load_workbook(BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "承办单位" and rows[4][:2] == ("合计", 10)


def test_bad_dates_and_auth(client: TestClient, staff: dict) -> None:
    for params, word in ((("2026-11-1", "2026-11-30")), "格式"), ((("2026-11-30", "2026-11-01")), "早于"), \
                        ((("2026-02-30", "2026-03-01")), "有效日期"):
        r = client.get("/api/v1/analytics/summary", params={"start": params[0], "end": params[1]}, headers=staff["agent"])
        assert r.status_code == 422 and word in r.json()["detail"]
    r = client.get("/api/v1/analytics/summary", params={"start": "2026-11-01", "end": "2026-11-30", "group_by": "colour"},
                   headers=staff["agent"])
    assert r.status_code == 422 and "可选" in r.json()["detail"]
    assert client.get("/api/v1/analytics/summary", params={"start": "2026-11-01", "end": "2026-11-30"}).status_code == 401


BACKGROUND = ["人民路路灯不亮好几天了", "小区垃圾没人清运气味很大", "公交车班次太少等车要一个小时", "孩子入学报名材料咨询",
              "医保异地报销怎么办理", "楼上装修噪音太大影响休息", "农村低保申请流程咨询", "饭店油烟直排扰民"]


def _plant_burst_history(s) -> dict[str, list[str]]:
    planted: dict[str, list[str]] = {"burst": [], "citizen": [], "sensitive": []}
    day0 = datetime(2026, 9, 20, tzinfo=BJ)
    for i in range(63):  # nine weeks of ordinary demands, two a day, across towns
        for j in range(2):
            text = BACKGROUND[(i * 2 + j) % len(BACKGROUND)]
            plant(s, created=(day0 + timedelta(days=i, hours=9 + j)).astimezone(UTC), text=text,
                  town=["近湖街道", "钟庄街道", "庆丰镇"][(i + j) % 3], dept=None, dispatched=False)
    wording = ["冈南社区自来水发黄有异味不敢喝", "冈南社区的自来水发黄，有股异味", "我们冈南社区自来水又发黄了还有异味",
               "冈南社区自来水发黄异味很重", "冈南社区这两天自来水发黄有异味，烧开了也不行", "冈南社区家里自来水发黄有异味",
               "冈南社区自来水发黄，有异味，老人小孩不敢喝", "反映冈南社区自来水发黄有异味的问题"]
    for k, text in enumerate(wording):  # the burst: eight in three days in one community
        t = plant(s, created=bj(2026, 11, 20 + k % 3, 8 + k), text=text, town="上冈镇", grid="JH-SG-02", dept="zlsgs")
        planted["burst"].append(t.ticket_no)
    for k in range(3):  # one citizen, three times in a fortnight
        t = plant(s, created=bj(2026, 11, 8 + 5 * k), text=f"我家门口下水道堵了第{k + 1}次反映", phone="13912345678",
                  town="钟庄街道", dept="cgj")
        planted["citizen"].append(t.ticket_no)
    t = plant(s, created=bj(2026, 11, 22, 15), text="工资拖欠半年了，再不给我们就去拉横幅", town="近湖街道", dept="rsj")
    planted["sensitive"].append(t.ticket_no)
    s.commit()
    return planted


def test_burst_in_one_village_is_the_top_hotspot_and_warned(client: TestClient, staff: dict) -> None:
    with core_db.session_factory()() as s:
        planted = _plant_burst_history(s)
    r = client.get("/api/v1/analytics/hotspots", params={"start": "2026-11-16", "end": "2026-11-22"}, headers=staff["agent"])
    assert r.status_code == 200, r.text
    spots = r.json()
    top = spots[0]
    assert top["burst"] is True and top["count"] == 8 and sorted(top["tickets"]) == sorted(planted["burst"])
    assert "冈南社区" in top["title"] and top["places"][0] == {"place": "上冈镇冈南社区", "count": 8}
    assert top["baseline_count"] == 0 and top["department_id"] == "zlsgs"
    assert set(top["burst_days"]) <= {"2026-11-20", "2026-11-21", "2026-11-22"}
    assert not any(s["burst"] for s in spots[1:])  # ordinary demands at their usual pace are no burst

    now = bj(2026, 11, 22, 20)
    with core_db.session_factory()() as s:
        counts = warnings.run_rules(db_session=s, now=now)
        again = warnings.run_rules(db_session=s, now=now)
    assert counts == {"village_cluster": 1, "surge": 1, "sensitive_words": 1, "repeat_citizen": 1}
    assert not any(again.values())
    listed = client.get("/api/v1/analytics/warnings", headers=staff["agent"]).json()
    by_kind = {w["kind"]: w for w in listed}
    assert sorted(by_kind["village_cluster"]["ticket_nos"]) == sorted(planted["burst"]) and by_kind["village_cluster"]["count"] == 8
    assert by_kind["village_cluster"]["department_id"] == "zlsgs"
    assert by_kind["repeat_citizen"]["ticket_nos"] == planted["citizen"]
    assert "13912345678" not in str(listed) and "139****5678" in by_kind["repeat_citizen"]["title"]
    assert by_kind["sensitive_words"]["ticket_nos"] == planted["sensitive"] and "拉横幅" in by_kind["sensitive_words"]["title"]
    # The department acknowledges its own warning; another department does not even see it.
    cgj = client.get("/api/v1/analytics/warnings", headers=staff["handler_cgj"]).json()
    assert [w["kind"] for w in cgj] == ["repeat_citizen"]
    wid = cgj[0]["id"]
    assert client.post(f"/api/v1/analytics/warnings/{by_kind['sensitive_words']['id']}/ack", json={"note": "x"},
                       headers=staff["handler_cgj"]).status_code == 404
    ok = client.post(f"/api/v1/analytics/warnings/{wid}/ack", json={"note": "已上门疏通并回访"}, headers=staff["handler_cgj"])
    assert ok.status_code == 200 and ok.json()["acknowledged_by"] == "handler_cgj"
    assert client.post(f"/api/v1/analytics/warnings/{wid}/ack", json={}, headers=staff["handler_cgj"]).status_code == 409

    # Hotspots are kept per data version: asked again they are the same; once a ticket of the burst is
    # withdrawn (an ordinary ORM write) the next answer counts without it.
    week = {"start": "2026-11-16", "end": "2026-11-22"}
    assert client.get("/api/v1/analytics/hotspots", params=week, headers=staff["agent"]).json() == spots
    with core_db.session_factory()() as s:
        s.query(Ticket).filter_by(ticket_no=planted["burst"][0]).one().status = "已撤单"
        s.commit()
    top = client.get("/api/v1/analytics/hotspots", params=week, headers=staff["agent"]).json()[0]
    assert top["count"] == 7 and planted["burst"][0] not in top["tickets"]


def _docx_text(content: bytes) -> str:
    from io import BytesIO

    from docx import Document

    doc = Document(BytesIO(content))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_summer_topic_of_earlier_years_gets_a_reminder_letter_and_a_measured_task(client: TestClient, staff: dict) -> None:
    power = ("城乡建设", "供电", "停电")
    with core_db.session_factory()() as s:
        for year, july in ((2023, 6), (2024, 7), (2025, 8)):  # every July: power cuts in the heat
            for k in range(july):
                plant(s, created=bj(year, 7, 3 + 3 * k), text="天太热又停电了，空调用不了", dept="gdgs", levels=power)
            plant(s, created=bj(year, 5, 20), text="小区停电了什么时候来电", dept="gdgs", levels=power)
            for month in range(5, 9):  # street lights: the same every month, not seasonal
                for k in range(3):
                    plant(s, created=bj(year, month, 5 + 7 * k), text="路灯不亮", dept="cgj")
        for k in range(4):  # this July, after the task started: fewer than last year's eight
            plant(s, created=bj(2026, 7, 5 + 5 * k), text="今天又停电了", dept="gdgs", levels=power)
        s.commit()
    found = client.get("/api/v1/analytics/seasonal", params={"year": 2026, "month": 7}, headers=staff["agent"]).json()
    assert list(found) == ["gdgs"]
    topic = found["gdgs"][0]
    assert topic["topic"] == "停电" and {y: v["count"] for y, v in topic["years"].items()} == {"2023": 6, "2024": 7, "2025": 8}
    made = client.post("/api/v1/analytics/reminders", json={"year": 2026, "month": 7}, headers=staff["supervisor"])
    assert made.status_code == 200 and len(made.json()) == 1
    again = client.post("/api/v1/analytics/reminders", json={"year": 2026, "month": 7}, headers=staff["supervisor"]).json()
    assert again[0]["id"] == made.json()[0]["id"]  # refreshed, not a second letter
    letter = client.get(made.json()[0]["letter_url"], headers=staff["agent"])
    assert letter.status_code == 200
    text = _docx_text(letter.content)
    assert "工 作 提 醒 函" in text and "供电" in text and "2025年8件" in text and "未诉先办" in text
    task = client.post("/api/v1/analytics/tasks", headers=staff["supervisor"], json={
        "origin": "reminder", "origin_ref": str(made.json()[0]["id"]), "title": "迎峰度夏线路巡检", "department_id": "gdgs",
        "topic": {"level3": "停电", "department_id": "gdgs"}, "starts_on": "2026-07-01", "window_days": 31})
    assert task.status_code == 201, task.text
    outcome = task.json()["outcome"]
    assert (outcome["after"], outcome["same_window_last_year"], outcome["before"]) == (4, 8, 0)
    assert outcome["change_vs_last_year"] == -0.5


def test_monthly_report_and_hotspot_report_carry_the_figures(client: TestClient, staff: dict) -> None:
    with core_db.session_factory()() as s:
        _plant_burst_history(s)
    r = client.get("/api/v1/analytics/reports/monthly.docx", params={"month": "2026-11"}, headers=staff["agent"])
    assert r.status_code == 200, r.text
    text = _docx_text(r.content)
    from io import BytesIO

    from docx import Document

    assert len(Document(BytesIO(r.content)).inline_shapes) == 2  # the daily chart and the category chart
    with core_db.session_factory()() as s:
        total = s.query(Ticket).filter(Ticket.created_at >= bj(2026, 11, 1, 0), Ticket.created_at < bj(2026, 12, 1, 0)).count()
    assert f"共受理群众诉求{total}件" in text and "冈南社区" in text and "满意率 =" in text
    spot = client.get("/api/v1/analytics/reports/hotspot.docx", headers=staff["agent"],
                      params={"start": "2026-11-16", "end": "2026-11-22", "terms": "自来水 发黄"})
    assert spot.status_code == 200
    assert "相关诉求8件" in _docx_text(spot.content)


# ---- 日汇总: the summary table gives exactly the raw computation --------------------------------------

def _normal(counts: dict) -> dict:
    from api.analytics.stats import COUNT_FIELDS

    return {k: {f: int(v.get(f) or 0) for f in COUNT_FIELDS} for k, v in counts.items()}


def _assert_same_as_raw(s, period, now) -> None:
    from api.analytics import daily, stats

    for dim in (None, *stats.DIMENSIONS):
        summary = daily.counts(db_session=s, period=period, dim=dim, now=now)
        raw = stats.raw_counts(db_session=s, period=period, dim=dim, principal=None, now=now)
        assert _normal(summary) == _normal(raw), dim


def test_daily_summary_equals_raw_and_follows_edits_and_the_clock(client: TestClient, staff: dict) -> None:
    from api.analytics import daily, job
    from api.analytics.models import DailyState, JobRun
    from api.analytics.periods import Period

    now = datetime.now(UTC)
    today = now.astimezone(BJ).date()
    days = [today - timedelta(days=d) for d in (40, 39, 38, 30, 2)]
    with core_db.session_factory()() as s:
        planted = []
        for i, day in enumerate(days):
            created = datetime(day.year, day.month, day.day, 9 + i, tzinfo=BJ).astimezone(UTC)
            for j in range(3):
                t = plant(s, created=created + timedelta(minutes=j), signed=timedelta(hours=1 + 2 * j),
                          replied=timedelta(days=2 + 2 * j), town=["近湖街道", "上冈镇"][j % 2], dept=["cgj", "zjj"][j % 2],
                          channel=["voice", "chat"][i % 2], enterprise=j == 2,
                          levels=("城乡建设", "城市建设和市政管理", "路灯") if j else ("交通运输", "公共交通", "公交线路"))
                planted.append(t)
                if j < 2:
                    rate(s, t, ["满意", "不满意"][j], j == 0)
        # Two days ago, one still open: its 办结时限 (in 5 days) is still ahead.
        pending = plant(s, created=planted[-1].created_at + timedelta(hours=1), signed=timedelta(hours=1))
        s.commit()
    period = Period(today - timedelta(days=45), today)

    with core_db.session_factory()() as s:
        first = job.run_daily(db_session=s, now=now, trigger="test")
        assert first is not None and first["summary"]["days_refreshed"] >= 40
        assert job.run_daily(db_session=s, now=now, trigger="test") is None  # once per day
        assert s.get(JobRun, today).status == "done"
        stale = daily.stale_days(db_session=s, start=days[0], end=today - timedelta(days=1), now=now)
        assert stale == []  # every past day is read from the summary now
        assert s.get(DailyState, days[-1]).valid_until == pending.complete_due_at
        _assert_same_as_raw(s, period, now)
    before = client.get("/api/v1/analytics/summary", params={"start": str(period.start), "end": str(today),
                                                             "group_by": "category1"}, headers=staff["agent"]).json()
    assert before["total"] == 16 and before["closed"] == 0 and before["rated"] == 10
    assert {g["key"]: g["total"] for g in before["groups"]} == {"城乡建设": 11, "交通运输": 5}

    # A past day's ticket is closed, re-classified and re-rated: its day goes stale, figures follow at once.
    with core_db.session_factory()() as s:
        t = s.get(Ticket, planted[1].id)
        t.status, t.category_level1, t.category_level2, t.category_level3 = "已办结", "交通运输", "公共交通", "公交线路"
        lead = s.query(TicketAssignment).filter_by(ticket_id=planted[1].id).one()
        lead.replied_at = None
        s.commit()
        assert daily.stale_days(db_session=s, start=days[0], end=days[0], now=now) == [days[0]]
        _assert_same_as_raw(s, period, now)
    after = client.get("/api/v1/analytics/summary", params={"start": str(period.start), "end": str(today),
                                                            "group_by": "category1"}, headers=staff["agent"]).json()
    assert after["closed"] == 1 and after["complete_on_time"] == before["complete_on_time"] - 1
    assert {g["key"]: g["total"] for g in after["groups"]} == {"城乡建设": 10, "交通运输": 6}

    with core_db.session_factory()() as s:
        again = job.run_daily(db_session=s, now=now, trigger="cli", force=True)
        assert again["summary"]["days_refreshed"] == 1
        assert daily.stale_days(db_session=s, start=days[0], end=today - timedelta(days=1), now=now) == []
        _assert_same_as_raw(s, period, now)
        # The clock: once the open ticket's 办结时限 passes, its day is computed from the rows again.
        later = pending.complete_due_at + timedelta(minutes=1)
        assert daily.stale_days(db_session=s, start=days[-1], end=days[-1], now=later) == [days[-1]]
        _assert_same_as_raw(s, period, later)
        day_period = Period(days[-1], days[-1])
        from api.analytics import stats

        assert stats.summarize(db_session=s, period=day_period, now=later, compare=False)["complete_due"] == \
            stats.summarize(db_session=s, period=day_period, now=now, compare=False)["complete_due"] + 1
        # Restricted readers and filters never read the summary, and agree with it.
        assert stats.summarize(db_session=s, period=period, now=now, channel="chat", compare=False)["total"] == 6


def test_daily_job_is_scheduled_once_per_day_with_a_run_record(client: TestClient) -> None:
    from api.analytics import job
    from api.analytics.models import JobRun

    day = datetime.now(UTC).astimezone(BJ).date()
    early = datetime(day.year, day.month, day.day, 1, 30, tzinfo=BJ).astimezone(UTC)
    assert job.run_daily_if_due(now=early) is None  # before 02:00 Beijing time
    morning = datetime(day.year, day.month, day.day, 2, 5, tzinfo=BJ).astimezone(UTC)
    result = job.run_daily_if_due(now=morning)
    assert result is not None and "new_warnings" in result and "summary" in result
    assert job.run_daily_if_due(now=morning + timedelta(hours=1)) is None
    with core_db.session_factory()() as s:
        run = s.get(JobRun, day)
        assert (run.status, run.trigger, run.result["summary"]) == ("done", "scheduler", result["summary"])
