#!/usr/bin/env bash
# Lint (ruff) and type check (mypy over tb_archviz/); configuration in pyproject.toml.
# Installed by the test extras (scripts/setup.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
$PY -m ruff check .
$PY -m mypy
