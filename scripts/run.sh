#!/usr/bin/env bash
# make run: installs what is missing, trains if needed, then starts the API (8000), Rasa (5005,
# token) and the action server (5055, shared secret), all on 127.0.0.1, plus the voice gateway when a
# Vosk model is present. It runs in development mode (dev secrets) unless MINSHENG_ENV says otherwise.
# Ctrl-C stops every process.
source "$(dirname "$0")/lib.sh"

bash scripts/bootstrap.sh
bash scripts/train.sh

API_PORT="${API_PORT:-8000}"
RASA_PORT="${RASA_PORT:-5005}"
ACTIONS_PORT="${ACTIONS_PORT:-5055}"
BIND="${MINSHENG_BIND_HOST:-127.0.0.1}"  # every service listens on loopback unless configured
export RASA_TELEMETRY_ENABLED=false
export MINSHENG_ENV="${MINSHENG_ENV:-development}"
if [ "$MINSHENG_ENV" = development ]; then
  say "development mode (MINSHENG_ENV=development): development secrets, loopback only — not for production"
  export MINSHENG_RASA_TOKEN="${MINSHENG_RASA_TOKEN:-dev-rasa-token}"
  export MINSHENG_SERVICE_TOKEN="${MINSHENG_SERVICE_TOKEN:-dev-service-token}"
  export MINSHENG_ACTIONS_TOKEN="${MINSHENG_ACTIONS_TOKEN:-dev-actions-token}"
else
  for name in MINSHENG_RASA_TOKEN MINSHENG_SERVICE_TOKEN MINSHENG_ACTIONS_TOKEN MINSHENG_SECRET_KEY; do
    [ -n "${!name:-}" ] || die "MINSHENG_ENV=$MINSHENG_ENV: $name must be set (no defaults outside development)"
  done
fi
export MINSHENG_RASA_URL="${MINSHENG_RASA_URL:-http://127.0.0.1:$RASA_PORT}"
export MINSHENG_API_URL="${MINSHENG_API_URL:-http://127.0.0.1:$API_PORT}"
export ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}"
mkdir -p var/log

pids=()
stop() {
  trap - INT TERM EXIT
  say "stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  say "stopped"
  exit 0
}
trap stop INT TERM EXIT

start() {  # start NAME COMMAND...
  local name="$1"; shift
  "$@" > "var/log/$name.log" 2>&1 &
  pids+=("$!")
  say "$name started (pid $!, log var/log/$name.log)"
}

# Redis only when configured (MINSHENG_REDIS_URL=redis://127.0.0.1:6379/0, for several API
# instances): started here unless one already answers on that port. Nothing is persisted.
if [ -n "${MINSHENG_REDIS_URL:-}" ]; then
  redis_port="$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).port or 6379)' "$MINSHENG_REDIS_URL")"
  if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
    say "Redis already answers on $redis_port"
  else
    start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no
    for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
fi

start actions .venv-rasa/bin/python -m actions.server --interface "$BIND" --port "$ACTIONS_PORT" --actions actions
start rasa .venv-rasa/bin/rasa run --enable-api --interface "$BIND" --port "$RASA_PORT" \
  --auth-token "$MINSHENG_RASA_TOKEN" --model models/current.tar.gz \
  --endpoints endpoints.yml --credentials credentials.yml
start api .venv/bin/uvicorn api.main:app --host "${API_HOST:-$BIND}" --port "$API_PORT"

if .venv/bin/python -c "from telephony.asr import resolve_model_path; resolve_model_path()" >/dev/null 2>&1; then
  start gateway .venv/bin/python -m telephony
  # Satisfaction follow-up calls (SIP 5070; MINSHENG_CALLBACK_DIAL_URI says where to dial out)
  start callbacks .venv/bin/python -m telephony.callback_worker
else
  say "voice gateway not started: no Vosk model (run 'make models'); chat works without it"
fi

wait_for() {  # wait_for NAME URL
  for _ in $(seq 1 180); do
    curl -fsS -o /dev/null "$2" 2>/dev/null && return 0
    sleep 1
  done
  die "$1 did not come up; see var/log/$1.log"
}
wait_for actions "http://127.0.0.1:$ACTIONS_PORT/health"
wait_for rasa "http://127.0.0.1:$RASA_PORT/status?token=$MINSHENG_RASA_TOKEN"
wait_for api "http://127.0.0.1:$API_PORT/health"

say "ready. Chat page: http://127.0.0.1:$API_PORT/chat   API docs: http://127.0.0.1:$API_PORT/docs"
say "Ctrl-C stops everything."
wait -n "${pids[@]}" || true
say "a service exited; see var/log/"
