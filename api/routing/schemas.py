"""Result types of the routing service (pydantic, so the API can return them as they are)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CategoryGuess(BaseModel):
    level1: str
    level2: str | None = None
    level3: str | None = None
    confidence: float = Field(ge=0.0, le=1.0)


class Classification(BaseModel):
    """Classifier output. level2/level3 are None when the model is not confident at that depth."""

    level1: str | None
    level2: str | None = None
    level3: str | None = None
    confidence: float = Field(ge=0.0, le=1.0, description="probability of level1")
    alternatives: list[CategoryGuess] = Field(default_factory=list, description="next-best level1 guesses")


class DepartmentRef(BaseModel):
    id: str
    name: str
    short: str
    kind: str


class RouteSuggestion(BaseModel):
    category: CategoryGuess | None
    lead_department: DepartmentRef | None
    co_departments: list[DepartmentRef] = Field(default_factory=list)
    joint: bool = Field(default=False, description="一哨联办: every co-department signs and replies for its part")
    town: str | None = Field(default=None, description="gazetteer town id the matter is located in")
    grid: str | None = Field(default=None, description="网格 id when a village/community is named")
    confidence: float = Field(ge=0.0, le=1.0)
    needs_dispatcher: bool
    linkage: list[str] = Field(default_factory=list, description="六方联动 partner ids flagged")
    reasons: list[str] = Field(default_factory=list)
