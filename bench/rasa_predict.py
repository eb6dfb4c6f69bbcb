"""Intent of every real labelled message by a trained Rasa model, as JSON (run in .venv-rasa).

bench/nlu_eval.py turns these predictions into demand-type figures on the real test split.
Only the NLU pipeline runs (the model's graph up to the intent), so this is what the bot's
first turn sees for the same text.

    .venv-rasa/bin/python bench/rasa_predict.py --model models/current.tar.gz --split test --out var/eval/real_test.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from county.tipdm import labelled  # noqa: E402


async def predict(model: Path, texts: list[str]) -> list[dict]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        intent = parsed.get("intent") or {}
        ranking = parsed.get("intent_ranking") or []
        # nlu_fallback replaces the top intent; keep what it replaced, for the figures with the fallback off
        underlying = next((r["name"] for r in ranking if r.get("name") != "nlu_fallback"), None)
        out.append({"intent": intent.get("name"), "confidence": round(float(intent.get("confidence") or 0.0), 4),
                    "underlying": underlying,
                    # the whole ranking, so the blend with another model can be studied offline
                    "ranking": {r["name"]: round(float(r["confidence"]), 4) for r in ranking}})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "current.tar.gz")
    ap.add_argument("--split", default="test", choices=["test", "train"])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    rows = labelled(split=args.split)
    predictions = asyncio.run(predict(args.model, [r.text for r in rows]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(
        {"model": str(args.model), "split": args.split,
         "predictions": [{"id": r.id, "source": r.source, "demand_type": r.demand_type, **p}
                         for r, p in zip(rows, predictions, strict=True)]},
        ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(rows)} messages -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
