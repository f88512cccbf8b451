"""The wheel ships what a TensorBoard without the source tree needs."""

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_ships_both_tabs_the_diagram_bundle_and_the_entry_points(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "-q",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("tb_archviz-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (
        "tb_archviz/static/architecture/index.js",
        "tb_archviz/static/timeline/index.js",
        "tb_archviz/js/elk.bundled.js",
        "tb_archviz/js/archviz_diagram.js",
        "tb_archviz/http_api.md",
        "tb_archviz/callbacks/callback.py",
        "tb_archviz/py.typed",
        "tb_archviz/record.py",
    ):
        assert path in names, path
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "archviz_graph = tb_archviz.plugins.loader:ArchitectureLoader" in text
    assert "archviz_health = tb_archviz.plugins.loader:TimelineLoader" in text
    assert "tb-archviz = tb_archviz.cli:main" in text
    metadata = next(n for n in names if n.endswith("METADATA"))
    meta = zipfile.ZipFile(wheel).read(metadata).decode()
    # mini-racer only in the [export] extra: inspect and the tabs do not need it.
    assert "Requires-Dist: mini-racer" in meta
    assert all("extra ==" in ln for ln in meta.splitlines() if "Requires-Dist: mini-racer" in ln)
