#!/usr/bin/env bash
# Lint and format check (ruff) and type check (mypy over tb_archviz/); configuration in pyproject.toml.
# Installed by the test extras (scripts/setup.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
$PY -m ruff check .
$PY -m ruff format --check .
$PY -m mypy
# eslint over frontend/ and tests/e2e/*.mjs (config: frontend/eslint.config.mjs; installed by npm ci).
frontend/node_modules/.bin/eslint --config frontend/eslint.config.mjs frontend tests/e2e
