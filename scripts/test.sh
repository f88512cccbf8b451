#!/usr/bin/env bash
# The test command on a fresh machine: install everything, lint and type check, the reader
# side at the oldest versions setup.py claims, then the whole suite (unit, Trainer
# integration, plugin routes on both data providers, front-end unit tests, headless-Chromium
# end-to-end tests). Extra arguments go to pytest (and skip the lint and oldest-version steps).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if [[ $# -eq 0 ]]; then      # the whole run (CI): lint and types, then the oldest versions
  bash scripts/lint.sh
  bash scripts/test_oldest.sh
fi
export ARCHVIZ_REQUIRE_BROWSER=1  # never skip the browser tests here
exec python3 -m pytest "$@"
