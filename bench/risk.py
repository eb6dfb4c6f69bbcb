"""六方联动 figures of the risk judge on real text: labelled test split, train split, unlabelled messages.

For each partner: precision / recall / F1 on the hand-labelled real messages (docs/labelling.md §四), its
flag rate on ordinary messages (those the labellers did not flag for it) and on the ~5,800 unlabelled
real messages. "Risk recall" counts the labelled 110/政法委 messages that reach the hub's risk queue.
Also the guide's borderline cases (the team's own sentences, tests/api/labelling_guide.yml).

    .venv/bin/python bench/risk.py                      # the judge in this tree -> bench/results/risk.json
    .venv/bin/python bench/risk.py --code var/baseline  # the same figures for another checkout's rules
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from county.tipdm import PARTNERS, LabelledMessage, labelled, unlabelled  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "risk.json"
GUIDE = ROOT / "tests" / "api" / "labelling_guide.yml"
RISK = {"110", "政法委"}


def flagger(code: Path | None) -> Callable[[str], frozenset[str]]:
    """Partner flags of a message by the linkage rules of this tree, or of another checkout (--code)."""
    if code is None:
        from county.risk import judge

        return lambda text: judge(text).partners
    sys.path.insert(0, str(code.resolve()))
    for name in [m for m in sys.modules if m == "api" or m.startswith("api.")]:
        del sys.modules[name]
    from api.county import load_profile  # the other checkout's loader and rules
    from api.routing.service import linkage_flags

    profile = load_profile(code / "county" / "jianhu")
    return lambda text: frozenset(linkage_flags(text, profile=profile))


def partner_figures(rows: list[LabelledMessage], flags: list[frozenset[str]]) -> dict:
    out = {}
    for p in PARTNERS:
        tp = sum(p in f and p in r.partners for r, f in zip(rows, flags, strict=True))
        fp = sum(p in f and p not in r.partners for r, f in zip(rows, flags, strict=True))
        fn = sum(p not in f and p in r.partners for r, f in zip(rows, flags, strict=True))
        ordinary = sum(p not in r.partners for r in rows)
        prec = tp / (tp + fp) if tp + fp else None
        rec = tp / (tp + fn) if tp + fn else None
        out[p] = {
            "support": tp + fn,
            "precision": round(prec, 3) if prec is not None else None,
            "recall": round(rec, 3) if rec is not None else None,
            "f1": round(2 * prec * rec / (prec + rec), 3) if prec and rec else (0.0 if tp + fn else None),
            "false_flag_rate_on_ordinary": round(fp / ordinary, 4) if ordinary else None,
        }
    return out


def split_figures(rows: list[LabelledMessage], flag: Callable[[str], frozenset[str]], *, misses: int = 8) -> dict:
    if not rows:
        return {"messages": 0}
    flags = [flag(r.text) for r in rows]
    risky = [(r, f) for r, f in zip(rows, flags, strict=True) if r.partners & RISK]
    quiet = [(r, f) for r, f in zip(rows, flags, strict=True) if not r.partners & RISK]
    caught = sum(bool(f & RISK) for _, f in risky)
    missed = [{"id": r.id, "labelled": sorted(r.partners), "flagged": sorted(f), "text": r.text[:90]}
              for r, f in risky if not f & RISK]
    wrong = [{"id": r.id, "labelled": sorted(r.partners), "flagged": sorted(f), "text": r.text[:90]}
             for r, f in quiet if f & RISK]
    return {
        "messages": len(rows),
        "risk_messages": len(risky),
        "risk_recall": round(caught / len(risky), 3) if risky else None,
        "risk_queue_rate_on_ordinary": round(sum(bool(f & RISK) for _, f in quiet) / len(quiet), 4) if quiet else None,
        "exact_partner_set_accuracy": round(sum(f == r.partners for r, f in zip(rows, flags, strict=True)) / len(rows), 3),
        "per_partner": partner_figures(rows, flags),
        "missed_risk_examples": missed[:misses],
        "false_risk_examples": wrong[:misses],
    }


def guide_figures(flag: Callable[[str], frozenset[str]]) -> dict:
    import yaml

    if not GUIDE.exists():
        return {}
    cases = [c for c in yaml.safe_load(GUIDE.read_text(encoding="utf-8"))["risk"]]
    ok = [c for c in cases if set(c.get("partners", [])) <= flag(c["text"]) and not set(c.get("not", [])) & flag(c["text"])]
    return {"cases": len(cases), "correct": len(ok),
            "failures": [c["text"] for c in cases if c not in ok]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--code", type=Path, help="evaluate the linkage rules of another checkout (e.g. var/baseline)")
    ap.add_argument("--out", type=Path, default=None, help=f"where to write the JSON (default {RESULTS} for this tree)")
    args = ap.parse_args()
    flag = flagger(args.code)
    ordinary = unlabelled()
    ordinary_flags = [flag(t) for t in ordinary]
    out = {
        "rules": str(args.code or "county/jianhu/linkage.yml (county.risk)"),
        "real_test_split": split_figures(labelled(split="test"), flag),
        "real_train_split": split_figures(labelled(split="train"), flag),
        "unlabelled_real_messages": {
            "messages": len(ordinary),
            "flag_rate": {p: round(sum(p in f for f in ordinary_flags) / len(ordinary), 4) for p in PARTNERS},
            "risk_queue_rate": round(sum(bool(f & RISK) for f in ordinary_flags) / len(ordinary), 4),
        },
        "team_guide_cases": guide_figures(flag),
    }
    target = args.out or (RESULTS if args.code is None else None)
    if target:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
