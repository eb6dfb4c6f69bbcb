"""The slice of the county profile the back office needs: departments, leaders, SLA, grids, taxonomy.

Built from api.county.load_profile (validated YAML in county/<name>/). Routing and linkage *rules*
are applied by api.routing; the back office needs the organisation, the clock and the grids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from api.county import CountyProfile, county_profile
from api.county import ProfileError as CountyProfileError
from api.county import clear_cache as clear_county_cache
from api.county.models import LinkagePartner, SlaPolicy


class ProfileError(ValueError):
    """The county profile is missing a file or has a value the back office cannot use."""


@dataclass(frozen=True)
class DepartmentSpec:
    id: str
    code: str
    name: str
    short: str
    kind: str
    leader: str | None
    town: str | None
    duties: str | None


@dataclass(frozen=True)
class LeaderSpec:
    id: str
    name: str
    title: str
    portfolio: tuple[str, ...]


@dataclass(frozen=True)
class Village:
    name: str
    grid: str
    town_id: str
    town_name: str


@dataclass(frozen=True)
class OrgProfile:
    departments: dict[str, DepartmentSpec]
    leaders: dict[str, LeaderSpec]
    sla: SlaPolicy
    villages: tuple[Village, ...]
    towns: dict[str, str]  # town id -> name
    town_aliases: dict[str, str] = field(default_factory=dict)  # any name/alias -> town id
    no_town: tuple[dict, ...] = ()
    partners: dict[str, LinkagePartner] = field(default_factory=dict)
    taxonomy: tuple[tuple[str, str, str], ...] = ()

    def department_by_name(self, name: str) -> DepartmentSpec | None:
        for dept in self.departments.values():
            if name in (dept.id, dept.short, dept.name, dept.code):
                return dept
        return None

    def town_department(self, town: str | None) -> DepartmentSpec | None:
        town_id = self.town_aliases.get(town or "")
        return next((d for d in self.departments.values() if d.kind == "属地" and d.town == town_id), None)


def build_org_profile(county: CountyProfile) -> OrgProfile:
    """The back office's view of the validated county profile."""
    leaders = {x.id: LeaderSpec(id=x.id, name=x.name, title=x.title, portfolio=tuple(x.portfolio)) for x in county.leaders}
    departments = {
        x.id: DepartmentSpec(id=x.id, code=x.code, name=x.name, short=x.short, kind=x.kind, leader=x.leader,
                             town=x.town, duties=x.duties or None)
        for x in county.departments
    }
    villages: list[Village] = []
    towns: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for town in county.gazetteer.towns:
        towns[town.id] = town.name
        for alias in (town.id, town.name, *town.aliases):
            aliases[alias] = town.id
        villages += [Village(name=v.name, grid=v.grid, town_id=town.id, town_name=town.name) for v in town.villages]
    return OrgProfile(
        departments=departments, leaders=leaders, sla=county.sla,
        villages=tuple(sorted(villages, key=lambda v: -len(v.name))), towns=towns, town_aliases=aliases,
        no_town=tuple(x.model_dump() for x in county.routing.place_rules.no_town),
        partners={p.id: p for p in county.linkage.partners},
        taxonomy=tuple(county.taxonomy.rows),
    )


_view: tuple[CountyProfile, OrgProfile] | None = None


def org_profile() -> OrgProfile:
    """The view of the one loaded county profile (built again only when that object changes)."""
    global _view
    try:
        county = county_profile()
    except CountyProfileError as exc:
        raise ProfileError(f"县级配置有误：{exc}") from exc
    if _view is None or _view[0] is not county:
        _view = (county, build_org_profile(county))
    return _view[1]


def clear_cache() -> None:
    global _view
    clear_county_cache()
    _view = None
