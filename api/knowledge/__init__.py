"""知识库: answers to common consultations from the county FAQ (county/<name>/faq.yml)."""

from api.knowledge.service import FaqIndex, answer, get_index

__all__ = ["FaqIndex", "answer", "get_index"]
