"""The reader side must import and run where torch cannot be imported.

TensorBoard often runs in an environment without torch, and an ImportError in an
entry-point module takes the whole ``tensorboard`` command down. The child processes here
install an import hook that makes ``torch`` (and Lightning, transformers) unimportable, then
load the plugin entry points and run the CLI on a logdir written by the training side.
"""

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from tb_archviz import format as fmt
from tb_archviz.callbacks import ArchVizRecorder
from tb_archviz.sink import EventWriter, SummarySink

BLOCK_TORCH = textwrap.dedent("""
    import sys
    class _NoTorch:
        BLOCKED = ("torch", "lightning", "pytorch_lightning", "transformers", "torchvision")
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.BLOCKED:
                raise ImportError(f"{name} is blocked in this test (no torch here)")
            return None
    sys.meta_path.insert(0, _NoTorch())
    try:
        import torch
    except ImportError:
        pass
    else:
        raise SystemExit("torch import was not blocked")
""")


def run_without_torch(code: str, tmp_path) -> subprocess.CompletedProcess:
    script = tmp_path / "child.py"
    script.write_text(BLOCK_TORCH + textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=str(tmp_path),
    )


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("logs")
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    rec = ArchVizRecorder(model, logdir=str(root / "archviz_run"), health=False, sentinel=False)
    rec.capture_architecture(torch.zeros(3, 4))
    rec.close()
    # A run tb_archviz never wrote: ordinary scalars only.
    writer = EventWriter(str(root / "plain_run"))
    sink = SummarySink(writer)
    for step in range(20):
        sink.scalar("train_loss", step, 1.0 / (step + 1))
    writer.close()
    return root


def test_plugin_entry_points_load_without_torch(tmp_path, logdir):
    result = run_without_torch(
        f"""
        from importlib.metadata import entry_points
        from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
        from tensorboard.plugins import base_plugin
        eps = {{ep.name: ep for ep in entry_points().select(group="tensorboard_plugins")}}
        assert {{"archviz_graph", "archviz_health"}} <= set(eps), eps
        mux = plugin_event_multiplexer.EventMultiplexer()
        mux.AddRunsFromDirectory({str(logdir)!r}); mux.Reload()
        ctx = base_plugin.TBContext(data_provider=data_provider.MultiplexerDataProvider(
            mux, {str(logdir)!r}), logdir={str(logdir)!r}, multiplexer=mux)
        names = []
        for name in ("archviz_graph", "archviz_health"):
            plugin = eps[name].load()().load(ctx)
            assert plugin.plugin_name == name, plugin.plugin_name
            assert "/static/*" in plugin.get_plugin_apps()
            names.append(plugin.plugin_name)
        import sys
        assert "torch" not in sys.modules
        print("loaded", names)
    """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "loaded ['archviz_graph', 'archviz_health']" in result.stdout


def test_cli_inspects_and_exports_without_torch(tmp_path, logdir):
    out_svg = tmp_path / "diagram.svg"
    result = run_without_torch(
        f"""
        import json, sys
        from tb_archviz.cli import main
        code = main(["inspect", {str(logdir)!r}, "--json"])
        assert code == 0, code
        code = main(["export", {str(logdir)!r}, "--run", "archviz_run", "-o", {str(out_svg)!r}])
        assert code == 0, code
        assert "torch" not in sys.modules
    """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    doc, _ = json.JSONDecoder().raw_decode(result.stdout)  # "wrote …" follows the JSON
    runs = {r["run"]: r for r in doc["runs"]}
    assert runs["archviz_run"]["architecture"]["modules"] == 4
    assert runs["archviz_run"]["architecture"]["parameters"] == 4 * 8 + 8 + 8 * 2 + 2
    assert runs["plain_run"]["architecture"] is None
    svg = out_svg.read_text()
    assert svg.lstrip().startswith(("<svg", "<?xml")) and "Linear" in svg


def test_format_constants_match_the_loader_without_importing_format():
    from tb_archviz.plugins import loader

    assert loader.GRAPH_DATA == fmt.PLUGIN_GRAPH
    assert loader.HEALTH_DATA == fmt.PLUGIN_HEALTH
