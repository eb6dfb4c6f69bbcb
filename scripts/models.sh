#!/usr/bin/env bash
# `make models`: download the Vosk Chinese speech model for the voice gateway into models/vosk/.
#
#   MODEL=small (default)  vosk-model-small-cn-0.22  ~42 MB, dynamic graph (phrase lists work), ~300 MB RAM
#   MODEL=large            vosk-model-cn-0.22        ~1.3 GB, better accuracy, static graph, ~4-8 GB RAM
#   MODEL_ZIP=/path.zip    install from a zip fetched elsewhere (machines without internet)
#   MODEL_SHA256=<hex>     pin the archive's hash (the gateway operator's copy of it)
#   VOSK_MODELS_URL        mirror to download from (default: the official alphacephei.com address)
#   MODELS_DIR             where to unpack (default models/vosk, where the gateway looks)
#
# Verification: the archive must have a plausible size, pass a full zip CRC test, match
# MODEL_SHA256 when given (otherwise the hash seen on first download is recorded next to the
# model and enforced on every later download), and unpack to a Kaldi model layout.
set -euo pipefail

cd "$(dirname "$0")/.."
MODEL="${MODEL:-small}"
case "$MODEL" in
  small) NAME=vosk-model-small-cn-0.22; MIN_MB=30; MAX_MB=80 ;;
  large) NAME=vosk-model-cn-0.22; MIN_MB=1000; MAX_MB=2000 ;;
  vosk-model-*) NAME="$MODEL"; MIN_MB=10; MAX_MB=4000 ;;
  *) echo "models.sh: MODEL must be small or large (got '$MODEL')" >&2; exit 2 ;;
esac
BASE_URL="${VOSK_MODELS_URL:-https://alphacephei.com/vosk/models}"
DEST="${MODELS_DIR:-models/vosk}"
TARGET="$DEST/$NAME"
PY="$(command -v python3)"
mkdir -p "$DEST"

layout_ok() {
  [[ -f "$1/am/final.mdl" && -f "$1/conf/mfcc.conf" && -d "$1/graph" ]]
}

if layout_ok "$TARGET"; then
  echo "models.sh: $TARGET is already installed"
  exit 0
fi

ZIP="$DEST/$NAME.zip"
if [[ -n "${MODEL_ZIP:-}" ]]; then
  cp "$MODEL_ZIP" "$ZIP.part"
else
  URL="$BASE_URL/$NAME.zip"
  echo "models.sh: downloading $URL"
  if ! curl --fail --location --show-error --connect-timeout 15 --retry 2 --continue-at - \
      --output "$ZIP.part" "$URL"; then
    cat >&2 <<EOF
models.sh: could not download $URL
  This machine cannot reach the model server (no internet, a proxy, or the file moved).
  Fetch $NAME.zip on a machine that can, then run:
      make models MODEL=$MODEL MODEL_ZIP=/path/to/$NAME.zip
  or point VOSK_MODEL_PATH at an unpacked model. Chat keeps working without it;
  only the voice gateway needs the model.
EOF
    exit 1
  fi
fi

size_mb=$(( $(stat -c %s "$ZIP.part") / 1024 / 1024 ))
if (( size_mb < MIN_MB || size_mb > MAX_MB )); then
  echo "models.sh: $NAME.zip is ${size_mb} MB, expected ${MIN_MB}-${MAX_MB} MB: not the model (an error page?)" >&2
  rm -f "$ZIP.part"
  exit 1
fi

sha=$(sha256sum "$ZIP.part" | cut -d' ' -f1)
pinned="${MODEL_SHA256:-}"
if [[ -z "$pinned" && -f "$DEST/$NAME.sha256" ]]; then
  pinned=$(cut -d' ' -f1 "$DEST/$NAME.sha256")
fi
if [[ -n "$pinned" && "$sha" != "$pinned" ]]; then
  echo "models.sh: sha256 mismatch for $NAME.zip: got $sha, expected $pinned" >&2
  rm -f "$ZIP.part"
  exit 1
fi

if ! "$PY" - "$ZIP.part" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    if bad:
        sys.exit(f"corrupt member {bad}")
EOF
then
  echo "models.sh: $NAME.zip failed its CRC check" >&2
  rm -f "$ZIP.part"
  exit 1
fi

TMP=$(mktemp -d "$DEST/.unpack.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
"$PY" -m zipfile -e "$ZIP.part" "$TMP"
SRC="$TMP/$NAME"
[[ -d "$SRC" ]] || SRC=$(find "$TMP" -mindepth 1 -maxdepth 1 -type d | head -n1)
if ! layout_ok "$SRC"; then
  echo "models.sh: $NAME.zip does not contain a Vosk model (am/final.mdl, conf/mfcc.conf, graph/)" >&2
  exit 1
fi
rm -rf "$TARGET"
mv "$SRC" "$TARGET"
echo "$sha  $NAME.zip" > "$DEST/$NAME.sha256"
rm -f "$ZIP.part"
echo "models.sh: installed $TARGET (sha256 $sha)"
echo "models.sh: the gateway finds it by default; or set VOSK_MODEL_PATH=$TARGET"
