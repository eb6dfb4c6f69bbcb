"""Route suggestion (智能派单): classifier + keyword rules + responsibility matrix + place rules.

Keyword-only functions, no HTTP; the API's /api/v1/classify wraps suggest_route().
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from api.county import county_profile
from api.county.models import CategoryRef, CountyProfile, Department, KeywordRule, MatrixEntry, Town
from api.routing.classifier import classify
from api.routing.schemas import CategoryGuess, Classification, DepartmentRef, RouteSuggestion
from county.risk import RiskJudge, RiskJudgement

# A curated keyword hit on a category the model does not contradict is worth at least this much;
# above the default dispatcher threshold, since the rules are few and precise.
KEYWORD_CONFIDENCE = 0.6
# A category rule of linkage.yml (纪检监察 → 纪委) applies only when the classifier is this sure:
# a letter addressed to a leader must not reach 纪委 through a guessed category.
CATEGORY_LINKAGE_CONFIDENCE = 0.6


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _ref(d: Department) -> DepartmentRef:
    return DepartmentRef(id=d.id, name=d.name, short=d.short, kind=d.kind)


def _label(level1: str | None, level2: str | None = None, level3: str | None = None) -> str:
    return "/".join(x for x in (level1, level2, level3) if x)


def _matches_any(refs: list[CategoryRef], cat: CategoryGuess) -> bool:
    return any(r.matches(cat.level1, cat.level2, cat.level3) for r in refs)


def _keyword_rule(text: str, profile: CountyProfile) -> tuple[KeywordRule, str] | None:
    """The rule with the longest keyword found in the text (longest = most specific wording)."""
    best: tuple[KeywordRule, str] | None = None
    for rule in profile.routing.keyword_rules:
        for kw in rule.keywords:
            if kw in text and (best is None or len(kw) > len(best[1])):
                best = (rule, kw)
    return best


def matrix_entry(profile: CountyProfile, cat: CategoryGuess) -> MatrixEntry | None:
    """Most specific row of the responsibility matrix for a category."""
    rows = [e for e in profile.routing.matrix if e.matches(cat.level1, cat.level2, cat.level3)]
    return max(rows, key=lambda e: e.depth) if rows else None


def _judge_of(profile: CountyProfile) -> RiskJudge:
    """The profile's risk judge, compiled once per loaded profile."""
    held = _JUDGES.get(id(profile.linkage))
    if held is None or held[0] is not profile.linkage:
        held = (profile.linkage, RiskJudge(profile.linkage.rules()))
        _JUDGES[id(profile.linkage)] = held
    return held[1]


_JUDGES: dict[int, tuple[object, RiskJudge]] = {}


def risk_judgement(
    text: str, *, profile: CountyProfile | None = None, category: CategoryGuess | Classification | None = None
) -> RiskJudgement:
    """六方联动 / emergency / harm judgement of a text (county.risk), with the category's rules when known."""
    profile = profile or county_profile()
    level1 = level2 = level3 = None
    if category is not None and category.level1 and category.confidence >= CATEGORY_LINKAGE_CONFIDENCE:
        level1, level2, level3 = category.level1, category.level2, category.level3
    return _judge_of(profile).judge(text, level1=level1, level2=level2, level3=level3)


def linkage_flags(
    text: str, *, profile: CountyProfile | None = None, category: CategoryGuess | Classification | None = None
) -> list[str]:
    """六方联动 partner ids (linkage.yml order) that this text, and optionally its category, concern."""
    profile = profile or county_profile()
    judgement = risk_judgement(text, profile=profile, category=category)
    flags = judgement.ordered_partners
    # a named village/community has a grid worker who can look first (一哨联办 front line),
    # unless the matter is handled county-wide whatever the place
    county_wide = bool(
        category is not None
        and category.level1
        and _matches_any(profile.routing.place_rules.no_town, _as_guess(category))
    )
    if "网格" not in flags and not county_wide and profile.grid_in_text(_plain(text)):
        flags = [p for p in judgement.order if p in {*flags, "网格"}]
    return flags


def _as_guess(c: CategoryGuess | Classification) -> CategoryGuess:
    if isinstance(c, CategoryGuess):
        return c
    return CategoryGuess(level1=c.level1 or "", level2=c.level2, level3=c.level3, confidence=c.confidence)


@dataclass
class _Draft:
    """The suggestion while it is being made: category, departments and the reasons so far."""

    cat: CategoryGuess | None
    confidence: float
    reasons: list[str]
    lead: Department | None = None
    co: list[Department] = field(default_factory=list)
    joint: bool = False
    town: Town | None = None


def suggest_route(
    *,
    text: str,
    location_town: str | None,
    profile: CountyProfile,
    classification: Classification | None = None,
    min_confidence: float | None = None,
) -> RouteSuggestion:
    """Suggest category, lead and co-departments for a citizen's demand.

    `location_town`: gazetteer town id, name or alias when the intake form captured it; otherwise
    the town is looked for in the text. `min_confidence` defaults to routing.yml's dispatcher
    threshold. Below it the suggestion is still filled in (the dispatcher sees it) but marked
    needs_dispatcher.
    """
    threshold = profile.routing.dispatcher.min_confidence if min_confidence is None else min_confidence
    cls = classification or classify(text)
    plain = _plain(text)
    draft = _from_model(cls)
    hit = _keyword_rule(plain, profile) if cls.level1 else None
    _keyword_category(draft, hit, cls, threshold)
    if draft.cat is not None:
        _matrix_departments(draft, profile)
        _keyword_departments(draft, profile, hit)
    _place(draft, profile, location_town, plain)
    cat, confidence, reasons = draft.cat, draft.confidence, draft.reasons
    grid = profile.grid_in_text(plain)
    flags = linkage_flags(text, profile=profile, category=cat)
    if flags:
        reasons.append("六方联动：" + "、".join(flags))
    needs = cat is None or draft.lead is None or confidence < threshold
    if cat is not None and confidence < threshold:
        reasons.append(f"置信度{confidence:.2f}低于阈值{threshold:.2f}，转派单员人工派单")
    elif cat is None:
        reasons.append("无法判断诉求类别，转派单员人工派单")
    return RouteSuggestion(
        category=cat,
        lead_department=_ref(draft.lead) if draft.lead else None,
        co_departments=[_ref(d) for d in draft.co],
        joint=draft.joint,
        town=draft.town.id if draft.town else None,
        grid=grid,
        confidence=round(confidence, 4),
        needs_dispatcher=needs,
        linkage=flags,
        reasons=reasons,
    )


def _from_model(cls: Classification) -> _Draft:
    if cls.level1:
        cat = CategoryGuess(level1=cls.level1, level2=cls.level2, level3=cls.level3, confidence=cls.confidence)
        reason = f"分类模型：{_label(cls.level1, cls.level2, cls.level3)}（置信度{cls.confidence:.2f}）"
        return _Draft(cat=cat, confidence=cls.confidence, reasons=[reason])
    return _Draft(cat=None, confidence=cls.confidence, reasons=["分类模型：文本过短、无实际内容或无法识别"])


def _keyword_category(draft: _Draft, hit: tuple[KeywordRule, str] | None, cls: Classification, threshold: float) -> None:
    """A curated keyword names the category when the model agrees on level 1, or is unsure."""
    if not hit or hit[0].category is None:
        return
    rule, kw = hit
    rc = rule.category
    assert rc is not None
    cat = draft.cat
    agrees = cat is not None and cat.level1 == rc.level1
    if not (agrees or cls.confidence < threshold):
        draft.reasons.append(f"关键词“{kw}”指向{rc.label()}，但模型把握较大，未采用")
        return
    keep_deeper = agrees and cat is not None and (rc.level2 is None or rc.level2 == cat.level2)
    level2 = rc.level2 or (cat.level2 if agrees and cat else None)
    level3 = rc.level3 or (cat.level3 if keep_deeper and cat else None)
    if not agrees:
        prior = next((a.confidence for a in cls.alternatives if a.level1 == rc.level1), 0.0)
        draft.confidence = max(prior, KEYWORD_CONFIDENCE)
    draft.cat = CategoryGuess(level1=rc.level1, level2=level2, level3=level3, confidence=draft.confidence)
    draft.reasons.append(f"关键词“{kw}”：归入{_label(draft.cat.level1, draft.cat.level2, draft.cat.level3)}")


def _matrix_departments(draft: _Draft, profile: CountyProfile) -> None:
    """The responsibility matrix (职责清单): lead, co-departments and whether they act jointly."""
    assert draft.cat is not None
    entry = matrix_entry(profile, draft.cat)
    if entry is None:
        return
    draft.lead = profile.department(entry.lead)
    draft.co = [profile.department(c) for c in entry.co]
    draft.joint = entry.joint
    what = f"职责清单：{entry.label()} → 主办{draft.lead.short}"
    if draft.co:
        what += "，协办" + "、".join(d.short for d in draft.co)
    draft.reasons.append(what)
    if draft.joint:
        draft.reasons.append("一哨联办：各协办单位分别签收、答复，全部答复后方可办结")


def _keyword_departments(draft: _Draft, profile: CountyProfile, hit: tuple[KeywordRule, str] | None) -> None:
    """A keyword rule with its own lead takes the matter over when its category is the one chosen."""
    cat = draft.cat
    assert cat is not None
    if not (hit and hit[0].lead and hit[0].category is not None
            and hit[0].category.matches(cat.level1, cat.level2, cat.level3)):
        return
    lead, co = draft.lead, draft.co
    rule_lead = profile.department(hit[0].lead)
    if lead is None or rule_lead.id != lead.id:
        if lead is not None and all(d.id != lead.id for d in co):
            co.insert(0, lead)
        lead = rule_lead
        draft.reasons.append(f"关键词“{hit[1]}”：主办单位改为{rule_lead.short}")
    co = [d for d in co if d.id != lead.id]
    for c in hit[0].co:
        if c != lead.id and all(d.id != c for d in co):
            co.append(profile.department(c))
    draft.lead, draft.co = lead, co


def _place(draft: _Draft, profile: CountyProfile, location_town: str | None, plain: str) -> None:
    """属地: the town's unit leads (town_leads), helps, or stays out (no_town)."""
    town: Town | None = None
    found = ""
    if location_town:
        town = profile.town(location_town)
        if town is None:
            draft.reasons.append(f"地点“{location_town}”不在本县地名库中，未加属地")
        else:
            found = location_town
    else:
        located = profile.find_town_in_text(plain)
        if located:
            town, found = located
    draft.town = town
    if town is None or draft.cat is None:
        return
    tdept = profile.town_department(town.id)
    rules = profile.routing.place_rules
    lead, co = draft.lead, draft.co
    if tdept is None:
        return
    if _matches_any(rules.no_town, draft.cat):
        draft.reasons.append(f"属地：{town.name}（“{found}”），全县统一办理事项，不加属地")
    elif _matches_any(rules.town_leads, draft.cat):
        if lead is not None and lead.id != tdept.id and all(d.id != lead.id for d in co):
            co.insert(0, lead)
        draft.lead = tdept
        draft.co = [d for d in co if d.id != tdept.id]
        draft.reasons.append(f"属地主办：{town.name}（“{found}”），该类事项由镇街牵头")
    elif (lead is None or lead.id != tdept.id) and all(d.id != tdept.id for d in co):
        co.append(tdept)
        draft.reasons.append(f"属地协办：{town.name}（“{found}”）")
