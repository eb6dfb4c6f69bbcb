"""Entity F1 of the bot's extractors (bot/components.py) on hand-marked messy text.

Runs in the Rasa environment: .venv-rasa/bin/python bench/entity_eval.py [--out FILE]
Prints JSON: precision, recall and F1 per entity type and micro over all, plus the misses.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.components import HotlineEntityExtractor  # noqa: E402

CASES = ROOT / "tests" / "rasa" / "entity_cases.yml"


def score(cases: list[dict]) -> dict:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    misses = []
    for case in cases:
        expected = Counter((kind, str(value)) for kind, value in case["entities"])
        # a phone the extractor found but judged invalid is not a phone (it asks again)
        found = Counter(
            (e["entity"], str(e["value"]))
            for e in HotlineEntityExtractor.extract(case["text"])
            if not e.get("invalid_reason")
        )
        for key in expected | found:
            hit = min(expected[key], found[key])
            tp[key[0]] += hit
            fp[key[0]] += found[key] - hit
            fn[key[0]] += expected[key] - hit
        if expected != found:
            misses.append({"text": case["text"], "expected": sorted(expected), "found": sorted(found)})

    def prf(t: int, p: int, n: int) -> dict:
        precision = t / (t + p) if t + p else 1.0
        recall = t / (t + n) if t + n else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": t + n}

    kinds = sorted(set(tp) | set(fp) | set(fn))
    return {
        "cases": len(cases),
        "micro": prf(sum(tp.values()), sum(fp.values()), sum(fn.values())),
        "per_entity": {k: prf(tp[k], fp[k], fn[k]) for k in kinds},
        "misses": misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = score(yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"])
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
