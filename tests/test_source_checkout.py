"""Python run from the repository root with a regular (non-editable) install: the source
folder tb_archviz/ shadows the installed package and must still find tb_archviz.callbacks."""

import os
import subprocess
import sys
import sysconfig

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _from_repo_root_without_the_installed_package(code: str) -> subprocess.CompletedProcess:
    # -S: no site processing, so no editable-install finder (.pth) puts the package on the path;
    # the dependencies' folder is added by hand, the way a regular install would see them.
    purelib = sysconfig.get_paths()["purelib"]
    prelude = f"import sys; sys.path.append({purelib!r})\n"
    return subprocess.run(
        [sys.executable, "-S", "-c", prelude + code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_callback_imports_from_the_repository_root_when_the_source_tree_shadows_the_install():
    pytest.importorskip("torch")
    pytest.importorskip("lightning")
    proc = _from_repo_root_without_the_installed_package(
        "import tb_archviz\n"
        "assert tb_archviz.__file__.startswith(%r), tb_archviz.__file__\n"
        "from tb_archviz.callbacks import ArchVizCallback\n"
        "import tb_archviz.callbacks.capture as capture\n"
        "print(ArchVizCallback.__module__, capture.__name__)\n" % os.path.join(REPO, "tb_archviz")
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["tb_archviz.callbacks.callback", "tb_archviz.callbacks.capture"]


def test_the_reader_side_from_the_source_tree_still_imports_no_torch():
    proc = _from_repo_root_without_the_installed_package(
        "import sys, tb_archviz, tb_archviz.cli\nprint('torch' in sys.modules)\n"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "False"
