"""The registry is the one place statistics and rules are declared; the docs are generated
from it (these tests fail when README.md or FORMAT.md drift from it)."""

import pathlib

import numpy as np
import pytest

from tb_archviz import registry as R

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_rule_table_is_the_generated_one():
    assert R.rules_table() in (ROOT / "README.md").read_text(encoding="utf-8"), (
        "regenerate the table: python -m tb_archviz.registry"
    )


def test_format_column_table_is_the_generated_one():
    assert R.stats_table() in (ROOT / "tb_archviz" / "FORMAT.md").read_text(encoding="utf-8"), (
        "regenerate the table: python -m tb_archviz.registry"
    )


def test_every_rule_has_a_function_label_summary_and_remedy():
    rules = R.rules()
    assert {
        "non_finite",
        "exploding_gradients",
        "vanishing_gradients",
        "dead_units",
        "saturated_activations",
        "update_ratio_high",
        "update_ratio_low",
        "no_gradient",
        "loss_plateau",
        "loss_divergence",
        "bad_input",
    } <= set(R.kinds())
    for r in rules.values():
        assert callable(r.fn) and r.label and r.summary and r.remedy, r.name


def test_declaring_a_threshold_twice_with_two_defaults_is_refused():
    with pytest.raises(ValueError, match="two defaults"):
        R.rule(
            "x",
            label="x",
            summary="x",
            remedy="x",
            thresholds=(R.Threshold("patience_x", 1.0, "a"),),
            name="_t1",
        )(lambda *a: 0)
        R.rule(
            "x",
            label="x",
            summary="x",
            remedy="x",
            thresholds=(R.Threshold("patience_x", 2.0, "b"),),
            name="_t2",
        )(lambda *a: 0)
    R.RULES.pop("_t1", None)
    R.RULES.pop("_t2", None)


def test_assemble_orders_columns_by_name_and_refuses_unknown_or_missing_ones():
    cols = R.columns("updates")
    table = R.assemble("updates", {"ratio": [0.1, 0.2], "update_norm": [1.0, 2.0]})
    assert table.shape == (2, 2)
    assert np.allclose(table[:, R.index("updates", "ratio")], [0.1, 0.2])
    assert cols == ("update_norm", "ratio")
    with pytest.raises(KeyError, match="undeclared"):
        R.assemble("updates", {"ratio": [1.0], "update_norm": [1.0], "bogus": [1.0]})
    with pytest.raises(KeyError, match="not given"):
        R.assemble("updates", {"ratio": [1.0]})
    run = R.assemble("run", {**{c: 0.0 for c in R.columns("run")}, "lr_0": 0.1}, extra=["lr_0"])
    assert run.shape == (len(R.columns("run")) + 1,)


def test_glob_columns_match_per_group_names_and_labels_come_from_the_registry():
    assert R.lookup("run", "lr_3").name == "lr_*"
    assert R.lookup("run", "nonsense") is None
    assert R.label("acts", "dead_fraction") == "dead-unit fraction"
    described = R.describe()
    assert described["grads"]["stats"]["norm"]["scale"] == "log"


def test_both_plugins_serve_the_registry_vocabulary(tmp_path):
    import json

    from tensorboard.backend import application
    from tensorboard.plugins import base_plugin
    from werkzeug import test as wtest
    from werkzeug import wrappers

    from tb_archviz import reader
    from tb_archviz.plugins.architecture import ArchitecturePlugin
    from tb_archviz.plugins.timeline import TimelinePlugin

    provider = reader.open_logdir(str(tmp_path)).provider
    for cls in (TimelinePlugin, ArchitecturePlugin):
        plugin = cls(base_plugin.TBContext(data_provider=provider, logdir=str(tmp_path)))
        client = wtest.Client(
            application.TensorBoardWSGI([plugin], data_provider=provider), wrappers.Response
        )
        resp = client.get(f"/data/plugin/{plugin.plugin_name}/registry")
        assert resp.status_code == 200
        body = json.loads(resp.get_data())
        assert body["stats"]["acts"]["stats"]["dead_fraction"]["label"] == "dead-unit fraction"
        assert body["kinds"]["wrong_mode"]["label"] == "wrong mode"
