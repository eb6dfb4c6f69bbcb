"""A synthetic multi-year county history for benchmarks and load tests: seasonal topics (summer power
cuts and mosquitoes, winter burst pipes, 春节 fireworks), fewer calls on holidays and weekends
(chinese_calendar), a steady background, and planted bursts in chosen villages. Deterministic (seed).

Rows are plain tuples in the column order of COLUMNS, written with COPY on PostgreSQL or executemany
elsewhere (write()). Numbers never collide with real ones: ticket numbers carry an "S" prefix.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from api.tickets.deadlines import is_workday

BJ = ZoneInfo("Asia/Shanghai")
# text, (level1, level2, level3), department, demand type, months with a season weight ×3
TOPICS = [
    ("{v}路灯不亮好几天了，晚上出行不安全", ("城乡建设", "城市建设和市政管理", "路灯"), "cgj", "complaint", ()),
    ("{v}垃圾没人清运，气味很大", ("城乡建设", "城市建设和市政管理", "园林绿化环卫"), "cgj", "complaint", ()),
    ("{v}天太热又停电了，空调用不了", ("城乡建设", "供电", "停电"), "gdgs", "complaint", (7, 8)),
    ("{v}蚊虫太多，沟渠积水没人清理", ("卫生计生", "公共卫生", "病媒防制"), "wjw", "complaint", (6, 7, 8)),
    ("{v}寒潮水管冻裂了，家里停水", ("城乡建设", "供水", "停水"), "zlsgs", "help_request", (1, 12)),
    ("{v}有人燃放烟花爆竹，存在安全隐患", ("城乡建设", "安全生产", "安全隐患"), "yjglj", "report", (1, 2)),
    ("孩子入学报名需要哪些材料", ("教育文体", "教育", "入学"), "jyj", "consultation", (7, 8)),
    ("医保异地就医备案怎么办理", ("劳动和社会保障", "医疗保障", "异地就医"), "ybj", "consultation", ()),
    ("{v}楼上装修噪音太大影响休息", ("环境保护", "噪声污染", "生活噪声"), "sthjj", "complaint", ()),
    ("{v}饭店油烟直排扰民", ("环境保护", "大气污染", "油烟"), "sthjj", "complaint", ()),
    ("我们公司申请的稳岗补贴一直没到账", ("劳动和社会保障", "就业", "稳岗补贴"), "rsj", "help_request", ()),
    ("公交车班次太少，等车要一个小时", ("交通运输", "公共交通", "公交线路"), "jtj", "suggestion", ()),
    ("电动车在楼道里充电，存在火灾隐患", ("城乡建设", "安全生产", "消防安全"), "xfjy", "report", (6, 7, 8)),
    ("{v}河道漂浮垃圾多，水体发黑发臭", ("环境保护", "水污染", "河道"), "swj", "complaint", (5, 6, 7, 8, 9)),
]
COLUMNS = ("id", "ticket_no", "status", "channel", "demand_type", "description", "location_town", "grid", "phone",
           "category_level1", "category_level2", "category_level3", "lead_department", "dispatched_at",
           "complete_due_at", "overdue", "repeat_of_id", "enterprise", "created_at", "updated_at", "anonymous",
           "confidential", "urgency", "needs_dispatcher", "escalation_level", "rework_count", "extension_count",
           "repeat_count", "version_id", "created_by")
CONSTANT = (False, False, "普通", False, 0, 0, 0, 0, 1, "synthetic")
ASSIGNMENT_COLUMNS = ("id", "ticket_id", "department_id", "role", "required", "status", "active", "sign_due_at",
                      "signed_at", "replied_at", "created_at")
JOB_COLUMNS = ("id", "ticket_id", "ticket_no", "round", "department_id", "channel", "status", "attempts",
               "max_attempts", "next_attempt_at", "rating", "solved", "applied", "created_at", "updated_at", "completed_at")
CHANNELS = ("voice",) * 6 + ("chat",) * 2 + ("online",) * 2


@dataclass
class History:
    tickets: list[tuple]
    assignments: list[tuple]
    jobs: list[tuple]
    bursts: list[dict]


def generate(*, total: int, end: date, years: int = 5, seed: int = 14, villages: list[tuple[str, str, str]],
             bursts: int = 12) -> History:
    """About `total` tickets over `years` ending at `end`. villages: (town name, village name, grid)."""
    rng = random.Random(seed)
    start = end - timedelta(days=365 * years - 1)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]

    def weight(day: date) -> float:
        base = 1.0 if is_workday(day) else 0.6
        return base * (1.25 if day.month in (7, 8) else 1.0)

    weights = [weight(d) for d in days]
    scale = total / sum(weights)
    planted = []
    for k in range(bursts):
        town, village, grid = villages[rng.randrange(len(villages))]
        planted.append({"day": days[rng.randrange(60, len(days))], "town": town, "village": village, "grid": grid,
                        "count": 8 + k % 5, "text": f"{village}自来水发黄有异味，已经好几天了"})
    tickets, assignments, jobs = [], [], []
    tid = aid = jid = 0
    phones = [f"139{rng.randrange(10**8):08d}" for _ in range(max(10, total // 3))]
    by_day_burst = {}
    for b in planted:
        for j in range(b["count"]):
            by_day_burst.setdefault(b["day"] + timedelta(days=j % 3), []).append(b)
    for day, w in zip(days, weights, strict=True):
        n = int(w * scale + rng.random())
        items = []
        for _ in range(n):
            topic = rng.choices(TOPICS, weights=[3.0 if day.month in t[4] else (0.3 if t[4] else 1.0) for t in TOPICS])[0]
            town, village, grid = villages[rng.randrange(len(villages))]
            items.append((topic[0].format(v=village), topic[1], topic[2], topic[3], town, grid))
        for b in by_day_burst.get(day, []):
            items.append((b["text"], ("城乡建设", "供水", "水质"), "zlsgs", "complaint", b["town"], b["grid"]))
        for text, levels, dept, demand, town, grid in items:
            tid += 1
            created = datetime(day.year, day.month, day.day, rng.choice((8, 9, 9, 10, 10, 11, 14, 15, 16, 19, 21)),
                               rng.randrange(60), tzinfo=BJ).astimezone(UTC)
            due = created + timedelta(days=5)
            replied = created + timedelta(hours=rng.choice((20, 40, 70, 100, 150)))
            late = replied > due
            closed = day < end - timedelta(days=10)
            no = f"S{day:%Y%m%d}-{tid:07d}"
            tickets.append((tid, no, "已办结" if closed else "办理中", rng.choice(CHANNELS), demand,
                            f"{text}。{rng.choice(('请尽快处理', '希望相关部门重视', '多次反映未解决', '谢谢'))}", town, grid,
                            rng.choice(phones), *levels, dept, created, due, (not closed) and late,
                            tid - 1 if rng.random() < 0.05 and tid > 1 else None, "公司" in text, created, created, *CONSTANT))
            aid += 1
            sign_due = created + timedelta(hours=2)
            signed = created + timedelta(minutes=rng.choice((20, 40, 90, 150, 300)))
            assignments.append((aid, tid, dept, "lead", True, "已答复" if closed else "办理中", True, sign_due, signed,
                                replied if closed or not late else None, created))
            if closed and rng.random() < 0.7:
                jid += 1
                rating = rng.choices(("满意", "基本满意", "不满意"), weights=(80, 14, 6))[0]
                done_at = replied + timedelta(days=1)
                jobs.append((jid, tid, no, 0, dept, "phone", "done", 1, 3, done_at, rating, rating != "不满意", True,
                             done_at, done_at, done_at))
    return History(tickets=tickets, assignments=assignments, jobs=jobs, bursts=planted)


def write(*, engine, history: History) -> None:
    """COPY on PostgreSQL (psycopg 3), executemany elsewhere."""
    tables = (("tickets", COLUMNS, history.tickets), ("ticket_assignments", ASSIGNMENT_COLUMNS, history.assignments),
              ("callback_jobs", JOB_COLUMNS, history.jobs))
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur:
                for table, columns, rows in tables:
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                for table, _, _ in tables:
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                    cur.execute(f"ANALYZE {table}")
            raw.commit()
        finally:
            raw.close()
        return
    from sqlalchemy import MetaData, Table

    meta = MetaData()
    with engine.begin() as conn:
        for table, columns, rows in tables:
            t = Table(table, meta, autoload_with=conn)
            for i in range(0, len(rows), 20000):
                conn.execute(t.insert(), [dict(zip(columns, r, strict=True)) for r in rows[i:i + 20000]])
