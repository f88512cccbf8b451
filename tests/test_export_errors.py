"""tb-archviz export, the first five minutes: a missing optional dependency is one
line naming the install command with an exit code of its own, an unknown run is said to not
exist, and PNG/PDF draw every symbol the SVG shows."""

import io
import json
import os
import re
import subprocess
import sys

import pytest

from tb_archviz import cli, export

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "frontend", "test", "fixtures")


def _record(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


def _logdir_with(record, root, run="run"):
    from tb_archviz import format as fmt
    from tb_archviz.sink import EventWriter, SummarySink

    writer = EventWriter(os.path.join(root, run))
    SummarySink(writer).json_blob(
        fmt.TAG_ARCHITECTURE, 0, record, fmt.PLUGIN_GRAPH, content={"encoding": "json+gzip"}
    )
    writer.close()
    return root


@pytest.fixture()
def logdir(tmp_path):
    return _logdir_with(_record("tiny_resnet.json"), str(tmp_path / "logs"))


@pytest.mark.parametrize("ext", ["png", "pdf"])
def test_png_export_without_cairosvg_is_one_line_with_the_install_command_and_exit_3(
    logdir, tmp_path, ext
):
    # A fresh interpreter in which `import cairosvg` fails as it does when it is not installed.
    code = (
        f"import sys; sys.modules['cairosvg'] = None\n"
        f"from tb_archviz.cli import main\n"
        f"sys.exit(main(['export', {logdir!r}, '--run', 'run', '-o', "
        f"{str(tmp_path / ('x.' + ext))!r}]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path), timeout=120
    )
    assert proc.returncode == cli.EXIT_MISSING_DEPENDENCY == 3, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("tb-archviz: error: ") and "pip install" in lines[0], lines
    assert not (tmp_path / f"x.{ext}").exists()


def test_svg_export_without_mini_racer_names_the_export_extra_and_exits_3(logdir, tmp_path):
    # mini-racer is in the [export] extra only: inspect and the tabs never need it.
    code = (
        f"import sys; sys.modules['py_mini_racer'] = None\n"
        f"from tb_archviz.cli import main\n"
        f"sys.exit(main(['export', {logdir!r}, '--run', 'run', '-o', "
        f"{str(tmp_path / 'x.svg')!r}]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path), timeout=120
    )
    assert proc.returncode == cli.EXIT_MISSING_DEPENDENCY == 3, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "tb_archviz[export]" in lines[0], proc.stderr
    assert not (tmp_path / "x.svg").exists()


def test_inspect_and_the_plugins_work_without_mini_racer(logdir, tmp_path):
    code = (
        f"import sys, json; sys.modules['py_mini_racer'] = None\n"
        f"import tb_archviz.plugins.loader, tb_archviz.plugins.architecture\n"
        f"import tb_archviz.plugins.timeline\n"
        f"from tb_archviz.cli import main\n"
        f"sys.exit(main(['inspect', {logdir!r}, '--json']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path), timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert [r["run"] for r in json.loads(proc.stdout)["runs"]] == ["run"]


def test_export_of_a_run_that_does_not_exist_says_so(logdir, tmp_path, capsys):
    assert cli.main(["export", logdir, "--run", "no_such_run", "-o", str(tmp_path / "x.svg")]) == 2
    err = capsys.readouterr().err
    assert "'no_such_run' does not exist" in err and "has no architecture" not in err, err
    assert "run" in err.split("runs with an architecture:")[1]


def test_export_of_a_run_without_an_architecture_still_says_that(tmp_path, capsys):
    from tb_archviz.sink import EventWriter, SummarySink

    root = _logdir_with(_record("tiny_resnet.json"), str(tmp_path / "logs"))
    writer = EventWriter(os.path.join(root, "scalars_only"))
    SummarySink(writer).scalar("loss", 0, 1.0)
    writer.close()
    code = cli.main(["export", root, "--run", "scalars_only", "-o", str(tmp_path / "x.svg")])
    err = capsys.readouterr().err
    assert code == 2 and "'scalars_only' has no architecture" in err, err


def _glyph_pixels(svg_text: str, scale: float = 4.0):
    """The op node's drawing (the concatenation circle) as PNG pixels, via the export path."""
    cairosvg = pytest.importorskip("cairosvg")
    from PIL import Image

    png = cairosvg.svg2png(bytestring=export.raster_ready(svg_text).encode("utf-8"), scale=scale)
    m = re.search(
        r'<g class="node kind-op[^"]*"[^>]*transform="translate\(([\d.]+),([\d.]+)\)"', svg_text
    )
    x, y = float(m.group(1)) * scale, float(m.group(2)) * scale
    img = Image.open(io.BytesIO(png)).convert("L")
    return img.crop((int(x), int(y), int(x + 20 * scale), int(y + 20 * scale))).tobytes()


def test_png_draws_the_concatenation_symbol_not_an_empty_box():
    pytest.importorskip("cairosvg")
    svg = export.layout(_record("two_tower_devices.json"))["svg"]
    assert svg.count(">‖</text>") == 1
    # U+F8FF is in no font cairo can reach: it is drawn as the empty box ("tofu"). The
    # concatenation symbol must look different from that.
    tofu = svg.replace(">‖</text>", ">\uf8ff</text>")
    assert _glyph_pixels(svg) != _glyph_pixels(tofu)


def test_raster_text_keeps_its_font_unless_it_holds_a_missing_symbol():
    svg = (
        '<svg font-family="Helvetica"><text x="1">Conv2d 3×3, 8→16</text>'
        '<text x="2" font-family="Arial">‖</text></svg>'
    )
    out = export.raster_ready(svg)
    assert '<text x="1">Conv2d 3×3, 8→16</text>' in out
    assert out.count("font-family=") == 2 and "DejaVu Sans" in out and 'Arial"' not in out
