"""Routing classifier figures: train on train.tsv, evaluate on the held-apart heldout.tsv.

Prints JSON and writes bench/results/classifier.json:
first-level macro-F1 (held-apart and 5-fold CV on train), per-class F1, level2 accuracy,
top confusion pairs, train time, predictions per second.

Usage: .venv/bin/python bench/classifier.py [--no-cv]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.routing.classifier import (  # noqa: E402
    HELDOUT_PATH,
    LEXICON_PATH,
    TRAIN_PATH,
    Classifier,
    Example,
    data_hash,
    gazetteer_words,
    load_examples,
)

RESULTS = ROOT / "bench" / "results" / "classifier.json"
PROFILE_DIR = ROOT / "county" / "jianhu"


def lead_agreement(clf: Classifier, test: list[Example]) -> dict:
    """How often suggest_route's lead department equals the matrix lead of the true category.

    The figure that matters to a dispatcher: a wrong level2 under the right level1 still misroutes
    when the two level2 nodes have different departments. Place rules are left out (no town given).
    """
    from api.county import load_profile
    from api.routing.schemas import CategoryGuess
    from api.routing.service import matrix_entry, suggest_route

    profile = load_profile(PROFILE_DIR)
    same = auto = auto_same = 0
    for e in test:
        truth = matrix_entry(
            profile, CategoryGuess(level1=e.level1, level2=e.level2 or None, level3=e.level3 or None, confidence=1)
        )
        route = suggest_route(text=e.text, location_town=None, profile=profile, classification=clf.classify(e.text))
        ok = route.lead_department is not None and truth is not None and route.lead_department.id == truth.lead
        same += ok
        if not route.needs_dispatcher:
            auto += 1
            auto_same += ok
    return {
        "lead_department_accuracy": round(same / len(test), 4),
        "auto_dispatched_share": round(auto / len(test), 4),
        "lead_department_accuracy_auto_dispatched": round(auto_same / auto, 4) if auto else None,
    }


def evaluate(train: list[Example], test: list[Example], words: list[str]) -> tuple[dict, Classifier, float]:
    clf = Classifier(user_words=words).fit(train)
    t1 = time.perf_counter()
    preds = [clf.classify(e.text) for e in test]
    per_s = len(test) / (time.perf_counter() - t1)
    y = [e.level1 for e in test]
    p = [c.level1 or "" for c in preds]
    labels = sorted(set(y))
    per_class = f1_score(y, p, labels=labels, average=None, zero_division=0)
    l2_rows = [(e, c) for e, c in zip(test, preds, strict=True) if e.level2 and c.level1 == e.level1]
    l2_given = [(e, c) for e, c in l2_rows if c.level2]
    confusions = Counter((a, b) for a, b in zip(y, p, strict=True) if a != b).most_common(10)
    conf = np.array([c.confidence for c in preds])
    ok = np.array([a == b for a, b in zip(y, p, strict=True)])
    by_threshold = {
        f"{th:.2f}": {
            "kept": round(float((conf >= th).mean()), 3),
            "accuracy_kept": round(float(ok[conf >= th].mean()), 3) if (conf >= th).any() else None,
        }
        for th in (0.3, 0.45, 0.6)
    }
    figures = {
        "level1_macro_f1": round(float(f1_score(y, p, labels=labels, average="macro", zero_division=0)), 4),
        "level1_accuracy": round(float(accuracy_score(y, p)), 4),
        "per_class_f1": {lab: round(float(f), 4) for lab, f in zip(labels, per_class, strict=True)},
        # level2 among texts whose level1 was right: how often a level2 was given, and how often it was right
        "level2_coverage": round(len(l2_given) / len(l2_rows), 4) if l2_rows else None,
        "level2_accuracy_when_given": round(sum(e.level2 == c.level2 for e, c in l2_given) / len(l2_given), 4)
        if l2_given
        else None,
        "level2_accuracy_overall": round(
            sum(e.level2 == c.level2 for e, c in zip(test, preds, strict=True) if e.level2)
            / max(1, sum(1 for e in test if e.level2)),
            4,
        ),
        "confusions": [{"true": a, "predicted": b, "count": n} for (a, b), n in confusions],
        "confidence_thresholds": by_threshold,
    }
    return figures, clf, per_s if per_s else 0.0


def cross_validate(examples: list[Example], words: list[str], folds: int = 5) -> dict:
    y = np.array([e.level1 for e in examples])
    scores = []
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=12345)
    for tr, te in skf.split(np.zeros(len(y)), y):
        clf = Classifier(user_words=words).fit([examples[i] for i in tr])
        pred = [clf.classify(examples[i].text).level1 or "" for i in te]
        scores.append(f1_score(y[te], pred, average="macro", zero_division=0))
    return {
        "folds": folds,
        "macro_f1_mean": round(float(np.mean(scores)), 4),
        "macro_f1_std": round(float(np.std(scores)), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-cv", action="store_true", help="skip the 5-fold cross-validation")
    args = ap.parse_args()
    train = load_examples(TRAIN_PATH)
    heldout = load_examples(HELDOUT_PATH)
    words = gazetteer_words()
    figures, clf, per_s = evaluate(train, heldout, words)
    figures["routing"] = lead_agreement(clf, heldout)
    t0 = time.perf_counter()
    Classifier(user_words=words).fit(train)
    train_s = time.perf_counter() - t0  # second fit: jieba's dictionary cache is warm, as at API start-up
    out = {
        "data": {
            "train_examples": len(train),
            "heldout_examples": len(heldout),
            "train_per_level1": dict(sorted(Counter(e.level1 for e in train).items())),
            "heldout_per_level1": dict(sorted(Counter(e.level1 for e in heldout).items())),
            "data_hash": data_hash(TRAIN_PATH, LEXICON_PATH),
        },
        "heldout": figures,
        "cv_train": None if args.no_cv else cross_validate(train, words),
        "train_seconds": round(train_s, 3),
        "predictions_per_second": round(per_s, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
