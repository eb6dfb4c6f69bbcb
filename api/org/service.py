"""Keeps the departments and leaders tables in step with the county profile."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.org.models import Department, Leader
from api.org.profile import OrgProfile


def sync_from_profile(*, db_session: Session, profile: OrgProfile) -> dict[str, int]:
    """Upsert every leader and department; deactivate those the county removed."""
    leaders = {x.id: x for x in db_session.scalars(select(Leader))}
    for spec in profile.leaders.values():
        row = leaders.get(spec.id) or Leader(id=spec.id)
        row.name, row.title, row.portfolio, row.active = spec.name, spec.title, list(spec.portfolio), True
        db_session.add(row)
    for leader_id, row in leaders.items():
        if leader_id not in profile.leaders:
            row.active = False
    departments = {x.id: x for x in db_session.scalars(select(Department))}
    for spec in profile.departments.values():
        row = departments.get(spec.id) or Department(id=spec.id)
        row.code, row.name, row.short, row.kind = spec.code, spec.name, spec.short, spec.kind
        row.leader_id, row.town, row.duties, row.active = spec.leader, spec.town, spec.duties, True
        db_session.add(row)
    for dept_id, row in departments.items():
        if dept_id not in profile.departments:
            row.active = False
    db_session.commit()
    return {"leaders": len(profile.leaders), "departments": len(profile.departments)}


def get_department(*, db_session: Session, department_id: str) -> Department | None:
    return db_session.get(Department, department_id)


def resolve_department(*, db_session: Session, ref: str) -> Department | None:
    """Accept an id, a short name, a full name or a dispatch code (dispatchers type any of them)."""
    row = db_session.get(Department, ref)
    if row is not None:
        return row
    return db_session.scalar(
        select(Department).where((Department.short == ref) | (Department.name == ref) | (Department.code == ref))
    )


def list_departments(*, db_session: Session, include_inactive: bool = False) -> list[Department]:
    query = select(Department).order_by(Department.kind, Department.code)
    if not include_inactive:
        query = query.where(Department.active.is_(True))
    return list(db_session.scalars(query))


def list_leaders(*, db_session: Session) -> list[Leader]:
    return list(db_session.scalars(select(Leader).where(Leader.active.is_(True)).order_by(Leader.id)))
