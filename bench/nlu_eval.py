"""Condenses Rasa's evaluation reports (var/eval/…) into the figures we track, printed as JSON.

Three sets, reported separately, never pooled:
- `heldout`: the team's own held-apart sentences (tests/rasa/heldout_nlu.yml), never trained on;
- `real_test_split`: the hand-labelled real messages of datasets/tipdm2020 (split test, never tuned
  on), predicted by bench/rasa_predict.py: demand type per docs/labelling.md;
- `cross_validation`: Rasa's k-fold cross-validation over the training data.

Usage: python bench/nlu_eval.py var/eval   (make eval runs it)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEMAND_TYPES = ["complaint", "consultation", "help_request", "report", "suggestion", "praise"]
FOUR = ("complaint", "consultation", "suggestion", "report")


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
        # precision/recall of the demand types, as on the real split
        "demand_per_class": {k: {"precision": round(report[k]["precision"], 4), "recall": round(report[k]["recall"], 4),
                                 "f1": round(report[k]["f1-score"], 4), "support": report[k]["support"]}
                             for k in DEMAND_TYPES if isinstance(report.get(k), dict)},
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


def per_class(truth: list[str], predicted: list[str], labels: list[str]) -> dict[str, dict]:
    out = {}
    for lab in labels:
        tp = sum(t == lab and p == lab for t, p in zip(truth, predicted, strict=True))
        n_pred = sum(p == lab for p in predicted)
        n_true = sum(t == lab for t in truth)
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_true if n_true else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[lab] = {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4), "support": n_true}
    return out


def demand_figures(truth: list[str], predicted: list[str]) -> dict:
    """Demand-type figures: macro-F1 over the four the issue tracks and over all six, per class P/R."""
    classes = per_class(truth, predicted, DEMAND_TYPES)
    present = [k for k in DEMAND_TYPES if classes[k]["support"]]
    confusions: dict[tuple[str, str], int] = {}
    for t, p in zip(truth, predicted, strict=True):
        if t != p:
            confusions[(t, p)] = confusions.get((t, p), 0) + 1
    return {
        "messages": len(truth),
        "complaint_consultation_suggestion_report_macro_f1": round(sum(classes[k]["f1"] for k in FOUR) / 4, 4),
        "demand_type_macro_f1": round(sum(classes[k]["f1"] for k in present) / len(present), 4) if present else None,
        "accuracy": round(sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth), 4) if truth else None,
        "per_class": classes,
        "top_confusions": [{"true": t, "predicted": p, "count": n}
                           for (t, p), n in sorted(confusions.items(), key=lambda kv: -kv[1])[:10]],
    }


def real_split_figures(path: Path) -> dict:
    """Figures on real labelled messages from bench/rasa_predict.py's predictions."""
    if not path.exists():
        return {}
    rows = json.loads(path.read_text())["predictions"]
    truth = [r["demand_type"] for r in rows]
    out = demand_figures(truth, [r["intent"] or "" for r in rows])
    out["nlu_fallback"] = sum(r["intent"] == "nlu_fallback" for r in rows)
    out["non_demand_intent"] = sum(r["intent"] not in DEMAND_TYPES and r["intent"] != "nlu_fallback" for r in rows)
    # what the classifier underneath chose, as if the fallback threshold were 0
    under = demand_figures(truth, [r["underlying"] or "" for r in rows])
    out["without_fallback_macro_f1_four"] = under["complaint_consultation_suggestion_report_macro_f1"]
    out["examples_wrong"] = [{"id": r["id"], "true": r["demand_type"], "predicted": r["intent"]}
                             for r in rows if r["intent"] != r["demand_type"]][:12]
    return out


def labelling_agreement() -> list[dict]:
    """Cohen's κ of the double-labelled real messages (scripts/data/assemble_labels.py)."""
    import csv

    path = Path(__file__).resolve().parents[1] / "datasets" / "tipdm2020" / "agreement.tsv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def main(root: Path) -> dict:
    cv, heldout, core = root / "cv", root / "heldout", root / "core"
    story_report = _report(core / "story_report.json")
    return {
        "cross_validation": {**_intent_figures(_report(cv / "intent_report.json")),
                             "entities": _entity_figures(cv)},
        "real_test_split": real_split_figures(root / "real_test.json"),
        "heldout": {**_intent_figures(_report(heldout / "intent_report.json")),
                    "top_confusions": _confusions(heldout / "intent_errors.json"),
                    "entities": _entity_figures(heldout)},
        "entity_extractors": {k: v for k, v in _report(root / "entities.json").items() if k != "misses"},
        "labelling_agreement": labelling_agreement(),
        "conversation_tests": {
            "stories_total": story_report.get("conversation_accuracy", {}).get("total"),
            "stories_correct": story_report.get("conversation_accuracy", {}).get("correct"),
            "conversation_accuracy": story_report.get("conversation_accuracy", {}).get("accuracy"),
        },
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1] if len(sys.argv) > 1 else "var/eval")), ensure_ascii=False, indent=2))
