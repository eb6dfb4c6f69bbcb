"""Choose the demand-type model's settings by cross-validation on the real TRAIN split only.

Each fold trains as `rasa train` does (bot/components_demand.py): the team's demand examples from
data/nlu plus the other folds' real messages in the three styles, and scores the held-out fold's
messages as the bot receives them (the whole text). The test split is not read unless --test is
given, which scores the chosen settings once on it (never used to choose).

With --diet var/eval/real_train.json (bench/rasa_predict.py --split train --ranking on a model whose
DIET never saw the real rows) it also picks the blend weight with DIET, fold by fold.

    .venv/bin/python scripts/data/demand_cv.py                       # the grid, CV on train
    .venv/bin/python scripts/data/demand_cv.py --only C=10,tail=1,cues=1 --test
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.demand_model import fit_demand_model  # noqa: E402
from bot.demand_text import asr_style, chat_style  # noqa: E402
from county.tipdm import labelled  # noqa: E402

DEMAND_TYPES = ("complaint", "consultation", "suggestion", "report", "help_request", "praise")
FOUR = ("complaint", "consultation", "suggestion", "report")
_ENTITY = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def team_examples() -> tuple[list[str], list[str]]:
    texts, types = [], []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if block.get("intent") in DEMAND_TYPES:
                for line in str(block.get("examples") or "").splitlines():
                    line = line.strip()
                    if line.startswith("- "):
                        texts.append(_ENTITY.sub(r"\1", line[2:].strip()))
                        types.append(block["intent"])
    return texts, types


def styled_rows(rows: list) -> tuple[list[str], list[str]]:
    texts, types = [], []
    for r in rows:
        for t in dict.fromkeys([r.text, asr_style(r.text), chat_style(r.text)]):
            if t:
                texts.append(t)
                types.append(r.demand_type)
    return texts, types


def macro_four(truth: list[str], pred: list[str]) -> tuple[float, dict]:
    classes = {}
    for lab in FOUR:
        tp = sum(t == lab and p == lab for t, p in zip(truth, pred, strict=True))
        npred, ntrue = pred.count(lab), truth.count(lab)
        prec, rec = (tp / npred if npred else 0.0), (tp / ntrue if ntrue else 0.0)
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        classes[lab] = {"precision": round(prec, 3), "recall": round(rec, 3), "f1": round(f1, 3), "support": ntrue}
    return round(sum(c["f1"] for c in classes.values()) / 4, 4), classes


def folds(rows: list, k: int = 5) -> list[list[int]]:
    """Stratified by demand type, deterministic."""
    out: list[list[int]] = [[] for _ in range(k)]
    by_type: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_type.setdefault(r.demand_type, []).append(i)
    n = 0
    for t in sorted(by_type):
        for i in by_type[t]:
            out[n % k].append(i)
            n += 1
    return out


def blend(p_lr: dict[str, float], p_diet: dict[str, float], weight: float) -> str:
    mass = sum(p_diet.get(t, 0.0) for t in DEMAND_TYPES) or 1.0
    score = {t: weight * p_lr.get(t, 0.0) + (1 - weight) * p_diet.get(t, 0.0) / mass for t in DEMAND_TYPES}
    return max(score, key=score.get)


def cross_validate(rows: list, team: tuple[list[str], list[str]], settings: dict, k: int = 5) -> dict:
    truth, pred = [], []
    probabilities: dict[str, dict[str, float]] = {}
    for held in folds(rows, k):
        held_set = set(held)
        train_rows = [r for i, r in enumerate(rows) if i not in held_set]
        rx, ry = styled_rows(train_rows)
        model = fit_demand_model(team[0] + rx, team[1] + ry, **settings)
        test_rows = [rows[i] for i in held]
        for r, row in zip(test_rows, model.predict_proba([r.text for r in test_rows]), strict=True):
            p = {str(c): float(v) for c, v in zip(model.classes_, row, strict=True)}
            probabilities[r.id] = p
            truth.append(r.demand_type)
            pred.append(max(p, key=p.get))
    f1, classes = macro_four(truth, pred)
    return {"macro_f1_four": f1, "per_class": classes, "probabilities": probabilities}


def parse_only(text: str) -> dict:
    out: dict = {}
    for part in text.split(","):
        key, value = part.split("=")
        out[{"C": "c"}.get(key, key)] = float(value) if key == "C" else (int(value) if key == "max_ngram" else bool(int(value)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="one setting, e.g. C=10,tail=1,cues=1")
    ap.add_argument("--diet", type=Path, help="DIET predictions with ranking on the train split (rasa_predict.py)")
    ap.add_argument("--test", action="store_true", help="score the (single) setting once on the test split")
    args = ap.parse_args()
    rows = labelled(split="train")
    team = team_examples()
    print(f"{len(team[0])} team demand examples, {len(rows)} real train messages", file=sys.stderr)
    grid = [parse_only(args.only)] if args.only else [
        {"c": c, "tail": tail, "cues": cues} for c, tail, cues in itertools.product((10.0,), (False, True), (False, True))]
    results = []
    for settings in grid:
        r = cross_validate(rows, team, settings)
        line = {"settings": settings, "cv_macro_f1_four": r["macro_f1_four"],
                "recall": {k: v["recall"] for k, v in r["per_class"].items()}}
        if args.diet:
            diet = {p["id"]: p["ranking"] for p in json.loads(args.diet.read_text())["predictions"]}
            truth = [row.demand_type for row in rows]
            line["blend"] = {w: macro_four(truth, [blend(r["probabilities"][row.id], diet[row.id], w) for row in rows])[0]
                             for w in (0.0, 0.4, 0.6, 0.8, 0.9, 1.0)}
        results.append(line)
        print(json.dumps(line, ensure_ascii=False), flush=True)
    if args.test:
        if len(grid) != 1:
            raise SystemExit("--test scores one chosen setting: give --only")
        x, y = styled_rows(rows)
        model = fit_demand_model(team[0] + x, team[1] + y, **grid[0])
        test = labelled(split="test")
        pred = [str(p) for p in model.predict([r.text for r in test])]
        f1, classes = macro_four([r.demand_type for r in test], pred)
        print(json.dumps({"test_macro_f1_four": f1, "per_class": classes}, ensure_ascii=False))


if __name__ == "__main__":
    main()
