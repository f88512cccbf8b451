#!/usr/bin/env bash
# The main job on a fresh machine: install, train the demo runs with the callback, print the
# tensorboard command. Usage: scripts/demo.sh [LOGDIR]
# Create and activate a virtual environment first (README, "The two commands").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [[ -z "${VIRTUAL_ENV:-}" && -z "${CONDA_PREFIX:-}" ]]; then
  echo "note: no virtual environment is active; installing into $($PY -c 'import sys; print(sys.prefix)')" \
       "(see README: python3 -m venv .venv && . .venv/bin/activate)"
fi
echo "[1/2] installing tb_archviz, torch (CPU) and Lightning (quiet; a few minutes the first time)..."
t0=$SECONDS
bash scripts/setup.sh
echo "      installed in $((SECONDS - t0))s"
echo "[2/2] training the demo runs (progress per run: step of total, seconds)..."
exec "$PY" -m tb_archviz demo "${1:-archviz_demo}"
