#!/usr/bin/env bash
# make eval: NLU cross-validation, the held-apart set and the conversation tests; figures as JSON
# in bench/results/nlu.json (the raw Rasa reports stay in var/eval/).
source "$(dirname "$0")/lib.sh"
FOLDS="${FOLDS:-3}"
HELDOUT="${HELDOUT:-tests/rasa/heldout_nlu.yml}"
rm -rf var/eval && mkdir -p var/eval bench/results

say "NLU cross-validation ($FOLDS folds; a few minutes on two cores)"
.venv-rasa/bin/rasa test nlu --nlu data --config config.yml --cross-validation --folds "$FOLDS" \
  --out var/eval/cv --quiet
say "held-apart set ($HELDOUT, never trained on)"
.venv-rasa/bin/rasa test nlu --nlu "$HELDOUT" --model models/current.tar.gz --out var/eval/heldout --quiet
say "conversation tests (tests/test_stories.yml)"
.venv-rasa/bin/rasa test core --stories tests/test_stories.yml --model models/current.tar.gz \
  --out var/eval/core --quiet || true
say "entity extractors on hand-marked messy text (tests/rasa/entity_cases.yml)"
.venv-rasa/bin/python bench/entity_eval.py --out var/eval/entities.json > /dev/null
.venv/bin/python bench/nlu_eval.py var/eval | tee bench/results/nlu.json
