"""Side effects of ticket creation and transitions: routing, linkage, repeats, 双交办, 督办."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from api.core.settings import get_settings
from api.county import county_profile
from api.org.models import Department
from api.org.profile import OrgProfile, org_profile
from api.routing import get_classifier, linkage_flags, risk_judgement, suggest_route
from api.tickets import deadlines
from api.tickets.access import strip_numbers
from api.tickets.models import (
    Notification,
    Supervision,
    Ticket,
    TicketEvent,
    TicketLinkage,
    TicketStatus,
)

log = logging.getLogger(__name__)


# ---- routing (智能派单) over api.routing --------------------------------------------------------

@dataclass
class Route:
    level1: str | None = None
    level2: str | None = None
    level3: str | None = None
    confidence: float | None = None
    lead_department: str | None = None
    co_departments: list[str] = field(default_factory=list)
    needs_dispatcher: bool = True
    joint: bool = False
    reasons: list[str] = field(default_factory=list)
    linkage: list[str] | None = None  # None: routing unavailable, the fallback rules decide


def _levels(category: Any) -> tuple[str | None, str | None, str | None]:
    if category is None:
        return None, None, None
    if isinstance(category, dict):
        return category.get("level1"), category.get("level2"), category.get("level3")
    if isinstance(category, (tuple, list)):
        padded = [*category, None, None, None]
        return padded[0], padded[1], padded[2]
    return getattr(category, "level1", None), getattr(category, "level2", None), getattr(category, "level3", None)


def _department_id(ref: Any, profile: OrgProfile) -> str | None:
    if ref is None:
        return None
    ref = getattr(ref, "id", ref)
    dept = profile.department_by_name(str(ref))
    return dept.id if dept else None


def suggest(*, text: str, location_town: str | None) -> Route:
    """The classifier's suggestion, or an empty route for the 派单员 queue when it is unavailable."""
    try:
        # Phone and ID numbers say nothing about the matter, and long digit runs skew the classifier.
        suggestion = suggest_route(text=strip_numbers(text) or text, location_town=location_town, profile=county_profile())
    except Exception as exc:  # noqa: BLE001 — routing must never stop intake; the dispatcher decides instead
        log.warning("routing unavailable (%s): ticket goes to the dispatcher queue", exc)
        return Route(reasons=[f"自动分类不可用：{type(exc).__name__}"])
    profile = org_profile()
    level1, level2, level3 = _levels(getattr(suggestion, "category", None))
    lead = _department_id(getattr(suggestion, "lead_department", None), profile)
    co = [d for d in (_department_id(x, profile) for x in getattr(suggestion, "co_departments", None) or ()) if d and d != lead]
    needs = bool(getattr(suggestion, "needs_dispatcher", True)) or lead is None
    return Route(
        level1=level1, level2=level2, level3=level3,
        confidence=float(getattr(suggestion, "confidence", 0.0) or 0.0),
        lead_department=lead, co_departments=list(dict.fromkeys(co)), needs_dispatcher=needs,
        joint=bool(getattr(suggestion, "joint", False)),
        reasons=[str(r) for r in getattr(suggestion, "reasons", None) or ()],
        linkage=[str(x) for x in getattr(suggestion, "linkage", None) or ()],
    )


def _compatible(ref: Any, level1: str, level2: str | None, level3: str | None) -> bool:
    # The same branch of the taxonomy at whatever depth either side names.
    return ref.level1 == level1 and (ref.level2 is None or level2 is None or ref.level2 == level2) and (
        ref.level3 is None or level3 is None or ref.level3 == level3)


def category_for_lead(*, ticket: Ticket, department_id: str) -> tuple[str, str | None, str | None] | None:
    """The 诉求类别 a ticket takes when a dispatcher hands it to a lead the current category does not
    belong to (卫生计生 / 医政监管 moved to 城管局): the branch of that department's 职责清单 the
    classifier rates highest for the text. None = keep the category (it fits, or nothing better is known)."""
    try:
        profile = county_profile()
        rules = profile.routing
        owned = [e for e in rules.matrix if e.lead == department_id]
        owned += [r.category for r in rules.keyword_rules if r.lead == department_id and r.category is not None]
        if any(d.id == department_id and d.kind == "属地" for d in profile.departments):
            owned += list(rules.place_rules.town_leads)
        level1 = ticket.category_level1
        if not owned or (level1 and any(_compatible(ref, level1, ticket.category_level2, ticket.category_level3)
                                        for ref in owned + [e for e in rules.matrix if department_id in e.co])):
            return None
        scores: dict[str, float] = {}
        try:
            model = get_classifier()
            probs = model.predict_level1_proba([strip_numbers(ticket.description) or ticket.description])[0]
            scores = {str(c): float(p) for c, p in zip(model.classes, probs, strict=False)}
        except Exception as exc:  # noqa: BLE001 — without the model the department's first duty is used
            log.warning("classifier unavailable for recategorising %s: %s", ticket.ticket_no, exc)
        best = max(owned, key=lambda ref: (scores.get(ref.level1, 0.0), -ref.depth))
    except Exception as exc:  # noqa: BLE001 — a dispatch never fails over its category label
        log.warning("no category for %s under %s: %s", ticket.ticket_no, department_id, exc)
        return None
    return best.level1, best.level2, best.level3


def infer_town(ticket: Ticket) -> str | None:
    """The 镇/街道 a free-text address names (Open311 and staff entries often give only the address)."""
    text = " ".join(x for x in (ticket.location, ticket.location_detail) if x)
    if not text:
        return None
    try:
        found = county_profile().find_town_in_text(text)
    except Exception as exc:  # noqa: BLE001 — without the gazetteer the ticket simply has no town
        log.warning("town lookup unavailable: %s", exc)
        return None
    return found[0].name if found else None


def classify_and_route(*, ticket: Ticket) -> Route:
    if not ticket.location_town:
        ticket.location_town = infer_town(ticket)
    # The classifier reads what the citizen asked, not the address: street names skew the category.
    route = suggest(text=ticket.description, location_town=ticket.location_town)
    ticket.category_level1, ticket.category_level2, ticket.category_level3 = route.level1, route.level2, route.level3
    ticket.category_confidence = route.confidence
    ticket.lead_department = route.lead_department
    ticket.co_departments = route.co_departments
    ticket.needs_dispatcher = route.needs_dispatcher
    return route


# ---- 六方联动 ------------------------------------------------------------------------------------

def _reason(partner_id: str, text: str) -> str:
    """Why a partner was flagged, for the push list: the risk judge's rules that fired."""
    try:
        return risk_judgement(text).reason_for(partner_id)
    except Exception:  # noqa: BLE001 — an explanation is optional
        return "规则命中"


def linkage_for(text: str, route: Route | None = None) -> list[tuple[str, str]]:
    """(partner, reason) pairs: from the route when routing ran, else from the rules directly."""
    if route is not None and route.linkage is not None:
        return [(p, _reason(p, text)) for p in route.linkage]
    try:
        return [(p, _reason(p, text)) for p in linkage_flags(text)]
    except Exception as exc:  # noqa: BLE001 — a rule error must not lose the ticket
        log.warning("linkage rules failed: %s", exc)
        return []


def resolve_grid(ticket: Ticket, profile: OrgProfile) -> str | None:
    """The 网格 of the village/community named in the location (longest name first)."""
    text = " ".join(x for x in (ticket.location, ticket.location_detail, ticket.description) if x)
    town_id = profile.town_aliases.get(ticket.location_town or "")
    for village in profile.villages:  # sorted longest first
        if village.name in text and (town_id is None or village.town_id == town_id):
            return village.grid
    return None


def _county_wide(ticket: Ticket, profile: OrgProfile) -> bool:
    for rule in profile.no_town:
        if all(rule.get(k) in (None, getattr(ticket, f"category_{k}")) for k in ("level1", "level2", "level3")):
            return True
    return False


def local_day(moment: datetime):
    return moment.astimezone(ZoneInfo(get_settings().timezone)).date()


def apply_linkage(*, db_session: Session, ticket: Ticket, now: datetime, route: Route | None = None) -> list[str]:
    profile = org_profile()
    text = " ".join(x for x in (ticket.description, ticket.location, ticket.location_detail) if x)
    flags = dict(linkage_for(text, route))
    for partner in (ticket.extra or {}).get("linkage_requested") or []:
        if partner in profile.partners:
            flags.setdefault(partner, "受理时研判为紧急情况或有风险")
    ticket.grid = resolve_grid(ticket, profile)
    if ticket.grid and "网格" not in flags and not _county_wide(ticket, profile):
        flags["网格"] = f"地点属网格 {ticket.grid}"
    existing = {x.partner for x in db_session.scalars(select(TicketLinkage).where(TicketLinkage.ticket_id == ticket.id))}
    for partner, reason in flags.items():
        if partner in existing:
            continue
        spec = profile.partners.get(partner)
        urgent = bool(spec and spec.urgent)
        db_session.add(TicketLinkage(
            ticket_id=ticket.id, partner=partner, reason=reason, grid=ticket.grid if partner == "网格" else None,
            urgent=urgent, flagged_on=local_day(now), created_at=now,
        ))
        if urgent and ticket.urgency != "特急":
            # 110 matters (violence, fire, gas) are pushed at once and handled on the clock.
            ticket.urgency = "特急"
        if urgent:
            notify(db_session=db_session, ticket=ticket, recipient_kind="partner", recipient_id=partner, kind="联动",
                   message=f"工单 {ticket.ticket_no} 需{spec.name if spec else partner}即时联动：{reason}", now=now)
    ticket.linkage_flags = sorted(set(ticket.linkage_flags or []) | set(flags))
    return list(flags)


# ---- 重复诉求 ------------------------------------------------------------------------------------

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def _bigrams(text: str | None) -> set[str]:
    cleaned = _NOISE.sub("", text or "")
    return {cleaned[i:i + 2] for i in range(len(cleaned) - 1)} or ({cleaned} if cleaned else set())


def similarity(a: str | None, b: str | None) -> float:
    """Character-bigram Jaccard: robust to ASR and word-order variation in short Chinese texts."""
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y) if x and y else 0.0


def _place(ticket: Ticket) -> str:
    return " ".join(x for x in (ticket.location_detail, ticket.location) if x)


def find_original(*, db_session: Session, ticket: Ticket, now: datetime) -> tuple[Ticket, str] | None:
    """An earlier ticket about the same matter: the same citizen with similar content (within the
    repeat window), or the same town, category and a similar address (within the place window)."""
    cfg = get_settings().tickets
    same = []
    if ticket.phone:
        same.append(and_(Ticket.phone == ticket.phone, Ticket.created_at >= now - timedelta(days=cfg.repeat_window_days)))
    if ticket.location_town and ticket.category_level2:
        same.append(and_(
            Ticket.location_town == ticket.location_town, Ticket.category_level1 == ticket.category_level1,
            Ticket.category_level2 == ticket.category_level2,
            Ticket.created_at >= now - timedelta(days=cfg.place_repeat_window_days),
        ))
    if not same:
        return None
    # Columns only: this runs on every intake and must stay cheap however busy the town is.
    rows = db_session.execute(
        select(Ticket.id, Ticket.phone, Ticket.description, Ticket.location, Ticket.location_detail, Ticket.category_level2)
        .where(Ticket.id != ticket.id, Ticket.status.notin_([TicketStatus.withdrawn, TicketStatus.merged]), or_(*same))
        .order_by(Ticket.created_at.desc()).limit(500)
    ).all()
    here = _place(ticket)
    best: tuple[float, int, str] | None = None
    for row in rows:
        score, reason = 0.0, ""
        if ticket.phone and row.phone == ticket.phone:
            score = similarity(ticket.description, row.description)
            reason = f"同一来电人反映相似内容（相似度{score:.2f}）"
        if score < cfg.repeat_similarity and ticket.category_level2 and row.category_level2 == ticket.category_level2:
            there = " ".join(x for x in (row.location_detail, row.location) if x)
            place = similarity(here, there)
            if place >= 0.5:
                score = max(place, similarity(ticket.description, row.description))
                reason = f"同一地点（{there}）同类诉求（{row.category_level2}）"
        if score >= cfg.repeat_similarity and (best is None or score > best[0]):
            best = (score, row.id, reason)
    if best is None:
        return None
    original = db_session.get(Ticket, best[1])
    assert original is not None
    seen = {ticket.id, original.id}
    while original.repeat_of is not None and original.repeat_of.id not in seen:  # link to the first of the chain
        original = original.repeat_of
        seen.add(original.id)
    return original, best[2]


def link_repeat(*, db_session: Session, ticket: Ticket, now: datetime, actor: str) -> Ticket | None:
    found = find_original(db_session=db_session, ticket=ticket, now=now)
    if found is None:
        return None
    original, reason = found
    ticket.repeat_of = original
    original.repeat_count = (original.repeat_count or 0) + 1
    db_session.add(TicketEvent(ticket=ticket, action="repeat_link", actor=actor, note=f"疑似重复诉求，关联原工单 {original.ticket_no}：{reason}",
                               data={"original": original.ticket_no}, created_at=now))
    db_session.add(TicketEvent(ticket=original, action="repeat_link", actor=actor, note=f"收到重复诉求 {ticket.ticket_no}：{reason}",
                               data={"repeat": ticket.ticket_no, "repeat_count": original.repeat_count}, created_at=now))
    return original


# ---- notifications, 双交办, 督办 -------------------------------------------------------------------

def notify(*, db_session: Session, ticket: Ticket | None, recipient_kind: str, recipient_id: str, kind: str,
           message: str, now: datetime, dedupe_key: str | None = None) -> Notification | None:
    if dedupe_key and db_session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)):
        return None
    note = Notification(ticket_id=ticket.id if ticket else None, recipient_kind=recipient_kind, recipient_id=recipient_id,
                        kind=kind, message=message, dedupe_key=dedupe_key, created_at=now)
    db_session.add(note)
    return note


def dual_assign(*, db_session: Session, ticket: Ticket, now: datetime) -> Notification | None:
    """双交办: the 分管领导 of the lead department gets the ticket in their own view."""
    dept = db_session.get(Department, ticket.lead_department or "")
    if dept is None or not dept.leader_id:
        return None
    return notify(
        db_session=db_session, ticket=ticket, recipient_kind="leader", recipient_id=dept.leader_id, kind="双交办",
        message=f"工单 {ticket.ticket_no}（{ticket.category_level1 or '未分类'}）已交办{dept.short}，请您督促办理。",
        now=now, dedupe_key=f"dual:{ticket.id}:{dept.id}:{ticket.dispatched_at.isoformat() if ticket.dispatched_at else ''}",
    )


REASON_LABELS = {
    "overdue": "超期未办结", "sign_overdue": "超时未签收", "rework": "答复审核不通过、退回重办",
    "dissatisfied": "群众回访不满意", "extension": "申请延期办理", "manual": "督办人员提级督办",
}
LEVEL_LABELS = {1: "12345平台督办", 2: "县政府办公室督办", 3: "县分管领导督办"}


def supervision_deadline(*, ticket: Ticket, supervised_until: datetime) -> datetime:
    """The one 办结 date a 督办函 names: the supervision period, but never before the ticket's own
    standing 办结时限 (a letter on an approved extension must not pull the approved date forward)."""
    due = ticket.complete_due_at
    if due is not None and due.tzinfo is None and supervised_until.tzinfo is not None:
        due = due.replace(tzinfo=supervised_until.tzinfo)
    return max(supervised_until, due) if due is not None else supervised_until


def escalate(*, db_session: Session, ticket: Ticket, reason_kind: str, reason: str, actor: str, now: datetime,
             department_id: str | None = None) -> Supervision:
    """提级督办: raise the level, file a supervision (its 督办函 is rendered on download), notify."""
    cfg = get_settings().tickets
    from_level = ticket.escalation_level or 0
    ticket.escalation_level = min(from_level + 1, cfg.max_escalation_level)
    department = department_id or ticket.lead_department
    supervision = Supervision(
        ticket=ticket, level=ticket.escalation_level, reason_kind=reason_kind, reason=reason, department_id=department,
        due_at=supervision_deadline(ticket=ticket, supervised_until=deadlines.add_working_days(now, cfg.supervision_days)),
        created_by=actor, created_at=now,
    )
    db_session.add(supervision)
    db_session.flush()
    db_session.add(TicketEvent(
        ticket=ticket, action="escalate", actor=actor, from_status=ticket.status, to_status=ticket.status,
        note=f"提级督办（第{ticket.escalation_level}级，{LEVEL_LABELS.get(ticket.escalation_level, '')}）：{REASON_LABELS.get(reason_kind, reason_kind)}。{reason}",
        data={"supervision_id": supervision.id, "level": ticket.escalation_level, "from_level": from_level,
              "letter_no": supervision.letter_no},
        created_at=now,
    ))
    if department:
        notify(db_session=db_session, ticket=ticket, recipient_kind="department", recipient_id=department, kind="督办",
               message=f"{supervision.letter_no}：工单 {ticket.ticket_no} {REASON_LABELS.get(reason_kind, '')}，请主要领导亲自研究解决。",
               now=now)
        dept = db_session.get(Department, department)
        if dept is not None and dept.leader_id and ticket.escalation_level >= 2:
            notify(db_session=db_session, ticket=ticket, recipient_kind="leader", recipient_id=dept.leader_id, kind="督办",
                   message=f"工单 {ticket.ticket_no} 已提级至第{ticket.escalation_level}级督办（{dept.short}）。", now=now)
    return supervision
