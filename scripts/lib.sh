# Shared helpers for the Minsheng scripts (sourced, not run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export RASA_TELEMETRY_ENABLED=false
export SQLALCHEMY_SILENCE_UBER_WARNING=1
export TF_CPP_MIN_LOG_LEVEL=2
export PYTHONDONTWRITEBYTECODE=1
say() { printf '\033[1;34m[minsheng]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[minsheng] %s\033[0m\n' "$*" >&2; exit 1; }
