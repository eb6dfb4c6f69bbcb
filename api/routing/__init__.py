"""智能派单: demand classifier, route suggestion and 六方联动 flags (plain Python, no HTTP)."""

from api.routing.classifier import Classifier, classify, get_classifier
from api.routing.schemas import CategoryGuess, Classification, DepartmentRef, RouteSuggestion
from api.routing.service import linkage_flags, risk_judgement, suggest_route

__all__ = [
    "CategoryGuess",
    "Classification",
    "Classifier",
    "DepartmentRef",
    "RouteSuggestion",
    "classify",
    "get_classifier",
    "linkage_flags",
    "risk_judgement",
    "suggest_route",
]
