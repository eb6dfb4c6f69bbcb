"""First-level category classifier figures, each set reported separately:

- `team_heldout`: the team's own held-apart sentences (api/routing/data/heldout.tsv), never trained on;
- `real_test_split`: the hand-labelled real messages (datasets/tipdm2020, split test, never tuned on);
- `cross_validation`: 5 folds over the training pool (team train.tsv + the real TRAIN split), scored
  separately on the team rows and on the real rows of each held-out fold;
- `linkage`: the 六方联动 flag rate of each partner on the unlabelled real messages (county.risk).

Per-class precision/recall/F1, top confusions, per-message latency on real (long) messages.
Writes bench/results/classifier.json.

    .venv/bin/python bench/classifier.py [--no-cv]
    .venv/bin/python bench/classifier.py --code var/baseline --out var/eval-baseline/classifier.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from county.tipdm import labelled  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "classifier.json"


def classifier_module(code: Path | None) -> ModuleType:
    """api.routing.classifier of this tree, or of another checkout (--code) for a baseline."""
    if code is not None:
        sys.path.insert(0, str(code.resolve()))
        for name in [m for m in sys.modules if m == "api" or m.startswith("api.")]:
            del sys.modules[name]
    return importlib.import_module("api.routing.classifier")


def per_class(truth: list[str], predicted: list[str]) -> dict[str, dict]:
    out = {}
    for lab in sorted(set(truth)):
        tp = sum(t == lab and p == lab for t, p in zip(truth, predicted, strict=True))
        n_pred, n_true = predicted.count(lab), truth.count(lab)
        prec, rec = (tp / n_pred if n_pred else 0.0), tp / n_true
        out[lab] = {"precision": round(prec, 4), "recall": round(rec, 4),
                    "f1": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0, "support": n_true}
    return out


def figures(truth: list[str], predicted: list[str]) -> dict:
    classes = per_class(truth, predicted)
    confusions = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p).most_common(10)
    return {
        "messages": len(truth),
        "level1_macro_f1": round(statistics.mean(c["f1"] for c in classes.values()), 4),
        "level1_accuracy": round(sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth), 4),
        "per_class": classes,
        "top_confusions": [{"true": t, "predicted": p, "count": n} for (t, p), n in confusions],
    }


def training_pool(mod: ModuleType) -> list:
    """What the classifier trains on: the module's own choice (team data, plus real TRAIN rows if it uses them)."""
    if hasattr(mod, "training_examples"):
        return mod.training_examples()
    return mod.load_examples(mod.TRAIN_PATH)


def cross_validate(mod: ModuleType, pool: list, words: list[str], folds: int = 5) -> dict:
    """Stratified folds over the pool; the held-out rows are scored separately by origin (team / real)."""
    from sklearn.model_selection import StratifiedKFold

    real_texts = {r.text for r in labelled(split="train")}
    y = [e.level1 for e in pool]
    truth: dict[str, list[str]] = {"team": [], "real": []}
    pred: dict[str, list[str]] = {"team": [], "real": []}
    for tr, te in StratifiedKFold(n_splits=folds, shuffle=True, random_state=12345).split(y, y):
        clf = mod.Classifier(user_words=words).fit([pool[i] for i in tr])
        for i in te:
            origin = "real" if pool[i].text in real_texts else "team"
            truth[origin].append(pool[i].level1)
            pred[origin].append(clf.classify(pool[i].text).level1 or "")
    return {"folds": folds, **{f"{k}_rows": figures(truth[k], pred[k]) for k in truth if truth[k]}}


def linkage_rates() -> dict:
    from bench.risk import split_figures
    from county.risk import judge
    from county.tipdm import PARTNERS, unlabelled

    texts = unlabelled()
    flags = [judge(t).partners for t in texts]
    test = split_figures(labelled(split="test"), lambda t: judge(t).partners)
    return {
        "unlabelled_real_messages": len(texts),
        "flag_rate_on_unlabelled": {p: round(sum(p in f for f in flags) / len(texts), 4) for p in PARTNERS},
        "real_test_split": {k: test[k] for k in ("risk_recall", "risk_queue_rate_on_ordinary")}
        | {p: v for p, v in test["per_partner"].items()},
        "details": "bench/results/risk.json",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-cv", action="store_true", help="skip the 5-fold cross-validation")
    ap.add_argument("--code", type=Path, help="evaluate another checkout's classifier (e.g. var/baseline)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    mod = classifier_module(args.code)
    words = mod.gazetteer_words()
    pool = training_pool(mod)
    t0 = time.perf_counter()
    clf = mod.Classifier(user_words=words).fit(pool)
    train_s = time.perf_counter() - t0
    heldout = mod.load_examples(mod.HELDOUT_PATH)
    real = labelled(split="test")
    latencies = []
    real_pred = []
    for r in real:
        t1 = time.perf_counter()
        real_pred.append(clf.classify(r.text).level1 or "")
        latencies.append((time.perf_counter() - t1) * 1000)
    out = {
        "code": str(args.code or "this tree"),
        "data": {
            "training_examples": len(pool),
            "of_which_real_train_split": sum(1 for e in pool if e.text in {r.text for r in labelled(split="train")}),
            "team_heldout_examples": len(heldout),
            "real_test_examples": len(real),
        },
        "team_heldout": figures([e.level1 for e in heldout], [clf.classify(e.text).level1 or "" for e in heldout]),
        "real_test_split": figures([r.level1 for r in real], real_pred),
        "cross_validation": None if args.no_cv else cross_validate(mod, pool, words),
        "linkage": linkage_rates() if args.code is None else None,
        "train_seconds": round(train_s, 2),
        "latency_ms_real_messages": {
            "mean": round(statistics.mean(latencies), 2),
            "p95": round(sorted(latencies)[int(0.95 * len(latencies))], 2),
            "max": round(max(latencies), 2),
        },
    }
    target = args.out or (RESULTS if args.code is None else None)
    if target:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
