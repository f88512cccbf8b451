#!/usr/bin/env bash
# The README's screenshots, made from the demo logdir so that they show what the demo makes:
# runs the headless-Chromium walkthrough (tests/e2e/walkthrough.mjs) against a real
# tensorboard and copies its screenshots into docs/. Usage: scripts/screenshots.sh [LOGDIR]
# (default archviz_demo/, made by scripts/demo.sh first if it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
logdir="${1:-archviz_demo}"
if [ ! -d "$logdir" ]; then
  "${PYTHON:-python3}" -m tb_archviz demo "$logdir"
fi
exec "${PYTHON:-python3}" -m tests.e2e.walkthrough "$logdir" docs
