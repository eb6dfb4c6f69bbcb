"""The extractors' entity F1 on the hand-marked set (the figure `make eval` reports)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("entity_eval", ROOT / "bench" / "entity_eval.py")
entity_eval = importlib.util.module_from_spec(spec)
spec.loader.exec_module(entity_eval)


def test_entity_f1_on_messy_text() -> None:
    cases = yaml.safe_load((ROOT / "tests" / "rasa" / "entity_cases.yml").read_text(encoding="utf-8"))["cases"]
    result = entity_eval.score(cases)
    assert result["micro"]["f1"] >= 0.95, result["misses"]
    for kind in ("phone", "town", "place", "ticket_no"):
        assert result["per_entity"][kind]["support"] > 0


def test_scoring_counts_a_wrong_value_as_a_miss() -> None:
    result = entity_eval.score([{"text": "电话13812345678", "entities": [["phone", "13900000000"]]}])
    assert result["micro"]["precision"] == 0.0 and result["micro"]["recall"] == 0.0
