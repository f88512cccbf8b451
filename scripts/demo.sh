#!/usr/bin/env bash
# The main job on a fresh machine: install, train the demo runs with the callback, print the
# tensorboard command. Usage: scripts/demo.sh [LOGDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${PYTHON:-python3}" -m tb_archviz demo "${1:-archviz_demo}"
