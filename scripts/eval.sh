#!/usr/bin/env bash
# make eval: every figure on three sets, reported separately — the team's own held-apart sentences,
# the hand-labelled real messages (datasets/tipdm2020, test split: never tuned on) and
# cross-validation — as JSON in bench/results/{nlu,classifier,risk}.json (raw Rasa reports in var/eval/).
source "$(dirname "$0")/lib.sh"
FOLDS="${FOLDS:-3}"
HELDOUT="${HELDOUT:-tests/rasa/heldout_nlu.yml}"
MODEL="${MODEL:-models/current.tar.gz}"
rm -rf var/eval && mkdir -p var/eval bench/results

say "NLU cross-validation ($FOLDS folds; a few minutes on two cores)"
.venv-rasa/bin/rasa test nlu --nlu data --config config.yml --cross-validation --folds "$FOLDS" \
  --out var/eval/cv --quiet
say "held-apart set ($HELDOUT, never trained on)"
.venv-rasa/bin/rasa test nlu --nlu "$HELDOUT" --model "$MODEL" --out var/eval/heldout --quiet
say "real labelled messages (datasets/tipdm2020 test split, never tuned on)"
.venv-rasa/bin/python bench/rasa_predict.py --model "$MODEL" --split test --out var/eval/real_test.json
say "conversation tests (tests/test_stories.yml)"
.venv-rasa/bin/rasa test core --stories tests/test_stories.yml --model "$MODEL" \
  --out var/eval/core --quiet || true
say "entity extractors on hand-marked messy text (tests/rasa/entity_cases.yml)"
.venv-rasa/bin/python bench/entity_eval.py --out var/eval/entities.json > /dev/null
.venv/bin/python bench/nlu_eval.py var/eval | tee bench/results/nlu.json
say "六方联动 risk judge on real text (bench/results/risk.json)"
.venv/bin/python bench/risk.py > /dev/null
say "first-level category classifier (bench/results/classifier.json)"
.venv/bin/python bench/classifier.py > /dev/null
.venv/bin/python - <<'PY'
import json
for name in ("nlu", "classifier", "risk"):
    d = json.load(open(f"bench/results/{name}.json"))
    if name == "nlu":
        for s in ("heldout", "real_test_split", "cross_validation"):
            print(f"demand type macro-F1 (投诉/咨询/建议/举报) {s:>18}: {d[s].get('complaint_consultation_suggestion_report_macro_f1')}")
    elif name == "classifier":
        print(f"level1 macro-F1 team held-apart {d['team_heldout']['level1_macro_f1']}, real test {d['real_test_split']['level1_macro_f1']}, "
              f"CV team rows {((d['cross_validation'] or {}).get('team_rows') or {}).get('level1_macro_f1')}, "
              f"CV real rows {((d['cross_validation'] or {}).get('real_rows') or {}).get('level1_macro_f1')}")
    else:
        t = d["real_test_split"]
        print(f"risk recall (real test) {t['risk_recall']}, flag rate per partner on unlabelled {d['unlabelled_real_messages']['flag_rate']}")
PY
