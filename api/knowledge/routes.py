"""POST /api/v1/knowledge/answer — public: the FAQ is public information and nothing else is read."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.knowledge import service
from api.knowledge.schemas import KnowledgeAnswer, KnowledgeQuery

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])


@router.post("/answer", response_model=KnowledgeAnswer)
async def knowledge_answer(body: KnowledgeQuery) -> KnowledgeAnswer:
    """The FAQ answer for a citizen's question, or `matched: false` when none is close enough."""
    index = await run_in_threadpool(service.get_index)  # first use builds it (jieba, TF-IDF)
    match, ok = await run_in_threadpool(service.answer, text=body.text, index=index)
    if not ok or match is None:
        return KnowledgeAnswer(matched=False, score=match.score if match else 0.0, threshold=index.threshold)
    entry = match.entry
    return KnowledgeAnswer(
        matched=True, score=match.score, threshold=index.threshold, id=entry.id, question=entry.question,
        answer=entry.answer, source=entry.source, updated=entry.updated,
    )
