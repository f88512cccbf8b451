#!/usr/bin/env bash
# Installs everything tb_archviz needs on a fresh machine (Python, pip, node/npm present).
#   scripts/setup.sh          the package with torch and Lightning (enough for the demo)
#   scripts/setup.sh --test   plus test extras, the front-end toolchain and Debian's chromium
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
quiet=(-q --disable-pip-version-check)

# torch first, pinned: a bare 'torch' requirement would pull a multi-GB CUDA build.
$PY -m pip install "${quiet[@]}" torch==2.13.0
if [[ "${1:-}" == "--test" ]]; then
  $PY -m pip install "${quiet[@]}" -e ".[torch,test]"
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
  # Debian's chromium for the browser tests; libcairo2 for PNG/PDF export (cairosvg).
  if [[ ! -x /usr/bin/chromium ]] || ! ldconfig -p | grep -q libcairo.so.2; then
    sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium libcairo2 >/dev/null
  fi
else
  $PY -m pip install "${quiet[@]}" -e ".[torch]"
fi
