"""Request and response bodies of the knowledge endpoint."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class KnowledgeQuery(BaseModel):
    text: str = Field(min_length=1, max_length=500, description="市民的问题，原话即可")


class KnowledgeAnswer(BaseModel):
    matched: bool
    score: float = Field(description="0–1 的相似度（最接近的一条，即使没有达到阈值）")
    threshold: float
    id: str | None = None
    question: str | None = None
    answer: str | None = None
    source: str | None = None
    updated: dt.date | None = None
