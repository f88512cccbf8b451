#!/usr/bin/env bash
# The test command on a fresh machine: install everything, then run the whole suite
# (unit, Trainer integration, plugin routes on both data providers, front-end unit tests,
# headless-Chromium end-to-end tests). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export ARCHVIZ_REQUIRE_BROWSER=1  # never skip the browser tests here
exec python3 -m pytest "$@"
