"""Condenses Rasa's evaluation reports (var/eval/…) into the figures we track, printed as JSON.

Usage: python bench/nlu_eval.py var/eval   (make eval runs it)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEMAND_TYPES = ["complaint", "consultation", "help_request", "report", "suggestion", "praise"]


def _report(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _intent_figures(report: dict) -> dict:
    if not report:
        return {}
    per_intent = {k: round(v["f1-score"], 4) for k, v in report.items() if isinstance(v, dict) and "f1-score" in v
                  and k not in ("macro avg", "weighted avg", "micro avg")}
    demand = [per_intent[k] for k in DEMAND_TYPES if k in per_intent]
    four = [per_intent[k] for k in ("complaint", "consultation", "suggestion", "report") if k in per_intent]
    return {
        "intent_macro_f1": round(report.get("macro avg", {}).get("f1-score", 0.0), 4),
        "intent_weighted_f1": round(report.get("weighted avg", {}).get("f1-score", 0.0), 4),
        "demand_type_macro_f1": round(sum(demand) / len(demand), 4) if demand else None,
        "complaint_consultation_suggestion_report_macro_f1": round(sum(four) / len(four), 4) if four else None,
        "per_intent_f1": per_intent,
    }


def _confusions(errors_path: Path, top: int = 10) -> list[dict]:
    if not errors_path.exists():
        return []
    counts: dict[tuple[str, str], int] = {}
    for error in json.loads(errors_path.read_text()):
        pair = (error["intent"], (error.get("intent_prediction") or {}).get("name", ""))
        counts[pair] = counts.get(pair, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return [{"true": t, "predicted": p, "count": n} for (t, p), n in ranked]


def _entity_figures(directory: Path) -> dict:
    figures = {}
    for report in directory.glob("*_report.json"):
        if report.name == "intent_report.json" or report.name.startswith("response_selection"):
            continue
        data = _report(report)
        if "macro avg" in data:
            figures[report.stem.removesuffix("_report")] = {
                "macro_f1": round(data["macro avg"]["f1-score"], 4),
                "per_entity_f1": {k: round(v["f1-score"], 4) for k, v in data.items()
                                  if isinstance(v, dict) and "f1-score" in v and " avg" not in k},
            }
    return figures


def main(root: Path) -> dict:
    cv, heldout, core = root / "cv", root / "heldout", root / "core"
    story_report = _report(core / "story_report.json")
    return {
        "cross_validation": {**_intent_figures(_report(cv / "intent_report.json")),
                             "entities": _entity_figures(cv)},
        "heldout": {**_intent_figures(_report(heldout / "intent_report.json")),
                    "top_confusions": _confusions(heldout / "intent_errors.json"),
                    "entities": _entity_figures(heldout)},
        "entity_extractors": {k: v for k, v in _report(root / "entities.json").items() if k != "misses"},
        "conversation_tests": {
            "stories_total": story_report.get("conversation_accuracy", {}).get("total"),
            "stories_correct": story_report.get("conversation_accuracy", {}).get("correct"),
            "conversation_accuracy": story_report.get("conversation_accuracy", {}).get("accuracy"),
        },
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1] if len(sys.argv) > 1 else "var/eval")), ensure_ascii=False, indent=2))
