#!/usr/bin/env bash
# Trains the Rasa model when config.yml, domain.yml, data/, bot/, the county gazetteer or the labelled real
# messages (datasets/tipdm2020: the demand-type model learns them) changed
# since the last model (fingerprint in models/current.fingerprint). FORCE=1 retrains anyway.
source "$(dirname "$0")/lib.sh"

fingerprint() {
  { cat config.yml domain.yml datasets/tipdm2020/labels.tsv datasets/tipdm2020/messages.tsv; find data bot county/jianhu -type f \( -name '*.yml' -o -name '*.py' -o -name '*.txt' \) -print0 | sort -z | xargs -0 cat; } | sha256sum | cut -c1-32
}

mkdir -p models
current="$(fingerprint)"
if [ "${FORCE:-0}" != 1 ] && [ -f models/current.tar.gz ] && [ "$(cat models/current.fingerprint 2>/dev/null)" = "$current" ]; then
  say "Rasa model is up to date (models/current.tar.gz)"
  exit 0
fi
say "training the Rasa model (about a minute)"
if [ -f bot/prepare.py ]; then .venv-rasa/bin/python -m bot.prepare; fi
.venv-rasa/bin/rasa train --fixed-model-name current --out models --quiet
echo "$current" > models/current.fingerprint
