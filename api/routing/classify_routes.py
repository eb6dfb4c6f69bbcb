"""POST /api/v1/classify: the routing suggestion (category, departments, confidence) for a text."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth.deps import PrincipalDep
from api.org.profile import org_profile
from api.tickets import flows
from api.tickets.schemas import Category, ClassifyIn, ClassifyOut

router = APIRouter(prefix="/api/v1", tags=["routing"])


@router.post("/classify", response_model=ClassifyOut, summary="诉求分类与派单建议（不建工单）")
def classify(body: ClassifyIn, _: PrincipalDep) -> ClassifyOut:
    route = flows.suggest(text=body.text, location_town=body.location_town)
    lead = org_profile().departments.get(route.lead_department or "")
    return ClassifyOut(
        level1=route.level1, level2=route.level2, level3=route.level3,
        category=Category(level1=route.level1, level2=route.level2, level3=route.level3, confidence=route.confidence),
        lead_department=route.lead_department, lead_department_name=lead.short if lead else None,
        co_departments=route.co_departments, confidence=route.confidence, needs_dispatcher=route.needs_dispatcher,
        reasons=route.reasons, linkage=[p for p, _ in flows.linkage_for(body.text, route)],
    )
