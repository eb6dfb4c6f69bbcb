"""Custom Rasa graph components for Mandarin hotline messages.

- CountyJiebaTokenizer: Rasa's JiebaTokenizer with a user dictionary built from the county
  gazetteer at training time (and stored in the model, so serving does not need the profile).
- HotlineEntityExtractor: rule-based entities that DIET would learn poorly from a few examples:
  `phone` (every spoken/typed form, normalised), `town` and `place` (gazetteer, incl. pinyin
  homophones), `ticket_no` (JH20261127-0001, also spoken with Chinese digits).
"""

from __future__ import annotations

import logging
import shutil
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.gazetteer import TOWN, get_gazetteer
from bot.jieba_dict import build_in_tempdir
from bot.numbers import extract_ticket_numbers, find_phone_candidates, normalize_digits

__all__ = ["CountyJiebaTokenizer", "GibberishFilter", "HotlineEntityExtractor", "extract_ticket_numbers"]

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class CountyJiebaTokenizer(JiebaTokenizer):
    """JiebaTokenizer whose user dictionary comes from the county profile's gazetteer."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**JiebaTokenizer.get_default_config(), "county_dir": None}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CountyJiebaTokenizer:
        # Build the dictionary now; persist() copies it into the model storage.
        directory = config.get("dictionary_path") or str(build_in_tempdir(config.get("county_dir")))
        config = {**config, "dictionary_path": directory}
        cls._load_custom_dictionary(directory)
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CountyJiebaTokenizer:
        try:
            with model_storage.read_from(resource) as resource_directory:
                cls._load_custom_dictionary(str(resource_directory))
        except ValueError:
            # A model without a stored dictionary: rebuild it from the profile on disk.
            logger.warning("No jieba user dictionary in the model; rebuilding from the county profile")
            directory = build_in_tempdir(config.get("county_dir"))
            cls._load_custom_dictionary(str(directory))
            shutil.rmtree(directory, ignore_errors=True)
        return cls(config, model_storage, resource)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class HotlineEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Phone numbers, gazetteer places and ticket numbers, values normalised."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> HotlineEntityExtractor:
        return cls(config)

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self._config = config or {}

    def train(self, training_data: TrainingData) -> Resource:  # pragma: no cover - not trainable
        raise NotImplementedError

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            entities = self.extract(text)
            if entities:
                message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name(entities), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    @staticmethod
    def extract(text: str) -> list[dict[str, Any]]:
        entities: list[dict[str, Any]] = []
        # Offsets refer to the original text only when normalisation kept its length;
        # spoken digits change length, so the span is then the whole run in the original.
        same_length = len(normalize_digits(text)) == len(text)
        for cand in find_phone_candidates(text):
            entity = {
                "entity": "phone",
                "start": cand.start if same_length else 0,
                "end": cand.end if same_length else len(text),
                "value": cand.value or cand.digits,
                "confidence_entity": 1.0 if cand.value else 0.5,
            }
            if cand.error:
                entity["invalid_reason"] = cand.error
            entities.append(entity)
        for mention in get_gazetteer().find(text):
            entities.append(
                {
                    "entity": "town" if mention.place.kind == TOWN else "place",
                    "start": mention.start,
                    "end": mention.end,
                    "value": mention.place.town if mention.place.kind == TOWN else mention.place.name,
                    "role": None if mention.place.kind == TOWN else mention.place.kind,
                    "confidence_entity": 1.0 if mention.exact else 0.8,
                }
            )
        for ticket in extract_ticket_numbers(text):
            entities.append(
                {
                    "entity": "ticket_no",
                    "start": ticket["start"] if same_length else 0,
                    "end": ticket["end"] if same_length else len(text),
                    "value": ticket["value"],
                    "confidence_entity": 1.0,
                }
            )
        for e in entities:
            if e.get("role") is None:
                e.pop("role", None)
        return entities


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class GibberishFilter(GraphComponent):
    """Keyboard mashing, emoji and lone symbols become `nlu_fallback`, whatever DIET guessed.

    DIET always picks some intent, often confidently, for "asdfgh" or "😀😀"; the citizen
    should get a polite re-prompt instead. Put it after FallbackClassifier.
    """

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GibberishFilter:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        from bot.parsing import is_gibberish

        for message in messages:
            text = message.get(TEXT)
            if text is None or text.startswith("/"):
                continue  # button payloads are intents already
            if is_gibberish(text):
                intent = {"name": "nlu_fallback", "confidence": 1.0}
                message.set("intent", intent, add_to_output=True)
                ranking = message.get("intent_ranking") or []
                message.set("intent_ranking", [intent, *ranking], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
