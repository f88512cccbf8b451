"""Runs both tabs' JavaScript unit tests (node --test) and the build check (both tabs are
built from frontend/src by frontend/build.mjs; --check fails when the committed assets in
tb_archviz/static/ and tb_archviz/js/ differ from a fresh build)."""

import json
import os
import shutil
import subprocess

import pytest

FRONTEND = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "frontend")


def _need(node_modules: bool = False):
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH")
    if node_modules and not os.path.isdir(os.path.join(FRONTEND, "node_modules", "esbuild")):
        pytest.skip("frontend/node_modules is missing (run `npm ci` in frontend/)")


def test_diagram_library_unit_tests_pass_under_node(tmp_path):
    _need()
    from tb_archviz.plugins.common import vocabulary

    # The Timeline's sentence tests run over every anomaly kind the registry has now.
    vocab = tmp_path / "vocabulary.json"
    vocab.write_text(json.dumps(vocabulary()), encoding="utf-8")
    proc = subprocess.run(
        ["node", "--test", "test/"],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, ARCHVIZ_VOCABULARY=str(vocab)),
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout


def test_committed_assets_match_a_fresh_build_of_the_sources():
    _need(node_modules=True)
    proc = subprocess.run(
        ["node", "build.mjs", "--check"], cwd=FRONTEND, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
