"""Pydantic models of the county profile YAML files (county/<name>/*.yml).

Each model mirrors one file; the documented schema is the comment at the top of that file.
Cross-file checks (unknown ids, categories missing from the taxonomy) live in loader.py because
a single model cannot see the other files.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Slug = str


class _Strict(BaseModel):
    # Typos in a YAML key are a classic silent failure; refuse unknown keys.
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- gazetteer.yml -----------------------------------------------------------------------


class Village(_Strict):
    name: str
    kind: Literal["村", "社区", "居委会"]
    grid: str
    groups: int | None = Field(default=None, ge=1)


class Town(_Strict):
    id: Slug
    name: str
    kind: Literal["镇", "街道", "园区"]
    aliases: list[str] = []
    villages: list[Village] = Field(min_length=1)
    roads: list[str] = []
    estates: list[str] = []
    landmarks: list[str] = []

    def place_names(self) -> list[str]:
        """Every string that locates a matter in this town, longest first (for substring search)."""
        names = [
            self.name,
            *self.aliases,
            *(v.name for v in self.villages),
            *self.roads,
            *self.estates,
            *self.landmarks,
        ]
        return sorted(set(names), key=len, reverse=True)


class CountyInfo(_Strict):
    name: str
    code: str
    aliases: list[str] = []


class Gazetteer(_Strict):
    county: CountyInfo
    towns: list[Town] = Field(min_length=1)


# ---- leaders.yml / departments.yml -------------------------------------------------------


class Leader(_Strict):
    id: Slug
    name: str
    title: str
    portfolio: list[str] = []


DepartmentKind = Literal["职能部门", "属地", "公共企业", "联动单位"]


class Department(_Strict):
    id: Slug
    code: str
    name: str
    short: str
    kind: DepartmentKind
    leader: Slug
    town: Slug | None = None
    duties: str = ""


# ---- routing.yml ----------------------------------------------------------------------------


class CategoryRef(_Strict):
    """A node of the demand taxonomy; a missing level means "any" below the given one."""

    level1: str
    level2: str | None = None
    level3: str | None = None

    @field_validator("level3")
    @classmethod
    def _level3_needs_level2(cls, v: str | None, info: object) -> str | None:
        data = getattr(info, "data", {})
        if v is not None and data.get("level2") is None:
            raise ValueError("level3 given without level2")
        return v

    @property
    def depth(self) -> int:
        return 1 + (self.level2 is not None) + (self.level3 is not None)

    def matches(self, level1: str, level2: str | None, level3: str | None) -> bool:
        if self.level1 != level1:
            return False
        if self.level2 is not None and self.level2 != level2:
            return False
        return self.level3 is None or self.level3 == level3

    def label(self) -> str:
        return "/".join(x for x in (self.level1, self.level2, self.level3) if x)


class MatrixEntry(CategoryRef):
    lead: Slug
    co: list[Slug] = []
    joint: bool = False  # 一哨联办: each co-department signs and replies for its own part


class PlaceRules(_Strict):
    town_leads: list[CategoryRef] = []
    no_town: list[CategoryRef] = []


class KeywordRule(_Strict):
    id: Slug
    keywords: list[str] = Field(min_length=1)
    category: CategoryRef | None = None
    lead: Slug | None = None
    co: list[Slug] = []


class DispatcherConfig(_Strict):
    min_confidence: float = Field(ge=0.0, le=1.0)


class RoutingConfig(_Strict):
    dispatcher: DispatcherConfig
    matrix: list[MatrixEntry] = Field(min_length=1)
    place_rules: PlaceRules = PlaceRules()
    keyword_rules: list[KeywordRule] = []


# ---- sla.yml --------------------------------------------------------------------------------

Urgency = Literal["普通", "紧急", "特急"]
DemandType = Literal["complaint", "consultation", "help_request", "report", "suggestion", "praise"]


class UrgencySla(_Strict):
    sign_in_hours: float = Field(gt=0)


class Deadline(_Strict):
    reply_days: float = Field(gt=0)
    complete_days: float = Field(gt=0)


class Extension(_Strict):
    max_days: int = Field(ge=0)
    max_requests: int = Field(ge=0)


class SlaPolicy(_Strict):
    warn_before_hours: float = Field(ge=0)
    urgencies: dict[Urgency, UrgencySla]
    deadlines: dict[DemandType, dict[Urgency, Deadline]]
    extension: Extension

    @field_validator("urgencies")
    @classmethod
    def _all_urgencies(cls, v: dict[str, UrgencySla]) -> dict[str, UrgencySla]:
        missing = {"普通", "紧急", "特急"} - set(v)
        if missing:
            raise ValueError(f"urgencies missing: {sorted(missing)}")
        return v

    @field_validator("deadlines")
    @classmethod
    def _complete_table(cls, v: dict[str, dict[str, Deadline]]) -> dict[str, dict[str, Deadline]]:
        missing_types = {"complaint", "consultation", "help_request", "report", "suggestion", "praise"} - set(v)
        if missing_types:
            raise ValueError(f"deadlines missing demand types: {sorted(missing_types)}")
        for kind, row in v.items():
            missing = {"普通", "紧急", "特急"} - set(row)
            if missing:
                raise ValueError(f"deadlines.{kind} missing urgencies: {sorted(missing)}")
            for urgency, d in row.items():
                if d.reply_days > d.complete_days:
                    raise ValueError(f"deadlines.{kind}.{urgency}: reply_days after complete_days")
        return v

    def deadline(self, demand_type: DemandType, urgency: Urgency = "普通") -> Deadline:
        return self.deadlines[demand_type][urgency]

    def days(self, demand_type: str, urgency: str) -> tuple[float, float]:
        """(reply_days, complete_days); a demand type the table lacks is timed as a complaint."""
        by_urgency = self.deadlines.get(demand_type) or self.deadlines["complaint"]  # type: ignore[call-overload]
        d = by_urgency.get(urgency) or by_urgency["普通"]  # type: ignore[call-overload]
        return d.reply_days, d.complete_days

    @property
    def sign_in_hours(self) -> dict[str, float]:
        return {u: v.sign_in_hours for u, v in self.urgencies.items()}

    @property
    def extension_max_days(self) -> int:
        return self.extension.max_days

    @property
    def extension_max_requests(self) -> int:
        return self.extension.max_requests


# ---- linkage.yml ----------------------------------------------------------------------------


class LinkagePartner(_Strict):
    id: str
    name: str
    department: Slug
    urgent: bool = False
    categories: list[CategoryRef] = []


class LinkageSignal(_Strict):
    """One rule of the risk judge (county/risk.py); linkage.yml's header explains the fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    id: str
    why: str
    partners: list[str] = Field(min_length=1)
    match: str
    with_: str | None = Field(default=None, alias="with")
    unless: list[str] = []
    emergency: Literal["110", "119", "120"] | None = None
    harm: bool = False


class Linkage(_Strict):
    partners: list[LinkagePartner] = Field(min_length=1)
    emergency_priority: list[Literal["110", "119", "120"]] = ["119", "120", "110"]
    vocabulary: dict[str, str] = {}
    guards: dict[str, dict[str, str]] = {}
    signals: list[LinkageSignal] = []

    def rules(self) -> dict:
        """The rules as county.risk.RiskJudge reads them (the YAML's own shape)."""
        return self.model_dump(by_alias=True, exclude_none=True)


# ---- faq.yml --------------------------------------------------------------------------------


class FaqEntry(_Strict):
    id: Slug
    question: str
    alternatives: list[str] = []
    answer: str = Field(min_length=10)
    source: str
    updated: dt.date


class Faq(_Strict):
    faqs: list[FaqEntry] = Field(min_length=1)


# ---- taxonomy.tsv ---------------------------------------------------------------------------


class Taxonomy(_Strict):
    """The three-level demand taxonomy (一级/二级/三级分类)."""

    rows: tuple[tuple[str, str, str], ...]

    @property
    def level1(self) -> list[str]:
        return sorted({r[0] for r in self.rows})

    def has(self, level1: str, level2: str | None = None, level3: str | None = None) -> bool:
        return any(
            r[0] == level1 and (level2 is None or r[1] == level2) and (level3 is None or r[2] == level3)
            for r in self.rows
        )


# ---- the whole profile --------------------------------------------------------------------


class CountyProfile(_Strict):
    name: str
    gazetteer: Gazetteer
    leaders: list[Leader]
    departments: list[Department]
    routing: RoutingConfig
    sla: SlaPolicy
    linkage: Linkage
    faq: Faq
    taxonomy: Taxonomy

    def department(self, dept_id: str) -> Department:
        for d in self.departments:
            if d.id == dept_id:
                return d
        raise KeyError(dept_id)

    def leader(self, leader_id: str) -> Leader:
        for leader in self.leaders:
            if leader.id == leader_id:
                return leader
        raise KeyError(leader_id)

    def leader_of(self, dept_id: str) -> Leader:
        """分管领导 of a department (双交办)."""
        return self.leader(self.department(dept_id).leader)

    def town(self, key: str) -> Town | None:
        """Town by id, official name or alias (e.g. "上冈", "上冈镇", "shanggang")."""
        for t in self.gazetteer.towns:
            if key in (t.id, t.name, *t.aliases):
                return t
        return None

    def town_department(self, town_id: str) -> Department | None:
        """The 属地 unit responsible for a town."""
        for d in self.departments:
            if d.kind == "属地" and d.town == town_id:
                return d
        return None

    def find_town_in_text(self, text: str) -> tuple[Town, str] | None:
        """The town a text mentions, by the longest place name found in it (and the name found).

        Longest match first so "上冈社区" beats a shorter alias elsewhere; ties break by file order.
        """
        best: tuple[Town, str] | None = None
        for t in self.gazetteer.towns:
            for name in t.place_names():
                if len(name) >= 2 and name in text and (best is None or len(name) > len(best[1])):
                    best = (t, name)
                    break  # place_names() is longest first: the first hit is this town's best
        return best

    def grid_in_text(self, text: str) -> str | None:
        """Grid id of a village/community named in the text (网格 linkage)."""
        for t in self.gazetteer.towns:
            for v in t.villages:
                if v.name in text:
                    return v.grid
        return None
