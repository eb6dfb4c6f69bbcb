"""预警 (下快风险"预警棋"): rules the county edits, run daily, push a warning to the responsible department.

Rule kinds and their params:
- village_cluster  {"n": 5, "days": 3}: n similar demands from one village/community within days;
- surge            {"days": 7, "ratio": 3, "min_count": 5, "baseline_days": 56}: a topic's burst (Kleinberg)
                   with at least min_count demands and ratio × its expected volume;
- sensitive_words  {"words": [...], "days": 1}: a demand with one of the words;
- repeat_citizen   {"n": 3, "days": 30}: one citizen (phone) filed n demands within days.
Every warning carries a dedupe key: running the job again updates the same warning (its count and
tickets grow), it never files a second one for the same matter.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.analytics import hotspots
from api.analytics.counting import ticket_filters
from api.analytics.models import RULE_KIND_LABELS, EarlyWarning, RuleKind, WarningRule
from api.analytics.periods import Period, local_day
from api.auth.deps import Principal
from api.auth.models import Role
from api.core.db import utcnow
from api.org.models import Department
from api.org.profile import org_profile
from api.tickets.access import PLATFORM_ROLES, mask_phone
from api.tickets.models import Ticket

DEFAULT_SENSITIVE = ["跳楼", "自杀", "轻生", "不想活", "拉横幅", "集体上访", "到北京上访", "围堵", "堵路", "堵门", "静坐",
                     "媒体曝光", "曝光到网上", "群体性", "爆炸", "中毒", "讨薪", "以死相逼"]


class VillageClusterParams(BaseModel):
    n: int = Field(5, ge=2, le=500)
    days: int = Field(3, ge=1, le=90)


class SurgeParams(BaseModel):
    days: int = Field(7, ge=1, le=90)
    ratio: float = Field(3.0, ge=1.0, le=100)
    min_count: int = Field(5, ge=2, le=10000)
    baseline_days: int = Field(56, ge=7, le=365)


class SensitiveParams(BaseModel):
    words: list[str] = Field(default_factory=lambda: list(DEFAULT_SENSITIVE), min_length=1, max_length=200)
    days: int = Field(1, ge=1, le=30)


class RepeatParams(BaseModel):
    n: int = Field(3, ge=2, le=100)
    days: int = Field(30, ge=1, le=365)


PARAMS: dict[str, type[BaseModel]] = {
    RuleKind.village_cluster: VillageClusterParams, RuleKind.surge: SurgeParams,
    RuleKind.sensitive_words: SensitiveParams, RuleKind.repeat_citizen: RepeatParams,
}
DEFAULT_RULES = [
    ("同一村居3天内5件相似诉求", RuleKind.village_cluster, {"n": 5, "days": 3}),
    ("热点诉求量超过基线3倍", RuleKind.surge, {"days": 7, "ratio": 3, "min_count": 5, "baseline_days": 56}),
    ("敏感词诉求", RuleKind.sensitive_words, {"words": DEFAULT_SENSITIVE, "days": 1}),
    ("同一群众30天内来电3次及以上", RuleKind.repeat_citizen, {"n": 3, "days": 30}),
]


class RuleError(ValueError):
    pass


def validate_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    if kind not in PARAMS:
        raise RuleError(f"没有这种预警规则：{kind}（可选：{'、'.join(PARAMS)}）")
    try:
        model = PARAMS[kind].model_validate(params or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RuleError(f"规则参数不正确（{'.'.join(str(x) for x in first['loc'])}）：{first['msg']}") from None
    if kind == RuleKind.sensitive_words:
        model.words = [w.strip() for w in model.words if w.strip()]  # type: ignore[attr-defined]
    return model.model_dump()


def ensure_default_rules(*, db_session: Session) -> None:
    """The county starts with the four rules of its work model; it edits them afterwards."""
    if db_session.scalar(select(func.count()).select_from(WarningRule)):
        return
    for name, kind, params in DEFAULT_RULES:
        db_session.add(WarningRule(name=name, kind=kind, params=validate_params(kind, params), created_by="system"))
    db_session.commit()


def save_rule(*, db_session: Session, actor: str, name: str, kind: str, params: dict[str, Any], active: bool = True,
              department_id: str | None = None, rule_id: int | None = None) -> WarningRule:
    clean = validate_params(kind, params)
    if department_id and db_session.get(Department, department_id) is None:
        raise RuleError(f"没有这个承办单位：{department_id}")
    if rule_id is None:
        rule = WarningRule(name=name, kind=kind, params=clean, active=active, department_id=department_id, created_by=actor)
        db_session.add(rule)
    else:
        rule = db_session.get(WarningRule, rule_id)
        if rule is None:
            raise RuleError(f"没有预警规则 {rule_id}。")
        rule.name, rule.kind, rule.params, rule.active, rule.department_id = name, kind, clean, active, department_id
        rule.updated_at = utcnow()
    db_session.commit()
    return rule


# ---- evaluation -----------------------------------------------------------------------------------

def _window(now: datetime, days: int) -> Period:
    end = local_day(now)
    return Period(end - timedelta(days=days - 1), end)


def _upsert(db_session: Session, *, rule: WarningRule, key: str, title: str, detail: str, department: str | None,
            place: str | None, tickets: list[str], window: Period, now: datetime) -> bool:
    """Insert a new warning (True) or refresh the one already filed for this matter (False)."""
    existing = db_session.scalar(select(EarlyWarning).where(EarlyWarning.dedupe_key == key))
    if existing is not None:
        merged = list(dict.fromkeys([*existing.ticket_nos, *tickets]))
        if len(merged) != len(existing.ticket_nos):
            existing.ticket_nos, existing.count, existing.detail = merged, len(merged), detail
            existing.window_end, existing.updated_at = window.end, now
        return False
    db_session.add(EarlyWarning(
        rule_id=rule.id, kind=rule.kind, dedupe_key=key[:200], title=title[:200], detail=detail,
        department_id=rule.department_id or department, place=place, count=len(tickets), ticket_nos=tickets,
        window_start=window.start, window_end=window.end, created_at=now, updated_at=now,
    ))
    return True


def _responsible(docs: list[hotspots.Doc]) -> str | None:
    """The lead department most of the demands went to; else the 属地 unit of their town."""
    lead = Counter(d.department for d in docs if d.department).most_common(1)
    if lead:
        return lead[0][0]
    town = Counter(d.town for d in docs if d.town).most_common(1)
    dept = org_profile().town_department(town[0][0]) if town else None
    return dept.id if dept else None


def _village_cluster(db_session: Session, rule: WarningRule, now: datetime) -> int:
    p = VillageClusterParams.model_validate(rule.params)
    window = _window(now, p.days)
    docs = [d for d in hotspots.load_docs(db_session=db_session, period=window) if d.place]
    grids = set(db_session.scalars(select(Ticket.id).where(*ticket_filters(period=window, principal=None),
                                                           Ticket.grid.is_not(None))))
    by_village: dict[str, list[hotspots.Doc]] = defaultdict(list)
    for d in docs:
        if d.id in grids:  # villages and communities only: a whole town is not "one village"
            by_village[d.place or ""].append(d)
    created = 0
    for place, members in by_village.items():
        if len(members) < p.n:
            continue
        vectorizer = hotspots._vectorizer()
        try:
            matrix = vectorizer.fit_transform([m.text for m in members])
        except ValueError:
            continue
        for group in hotspots.cluster(members, matrix, min_size=p.n):
            topic = sorted((members[i] for i in group), key=lambda d: (d.day, d.id))
            terms = hotspots._title_terms([t.text for t in topic], [t.place for t in topic])
            nos = [t.ticket_no for t in topic]
            detail = (f"{window.start.month}月{window.start.day}日至{window.end.month}月{window.end.day}日，{place}"
                      f"群众集中反映“{'、'.join(terms)}”相关问题{len(topic)}件（工单{'、'.join(nos[:10])}"
                      f"{'等' if len(nos) > 10 else ''}），请属地和主管部门提前介入、源头化解。")
            created += _upsert(db_session, rule=rule, key=f"vc:{rule.id}:{place}:{nos[0]}",
                               title=f"{place}{p.days}天内{len(topic)}件相似诉求：{'、'.join(terms)}", detail=detail,
                               department=_responsible(topic), place=place, tickets=nos, window=window, now=now)
    return created


def _surge(db_session: Session, rule: WarningRule, now: datetime) -> int:
    p = SurgeParams.model_validate(rule.params)
    window = _window(now, p.days)
    created = 0
    for spot in hotspots.find_hotspots(db_session=db_session, period=window, min_count=p.min_count, limit=100,
                                       baseline_days=p.baseline_days, last_year=False, samples=1):
        if not spot["burst"] or spot["count"] < p.ratio * max(spot["expected"], 1.0):
            continue
        detail = (f"近{p.days}天“{spot['title']}”相关诉求{spot['count']}件，按前{p.baseline_days}天基线应约"
                  f"{spot['expected']:.1f}件，明显突增（{'、'.join(spot['burst_days'][:7])}）。请及时研判，防止事态扩大。")
        created += _upsert(db_session, rule=rule, key=f"surge:{rule.id}:{spot['tickets'][0]}",
                           title=f"诉求突增：{spot['title']}（{spot['count']}件）", detail=detail,
                           department=spot["department_id"], place=(spot["places"] or [{}])[0].get("place"),
                           tickets=spot["tickets"], window=window, now=now)
    return created


def _sensitive(db_session: Session, rule: WarningRule, now: datetime) -> int:
    p = SensitiveParams.model_validate(rule.params)
    window = _window(now, p.days)
    rows = db_session.execute(
        select(Ticket.ticket_no, Ticket.description, Ticket.lead_department, Ticket.location_town, Ticket.grid)
        .where(*ticket_filters(period=window, principal=None), or_(*[Ticket.description.contains(w) for w in p.words]))
    ).all()
    created = 0
    for row in rows:
        words = [w for w in p.words if w in (row.description or "")]
        if not words:
            continue
        place = hotspots.place_of(grid=row.grid, town=row.location_town, text=row.description or "")
        detail = f"工单 {row.ticket_no} 含敏感内容“{'、'.join(words)}”，可能引发极端事件或舆情，请立即核实、稳控化解。"
        dept = row.lead_department or (org_profile().town_department(row.location_town).id
                                       if row.location_town and org_profile().town_department(row.location_town) else None)
        created += _upsert(db_session, rule=rule, key=f"sw:{rule.id}:{row.ticket_no}",
                           title=f"敏感诉求（{'、'.join(words)}）：{row.ticket_no}", detail=detail, department=dept,
                           place=place, tickets=[row.ticket_no], window=window, now=now)
    return created


def _repeat_citizen(db_session: Session, rule: WarningRule, now: datetime) -> int:
    p = RepeatParams.model_validate(rule.params)
    window = _window(now, p.days)
    conds = ticket_filters(period=window, principal=None)
    phones = select(Ticket.phone).where(*conds, Ticket.phone.is_not(None)).group_by(Ticket.phone).having(func.count() >= p.n)
    rows = db_session.execute(
        select(Ticket.phone, Ticket.ticket_no, Ticket.lead_department, Ticket.category_level3, Ticket.category_level1)
        .where(*conds, Ticket.phone.in_(phones)).order_by(Ticket.created_at, Ticket.id)
    ).all()
    by_phone: dict[str, list] = defaultdict(list)
    for row in rows:
        by_phone[row.phone].append(row)
    created = 0
    for phone, items in by_phone.items():
        nos = [r.ticket_no for r in items]
        topics = Counter(r.category_level3 or r.category_level1 or "未分类" for r in items).most_common(3)
        dept = Counter(r.lead_department for r in items if r.lead_department).most_common(1)
        digest = hashlib.sha256(phone.encode()).hexdigest()[:16]  # the key must not hold the number itself
        detail = (f"来电人（{mask_phone(phone)}）近{p.days}天反映诉求{len(items)}次，主要涉及"
                  f"{'、'.join(f'{t}（{n}次）' for t, n in topics)}；工单{'、'.join(nos[:10])}。"
                  "请承办单位主动联系、一次性解决，防止诉求升级。")
        created += _upsert(db_session, rule=rule, key=f"rc:{rule.id}:{digest}:{nos[0]}",
                           title=f"同一群众{p.days}天内{len(items)}次来电（{mask_phone(phone)}）", detail=detail,
                           department=dept[0][0] if dept else None, place=None, tickets=nos, window=window, now=now)
    return created


RUNNERS = {RuleKind.village_cluster: _village_cluster, RuleKind.surge: _surge,
           RuleKind.sensitive_words: _sensitive, RuleKind.repeat_citizen: _repeat_citizen}


def run_rules(*, db_session: Session, now: datetime | None = None) -> dict[str, int]:
    """Evaluate every active rule; returns new warnings per rule kind. Idempotent."""
    now = now or utcnow()
    ensure_default_rules(db_session=db_session)
    counts: Counter[str] = Counter()
    for rule in db_session.scalars(select(WarningRule).where(WarningRule.active.is_(True)).order_by(WarningRule.id)):
        counts[rule.kind] += RUNNERS[RuleKind(rule.kind)](db_session, rule, now)
        db_session.commit()
    return dict(counts)


# ---- reading and acknowledging ----------------------------------------------------------------------

def visible(principal: Principal):
    """Platform roles see every warning; a 承办人 their department's; a leader those of the departments in their charge."""
    if principal.role in PLATFORM_ROLES or principal.is_service:
        return None
    if principal.role == Role.handler and principal.department_id:
        return EarlyWarning.department_id == principal.department_id
    if principal.role == Role.leader and principal.leader_id:
        return EarlyWarning.department_id.in_(select(Department.id).where(Department.leader_id == principal.leader_id))
    return EarlyWarning.id.is_(None)


def list_warnings(*, db_session: Session, principal: Principal, unacknowledged: bool = False,
                  limit: int = 200) -> list[EarlyWarning]:
    query = select(EarlyWarning)
    clause = visible(principal)
    if clause is not None:
        query = query.where(clause)
    if unacknowledged:
        query = query.where(EarlyWarning.acknowledged_at.is_(None))
    return list(db_session.scalars(query.order_by(EarlyWarning.created_at.desc(), EarlyWarning.id.desc()).limit(limit)))


def acknowledge(*, db_session: Session, principal: Principal, warning_id: int, note: str | None,
                now: datetime | None = None) -> EarlyWarning:
    query = select(EarlyWarning).where(EarlyWarning.id == warning_id)
    clause = visible(principal)
    if clause is not None:
        query = query.where(clause)
    warning = db_session.scalar(query)
    if warning is None:
        raise RuleError(f"没有预警 {warning_id}。")
    if warning.acknowledged_at is not None:
        raise RuleError(f"预警 {warning_id} 已由 {warning.acknowledged_by} 签收。")
    warning.acknowledged_at, warning.acknowledged_by, warning.ack_note = now or utcnow(), principal.username, note
    db_session.commit()
    return warning


def label(kind: str) -> str:
    try:
        return RULE_KIND_LABELS[RuleKind(kind)]
    except ValueError:
        return kind

