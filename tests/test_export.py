"""tb-archviz export: the tab's diagram library run in V8, to every output format."""

import json
import os
import re

import pytest

from tb_archviz import export

FIXTURE = os.path.join(
    os.path.dirname(__file__), "..", "frontend", "test", "fixtures", "tiny_resnet.json"
)


@pytest.fixture(scope="module")
def record():
    with open(FIXTURE, encoding="utf-8") as f:
        return json.load(f)


def test_svg_has_labelled_blocks_residual_adds_and_a_legend(record, tmp_path):
    out = tmp_path / "d.svg"
    export.export_architecture(record, str(out))
    svg = out.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and 'class="legend"' in svg
    assert "Conv2d 3×3, 16→16" in svg and "Linear 16→10" in svg
    assert len(re.findall(r'class="edge edge-residual"', svg)) == 2


def test_depth_one_shows_the_model_as_one_block_with_input_and_output(record):
    result = export.layout(record, depth=1)
    assert sorted(n["id"] for n in result["nodes"]) == ["input:0", "net", "output:0"]
    assert {(e["src"], e["dst"]) for e in result["edges"]} == {
        ("input:0", "net"),
        ("net", "output:0"),
    }


def test_json_holds_the_folded_graph_and_its_layout(record, tmp_path):
    out = tmp_path / "d.json"
    export.export_architecture(record, str(out), depth=2)
    doc = json.loads(out.read_text())
    ids = {n["id"] for n in doc["nodes"]}
    assert "net.blocks" in ids and not any(i.startswith("net.blocks.") for i in ids)
    assert all(n["width"] > 0 and n["height"] > 0 for n in doc["nodes"])
    assert len(doc["routes"]) == len(doc["edges"])


def test_dot_has_clusters_nodes_and_edges(record, tmp_path):
    out = tmp_path / "d.dot"
    export.export_architecture(record, str(out), depth=2)
    dot = out.read_text()
    assert dot.startswith("digraph") and "subgraph cluster_1" in dot
    assert '"net.relu" -> "net.blocks"' in dot


@pytest.mark.parametrize("ext,magic", [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_png_and_pdf_are_rendered_from_the_svg(record, tmp_path, ext, magic):
    pytest.importorskip("cairosvg")
    out = tmp_path / f"d.{ext}"
    export.export_architecture(record, str(out))
    assert out.read_bytes()[:4] == magic


@pytest.mark.parametrize("path,fmt", [("d.gif", None), ("noext", None), ("d.svg", "bmp")])
def test_unsupported_formats_raise_a_clear_value_error(record, tmp_path, path, fmt):
    with pytest.raises(ValueError, match="format"):
        export.export_architecture(record, str(tmp_path / path), fmt=fmt)


def test_a_captured_lstm_gets_its_paper_label(tmp_path):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from tb_archviz.callbacks.capture import capture_architecture
    from tests import zoo

    rec = capture_architecture(zoo.make_lstm_model(), zoo.example_tokens())
    svg = export.layout(rec)["svg"]
    assert re.search(r"LSTM \d+", svg), svg[:500]
