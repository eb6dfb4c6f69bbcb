from __future__ import annotations

from fastapi import APIRouter

from api.auth.deps import PrincipalDep
from api.core.db import SessionDep
from api.org import service

router = APIRouter(prefix="/api/v1/org", tags=["org"])


@router.get("/departments", summary="承办单位（来自县级配置 departments.yml）")
def departments(_: PrincipalDep, db_session: SessionDep) -> list[dict]:
    return [
        {"id": d.id, "code": d.code, "name": d.name, "short": d.short, "kind": d.kind, "leader_id": d.leader_id,
         "town": d.town, "duties": d.duties}
        for d in service.list_departments(db_session=db_session)
    ]


@router.get("/leaders", summary="县分管领导（来自 leaders.yml）")
def leaders(_: PrincipalDep, db_session: SessionDep) -> list[dict]:
    return [{"id": x.id, "name": x.name, "title": x.title, "portfolio": x.portfolio or []}
            for x in service.list_leaders(db_session=db_session)]
