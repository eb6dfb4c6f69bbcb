"""Time of one Rasa turn (NLU + dialogue policies + bot reply, no action server) on ONE core.

Compares the current model with a baseline model (the budget: ≤ 1.3× the baseline's turn), on the
same messages: the team's held-apart sentences and the openings of real labelled messages. Each
message is a fresh conversation. Prints JSON; run once, the box is shared.

    .venv-rasa/bin/python bench/rasa_turn.py --baseline var/baseline/model.tar.gz
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


def messages(limit: int) -> list[str]:
    import yaml

    from county.tipdm import labelled

    heldout = yaml.safe_load((ROOT / "tests" / "rasa" / "heldout_nlu.yml").read_text(encoding="utf-8"))
    team = [line.strip()[2:] for block in heldout["nlu"] for line in block["examples"].splitlines() if line.strip()]
    real = [r.text[:160] for r in labelled(split="test")]
    return team[: limit // 2] + real[: limit // 2]


async def turn_times(model: Path, texts: list[str]) -> list[float]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    await agent.handle_text("你好", sender_id="warmup")  # first call builds graphs
    out = []
    for text in texts:
        t0 = time.perf_counter()
        await agent.handle_text(text, sender_id=uuid.uuid4().hex)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary(times: list[float]) -> dict:
    return {"turns": len(times), "median_ms": round(statistics.median(times), 1),
            "mean_ms": round(statistics.mean(times), 1), "p95_ms": round(sorted(times)[int(0.95 * len(times))], 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "current.tar.gz")
    ap.add_argument("--baseline", type=Path, help="model to compare with (e.g. var/baseline/model.tar.gz)")
    ap.add_argument("--messages", type=int, default=60)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "rasa_turn.json")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    # unconfigured, Rasa's structlog prints every tracker at debug level on each turn: that is not the turn's cost
    configure_structlog(logging.WARNING)
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the budget is stated
    texts = messages(args.messages)
    out: dict = {"core": "one (sched_setaffinity)", "messages": len(texts),
                 "current": summary(asyncio.run(turn_times(args.model, texts)))}
    if args.baseline:
        out["baseline"] = summary(asyncio.run(turn_times(args.baseline, texts)))
        out["median_ratio"] = round(out["current"]["median_ms"] / out["baseline"]["median_ms"], 3)
        out["within_budget_1_3x"] = out["median_ratio"] <= 1.3
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
