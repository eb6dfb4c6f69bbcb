"""DemandTypeEnsemble: a linear character-n-gram model beside DIET for the six demand types.

DIET learns the demand type from word and character counts through a small network; on real
written messages (long, several asks, addressed to leaders) it leans to `complaint`. A TF-IDF
character 1–3-gram logistic regression, trained inside `rasa train` on the same demand examples
(plus each one as an ASR transcript would arrive, without punctuation) and stored in the model
archive, generalises better to such text. Put it after DIETClassifier and before
FallbackClassifier; it only re-ranks the demand types when DIET's top intent is one of them, so
dialogue intents (affirm, deny, intake answers, off-script) are DIET's alone.

Confidence: the demand types share DIET's total demand mass in proportion to the blend
`weight·p(LR) + (1−weight)·p(DIET | demand)`. A long message (≥ `long_chars`) that DIET calls a
demand is one — its mass is 1, so `nlu_fallback` does not swallow a written letter only because
DIET spread its belief over two demand types.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.demand_text import ask_text, spoken

__all__ = ["DEMAND_TYPES", "DemandTypeEnsemble"]

logger = logging.getLogger(__name__)

DEMAND_TYPES = ("complaint", "consultation", "suggestion", "report", "help_request", "praise")
_MODEL_FILE = "demand_type_lr.joblib"


def fit_demand_model(texts: list[str], labels: list[str], *, c: float = 10.0, max_ngram: int = 3) -> Any:
    """TF-IDF character n-grams + class-balanced logistic regression over the ask text."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    asks = [ask_text(t) for t in texts]
    # every example also as the recogniser would deliver it (no punctuation): the voice channel
    x = asks + [spoken(a) for a in asks]
    y = list(labels) * 2
    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, max_ngram), sublinear_tf=True),
        LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=0),
    )
    return model.fit(x, y)


def blend_ranking(ranking: list[dict], probabilities: dict[str, float], *, text_chars: int,
                  weight: float, long_chars: int) -> list[dict] | None:
    """The intent ranking with the demand types re-weighted, or None when DIET's top is no demand type."""
    ranked = [r for r in ranking if r.get("name") != "nlu_fallback"]
    if not ranked or ranked[0]["name"] not in DEMAND_TYPES:
        return None
    diet = {r["name"]: float(r["confidence"]) for r in ranked if r["name"] in DEMAND_TYPES}
    mass = sum(diet.values()) or 1.0
    if text_chars >= long_chars:
        mass = 1.0
    blended = {name: weight * probabilities.get(name, 0.0) + (1 - weight) * diet.get(name, 0.0) / (sum(diet.values()) or 1.0)
               for name in set(diet) | set(probabilities)}
    others = [r for r in ranked if r["name"] not in DEMAND_TYPES]
    demand = [{"name": n, "confidence": p * mass} for n, p in blended.items()]
    return sorted(demand + others, key=lambda r: -r["confidence"])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class DemandTypeEnsemble(GraphComponent, IntentClassifier):
    """Character-n-gram logistic regression ensembled with DIET for the demand types."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"weight": 0.6, "long_chars": 30, "C": 10.0, "max_ngram": 3}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 model: Any = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> DemandTypeEnsemble:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        import joblib

        examples = [m for m in training_data.intent_examples if m.get(INTENT) in DEMAND_TYPES and m.get(TEXT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            logger.warning("DemandTypeEnsemble: fewer than two demand types in the training data; not trained")
            return self._resource
        self._model = fit_demand_model([m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples],
                                       c=float(self._config["C"]), max_ngram=int(self._config["max_ngram"]))
        with self._storage.write_to(self._resource) as directory:
            joblib.dump(self._model, directory / _MODEL_FILE)
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> DemandTypeEnsemble:
        import joblib

        model = None
        try:
            with model_storage.read_from(resource) as directory:
                model = joblib.load(directory / _MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("DemandTypeEnsemble: no trained model in the archive; DIET decides alone")
        return cls(config, model_storage, resource, model)

    def probabilities(self, text: str) -> dict[str, float]:
        row = self._model.predict_proba([ask_text(text)])[0]
        return {str(name): float(p) for name, p in zip(self._model.classes_, row, strict=True)}

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None:
            return messages
        for message in messages:
            text = message.get(TEXT)
            if not text or text.startswith("/"):
                continue  # button payloads are intents already
            ranking = blend_ranking(message.get(INTENT_RANKING_KEY) or [], self.probabilities(text),
                                    text_chars=len(text), weight=float(self._config["weight"]),
                                    long_chars=int(self._config["long_chars"]))
            if ranking is None:
                continue
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
