"""load_profile(path) -> CountyProfile: read and cross-check a county profile folder.

Pure: no database, no settings, no network. Every problem found is reported at once (file and
item), because a county editing its YAML wants the whole list, not one error per restart.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from api.county.models import (
    CategoryRef,
    CountyProfile,
    Department,
    Faq,
    Gazetteer,
    Leader,
    Linkage,
    RoutingConfig,
    SlaPolicy,
    Taxonomy,
)
from county.risk import RiskJudge

M = TypeVar("M", bound=BaseModel)

FILES = ("gazetteer.yml", "leaders.yml", "departments.yml", "routing.yml", "sla.yml", "linkage.yml", "faq.yml")
TAXONOMY_FILE = "taxonomy.tsv"


class ProfileError(ValueError):
    """The county profile is invalid; `problems` lists every problem as "file: what"."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid county profile:\n  - " + "\n  - ".join(problems))


def _read_yaml(path: Path, problems: list[str]) -> Any:
    if not path.is_file():
        problems.append(f"{path.name}: file missing")
        return None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        problems.append(f"{path.name}: not valid YAML: {e}")
        return None


def _validate(model: type[M], data: Any, filename: str, problems: list[str]) -> M | None:
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            where = ".".join(str(p) for p in err["loc"])
            problems.append(f"{filename}: {where}: {err['msg']}")
        return None


def read_taxonomy(path: Path) -> Taxonomy:
    """Parse the three-column TSV (header level1, level2, level3)."""
    rows: list[tuple[str, str, str]] = []
    with path.open(encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.reader(f, delimiter="\t")):
            if i == 0 and row[:1] == ["level1"]:
                continue
            if len(row) != 3 or not all(c.strip() for c in row):
                raise ProfileError([f"{path.name}: line {i + 1}: expected three non-empty columns"])
            rows.append((row[0].strip(), row[1].strip(), row[2].strip()))
    return Taxonomy(rows=tuple(rows))


def _duplicates(values: Iterable[str]) -> list[str]:
    return sorted(k for k, n in Counter(values).items() if n > 1)


def _check_unique(label: str, values: Iterable[str], problems: list[str]) -> None:
    dups = _duplicates(values)
    if dups:
        problems.append(f"{label}: duplicate {', '.join(dups)}")


def load_profile(path: str | Path) -> CountyProfile:
    """Load county/<name>/ into a validated CountyProfile or raise ProfileError."""
    root = Path(path)
    if not root.is_dir():
        raise ProfileError([f"{root}: not a directory"])
    problems: list[str] = []
    raw = {name: _read_yaml(root / name, problems) for name in FILES}

    taxonomy: Taxonomy | None = None
    if (root / TAXONOMY_FILE).is_file():
        try:
            taxonomy = read_taxonomy(root / TAXONOMY_FILE)
        except ProfileError as e:
            problems.extend(e.problems)
    else:
        problems.append(f"{TAXONOMY_FILE}: file missing")

    gazetteer = _validate(Gazetteer, raw["gazetteer.yml"], "gazetteer.yml", problems)
    leaders_raw = (raw["leaders.yml"] or {}).get("leaders") if isinstance(raw["leaders.yml"], dict) else None
    leaders = _validate_list(Leader, leaders_raw, "leaders.yml", "leaders", problems)
    depts_raw = raw["departments.yml"].get("departments") if isinstance(raw["departments.yml"], dict) else None
    departments = _validate_list(Department, depts_raw, "departments.yml", "departments", problems)
    routing = _validate(RoutingConfig, raw["routing.yml"], "routing.yml", problems)
    sla = _validate(SlaPolicy, raw["sla.yml"], "sla.yml", problems)
    linkage = _validate(Linkage, raw["linkage.yml"], "linkage.yml", problems)
    faq = _validate(Faq, raw["faq.yml"], "faq.yml", problems)

    if problems:  # cross-checks on half-parsed files would only add noise
        raise ProfileError(problems)
    assert gazetteer and leaders is not None and departments is not None and routing and sla and linkage and faq
    assert taxonomy is not None

    _cross_check(gazetteer, leaders, departments, routing, linkage, faq, taxonomy, problems)
    if problems:
        raise ProfileError(problems)
    return CountyProfile(
        name=gazetteer.county.name,
        gazetteer=gazetteer,
        leaders=leaders,
        departments=departments,
        routing=routing,
        sla=sla,
        linkage=linkage,
        faq=faq,
        taxonomy=taxonomy,
    )


def _validate_list(model: type[M], items: Any, filename: str, key: str, problems: list[str]) -> list[M] | None:
    if not isinstance(items, list) or not items:
        problems.append(f"{filename}: expected a non-empty list under '{key}'")
        return None
    out: list[M] = []
    for i, item in enumerate(items):
        m = _validate(model, item, f"{filename}: {key}[{i}]", problems)
        if m is not None:
            out.append(m)
    return out


def _cross_check(
    gazetteer: Gazetteer,
    leaders: list[Leader],
    departments: list[Department],
    routing: RoutingConfig,
    linkage: Linkage,
    faq: Faq,
    taxonomy: Taxonomy,
    problems: list[str],
) -> None:
    _check_ids(gazetteer, leaders, departments, routing, linkage, faq, problems)
    _check_organisation(gazetteer, leaders, departments, problems)
    refs = _Refs({d.id for d in departments}, taxonomy, problems)
    _check_routing(routing, taxonomy, refs, problems)
    _check_linkage(linkage, refs, problems)


def _check_ids(gazetteer: Gazetteer, leaders: list[Leader], departments: list[Department], routing: RoutingConfig,
               linkage: Linkage, faq: Faq, problems: list[str]) -> None:
    """Every id, name and alias that other files refer to is unique in its own file."""
    towns = gazetteer.towns
    _check_unique("gazetteer.yml: town id", (t.id for t in towns), problems)
    _check_unique("gazetteer.yml: town name", (t.name for t in towns), problems)
    _check_unique("gazetteer.yml: town alias", (a for t in towns for a in (t.name, *t.aliases)), problems)
    _check_unique("gazetteer.yml: village name", (v.name for t in towns for v in t.villages), problems)
    _check_unique("gazetteer.yml: grid id", (v.grid for t in towns for v in t.villages), problems)
    _check_unique("leaders.yml: id", (x.id for x in leaders), problems)
    _check_unique("departments.yml: id", (d.id for d in departments), problems)
    _check_unique("departments.yml: code", (d.code for d in departments), problems)
    _check_unique("departments.yml: name", (d.name for d in departments), problems)
    _check_unique("departments.yml: short", (d.short for d in departments), problems)
    _check_unique("faq.yml: id", (f.id for f in faq.faqs), problems)
    _check_unique("faq.yml: question", (f.question for f in faq.faqs), problems)
    _check_unique("routing.yml: keyword rule id", (r.id for r in routing.keyword_rules), problems)
    _check_unique("linkage.yml: partner id", (p.id for p in linkage.partners), problems)


def _check_organisation(gazetteer: Gazetteer, leaders: list[Leader], departments: list[Department],
                        problems: list[str]) -> None:
    """Departments name known leaders; every town has exactly one 属地 unit."""
    leader_ids = {x.id for x in leaders}
    town_ids = {t.id for t in gazetteer.towns}
    for d in departments:
        if d.leader not in leader_ids:
            problems.append(f"departments.yml: {d.id}: unknown leader '{d.leader}'")
        if d.kind == "属地" and d.town not in town_ids:
            problems.append(f"departments.yml: {d.id}: 属地 unit needs a gazetteer town id, got '{d.town}'")
        if d.kind != "属地" and d.town is not None:
            problems.append(f"departments.yml: {d.id}: only 属地 units have a town")
    served = {d.town for d in departments if d.kind == "属地"}
    for t in gazetteer.towns:
        if t.id not in served:
            problems.append(f"departments.yml: no 属地 unit for town '{t.id}' ({t.name})")
    _check_unique("departments.yml: 属地 town", (d.town for d in departments if d.kind == "属地"), problems)


class _Refs:
    """Checks that a rule names a known department and a category of the taxonomy."""

    def __init__(self, dept_ids: set[str], taxonomy: Taxonomy, problems: list[str]) -> None:
        self.dept_ids, self.taxonomy, self.problems = dept_ids, taxonomy, problems

    def dept(self, where: str, dept_id: str | None) -> None:
        if dept_id is not None and dept_id not in self.dept_ids:
            self.problems.append(f"{where}: unknown department id '{dept_id}'")

    def cat(self, where: str, cat: CategoryRef) -> None:
        if not self.taxonomy.has(cat.level1, cat.level2, cat.level3):
            self.problems.append(f"{where}: category '{cat.label()}' is not in the taxonomy")


def _check_routing(routing: RoutingConfig, taxonomy: Taxonomy, refs: _Refs, problems: list[str]) -> None:
    for i, e in enumerate(routing.matrix):
        where = f"routing.yml: matrix[{i}] ({e.label()})"
        refs.cat(where, e)
        refs.dept(where, e.lead)
        for c in e.co:
            refs.dept(where, c)
        if e.lead in e.co:
            problems.append(f"{where}: lead '{e.lead}' also listed as co-department")
    _check_unique(
        "routing.yml: matrix category",
        (CategoryRef(level1=e.level1, level2=e.level2, level3=e.level3).label() for e in routing.matrix),
        problems,
    )
    # Every first-level category needs a fallback row, so any classifier output has a lead.
    fallback = {e.level1 for e in routing.matrix if e.depth == 1}
    for level1 in taxonomy.level1:
        if level1 not in fallback:
            problems.append(f"routing.yml: matrix: no level1-only row for '{level1}'")
    for section in ("town_leads", "no_town"):
        for i, c in enumerate(getattr(routing.place_rules, section)):
            refs.cat(f"routing.yml: place_rules.{section}[{i}]", c)
    for r in routing.keyword_rules:
        where = f"routing.yml: keyword_rules '{r.id}'"
        if r.category is not None:
            refs.cat(where, r.category)
        refs.dept(where, r.lead)
        for c in r.co:
            refs.dept(where, c)


def _check_linkage(linkage: Linkage, refs: _Refs, problems: list[str]) -> None:
    for p in linkage.partners:
        where = f"linkage.yml: partner '{p.id}'"
        refs.dept(where, p.department)
        for c in p.categories:
            refs.cat(where, c)
    try:  # the risk judge compiles every pattern and checks partners, guards and emergencies
        RiskJudge(linkage.rules())
    except ValueError as e:
        problems.append(f"linkage.yml: {e}")
