#!/usr/bin/env bash
# The reader side's lower bounds in setup.py, tested: a separate venv with tensorboard and
# numpy at the oldest versions setup.py claims runs the torch-free unit tests (about a minute).
# The bounds are read from setup.py, so the claim and this job cannot drift apart.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${OLDEST_VENV:-${TMPDIR:-/tmp}/tb_archviz_oldest}
quiet=(-q --disable-pip-version-check)

read -r tb np < <($PY - <<'PYEOF'
import re
text = open("setup.py", encoding="utf-8").read()
print(*(re.search(rf'"{name}>=([^",<]+)"', text).group(1) for name in ("tensorboard", "numpy")))
PYEOF
)
echo "oldest claimed versions: tensorboard==$tb numpy==$np (python $($PY -V 2>&1))"
rm -rf "$VENV"
$PY -m venv "$VENV"
# six: tensorboard 2.14's vendored html5lib imports it without tensorboard declaring it.
"$VENV/bin/python" -m pip install "${quiet[@]}" "tensorboard==$tb" "numpy==$np" six \
  pytest pytest-timeout hypothesis werkzeug
# Unit tests that need neither torch nor node nor a browser; the package is imported from
# the source tree (the repository root is the working directory).
"$VENV/bin/python" -m pytest -q -p no:cacheprovider \
  tests/test_format.py tests/test_record.py tests/test_registry.py tests/test_rules.py \
  tests/test_detectors.py \
  tests/test_sink_pyramid.py tests/test_reader_robust.py tests/test_plugin_architecture.py \
  tests/test_plugin_timeline.py
"$VENV/bin/python" -c "import torch" 2>/dev/null && { echo "torch leaked into the venv"; exit 1; }
rm -rf "$VENV"
