#!/usr/bin/env bash
# Installs what Minsheng needs on a fresh machine: Debian packages, the Python 3.11 environment
# (.venv: API, telephony, tests) and the Python 3.10 environment (.venv-rasa: Rasa 3.6, actions).
# Re-running is cheap: each step is skipped when already done for the same requirements.
source "$(dirname "$0")/lib.sh"

DEBIAN_PACKAGES=(baresip kamailio kamailio-tls-modules sip-tester espeak-ng sox curl chromium fonts-wqy-microhei postgresql libsndfile1 redis-server)

install_debian_packages() {
  command -v dpkg >/dev/null || { say "not a Debian system: install ${DEBIAN_PACKAGES[*]} yourself"; return; }
  local missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null
  # The services are started by the tests and scripts themselves, on their own ports.
  for svc in kamailio postgresql redis-server; do
    $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || $sudo service "$svc" stop >/dev/null 2>&1 || true
  done
}

find_python() {  # find_python 3.10 → path of a working interpreter of that version
  local want="$1" candidates=()
  candidates+=("$(command -v "python$want" 2>/dev/null || true)")
  if command -v pyenv >/dev/null 2>&1; then
    for dir in "$(pyenv root)"/versions/"$want"*; do candidates+=("$dir/bin/python$want"); done
  fi
  for dir in "$HOME"/.pyenv/versions/"$want"*; do candidates+=("$dir/bin/python$want"); done
  if command -v uv >/dev/null 2>&1; then candidates+=("$(uv python find "$want" 2>/dev/null || true)"); fi
  candidates+=("/usr/bin/python$want" "/usr/local/bin/python$want")
  for candidate in "${candidates[@]}"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    if "$candidate" -c "import sys, venv; assert sys.version_info[:2] == tuple(map(int, '$want'.split('.')))" 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

make_venv() {  # make_venv DIR PYTHON_VERSION REQUIREMENTS_FILE
  local dir="$1" version="$2" requirements="$3" python stamp
  stamp="$(sha256sum "$requirements" | cut -c1-16)"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.minsheng-stamp" 2>/dev/null)" = "$stamp" ]; then return; fi
  if [ ! -x "$dir/bin/python" ]; then
    python="$(find_python "$version")" || die "Python $version not found (looked in PATH, pyenv, uv). Install it, e.g. 'pyenv install $version' or 'uv python install $version', and run again."
    say "creating $dir with $python"
    "$python" -m venv "$dir"
  fi
  say "installing $requirements into $dir (first time: a few minutes)"
  # (grep drops pip's notes about find-links folders that exist on some machines and not others)
  "$dir/bin/python" -m pip install -q --upgrade pip 2>&1 | { grep -v "is ignored: it is neither" || true; } >&2
  if ! "$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements" 2>&1 \
      | { grep -v "is ignored: it is neither" || true; } >&2; then
    die "pip could not install $requirements into $dir (see the messages above)"
  fi
  echo "$stamp" > "$dir/.minsheng-stamp"
}

install_debian_packages
make_venv .venv 3.11 requirements/api.txt
make_venv .venv-rasa 3.10 requirements/rasa.txt
