"""tb-archviz export --style volumes: the tab's 3-D volumes figure from Python (same layout
and drawing code, run in V8), and the CLI's --style flag."""

import json
import os
import re

import pytest

from tb_archviz import cli, export

# SmallVGG (tests/views_fixtures.py) on a 2×3×32×32 batch: input, conv1, pool1, conv2, pool2,
# the two branch convs, their concat, pool3, global pool, fc1, fc2.
VGG_DIMS = [
    "32×32×3",
    "32×32×8",
    "16×16×8",
    "16×16×16",
    "8×8×16",
    "8×8×8",
    "8×8×8",
    "8×8×16",
    "4×4×16",
    "1×1×16",
    "12",
    "10",
]


@pytest.fixture(scope="module")
def cnn_record():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from tb_archviz.callbacks import capture_architecture
    from tests.views_fixtures import SmallVGG

    torch.manual_seed(0)
    return capture_architecture(SmallVGG(), torch.randn(2, 3, 32, 32))


def _dims(svg: str):
    return re.findall(r'<text class="dims"[^>]*>([^<]*)</text>', svg)


def test_volumes_svg_has_one_box_per_feature_map_labelled_h_w_c(cnn_record, tmp_path):
    out = tmp_path / "v.svg"
    export.export_architecture(cnn_record, str(out), style="volumes")
    svg = out.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and 'class="archviz-view volumes"' in svg
    assert len(re.findall(r'<g class="volume"', svg)) == len(VGG_DIMS)
    assert _dims(svg) == VGG_DIMS
    # Each box is a front face, a top and a side; the branches are separate boxes.
    assert len(re.findall(r'<rect class="front"', svg)) == len(VGG_DIMS)
    assert 'data-id="net.branch1"' not in svg  # captured bare, not inside a LightningModule
    assert 'data-id="branch1"' in svg and 'data-id="branch3"' in svg
    assert ">SmallVGG</text>" in svg


def test_volumes_json_lists_the_boxes_and_the_edges_between_them(cnn_record, tmp_path):
    out = tmp_path / "v.json"
    export.export_architecture(cnn_record, str(out), style="volumes")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["style"] == "volumes" and [b["label"] for b in doc["boxes"]] == VGG_DIMS
    cat = next(b["id"] for b in doc["boxes"] if b["cls"] == "cat")
    assert {"src": "branch1", "dst": cat} in doc["edges"]
    assert {"src": "branch3", "dst": cat} in doc["edges"]
    assert len(doc["edges"]) == len(VGG_DIMS)  # a chain of 12 boxes, plus one for the branch


@pytest.mark.parametrize("ext,magic", [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_volumes_png_and_pdf_come_from_the_svg(cnn_record, tmp_path, ext, magic):
    pytest.importorskip("cairosvg")
    out = tmp_path / f"v.{ext}"
    export.export_architecture(cnn_record, str(out), style="volumes")
    assert out.read_bytes()[:4] == magic


def test_volumes_of_a_model_without_feature_maps_or_as_dot_is_a_clear_error(tmp_path):
    fixture = os.path.join(
        os.path.dirname(__file__), "..", "frontend", "test", "fixtures", "pipeline_devices.json"
    )
    with open(fixture, encoding="utf-8") as f:
        mlp = json.load(f)
    with pytest.raises(ValueError, match="feature maps"):
        export.export_architecture(mlp, str(tmp_path / "v.svg"), style="volumes")
    with pytest.raises(ValueError, match="no dot format"):
        export.export_architecture(mlp, str(tmp_path / "v.dot"), style="volumes")


def _logdir_with(record, root):
    from tb_archviz import format as fmt
    from tb_archviz.sink import EventWriter, SummarySink

    writer = EventWriter(os.path.join(root, "run"))
    SummarySink(writer).json_blob(
        fmt.TAG_ARCHITECTURE, 0, record, fmt.PLUGIN_GRAPH, content={"encoding": "json+gzip"}
    )
    writer.close()
    return root


def test_cli_style_volumes_writes_the_figure_and_blocks_stays_the_default(cnn_record, tmp_path):
    logdir = _logdir_with(cnn_record, str(tmp_path / "logs"))
    vol = tmp_path / "v.svg"
    blocks = tmp_path / "b.svg"
    assert cli.main(["export", logdir, "-o", str(vol), "--style", "volumes"]) == 0
    assert cli.main(["export", logdir, "-o", str(blocks)]) == 0
    assert _dims(vol.read_text(encoding="utf-8")) == VGG_DIMS
    b = blocks.read_text(encoding="utf-8")
    assert 'class="archviz-diagram"' in b and 'class="volume"' not in b


def test_cli_unknown_style_exits_2_naming_the_styles(cnn_record, tmp_path, capsys):
    logdir = _logdir_with(cnn_record, str(tmp_path / "logs"))
    out = tmp_path / "v.svg"
    assert cli.main(["export", logdir, "-o", str(out), "--style", "cubes"]) == 2
    err = capsys.readouterr().err
    assert "unknown style 'cubes'" in err and "blocks, volumes" in err
    assert not out.exists()
