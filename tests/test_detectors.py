"""Detector rules on hand-made statistics (numpy only, no torch)."""

import math

import numpy as np
import pytest

from tb_archviz import analysis, reader  # noqa: E402
from tb_archviz import detectors as det
from tb_archviz.sink import EventWriter, SummarySink


def _step(
    step,
    grads=None,
    weights=None,
    updates=None,
    acts=None,
    run=None,
    run_val=None,
    act_family=None,
    context=None,
    features=None,
    metrics=None,
):
    """Hand-made StepStats: ``(row names, {stat: values})`` per table kind (also used by
    tests/test_rules.py)."""
    rows, tables = {}, {}
    for kind, table in (
        ("grads", grads),
        ("weights", weights),
        ("updates", updates),
        ("acts", acts),
    ):
        if table is not None:
            names, cols = table
            rows[kind] = names
            tables[kind] = {k: np.asarray(v, float) for k, v in cols.items()}
    layer_of = {
        n: n.rsplit(".", 1)[0]
        for kind in ("grads", "weights", "updates")
        for n in rows.get(kind, [])
    }
    return det.StepStats(
        step,
        rows,
        tables,
        run or {},
        run_val,
        layer_of,
        act_family or {},
        context or {},
        features or {},
        metrics or {},
    )


def _kinds(records):
    return {(r["kind"], r["layer"], r["first_step"]) for r in records}


def test_validate_thresholds_names_the_allowed_keys():
    with pytest.raises(ValueError, match="allowed keys:.*dead_fraction"):
        det.validate_thresholds({"dead_frac": 0.2})
    with pytest.raises(ValueError, match="finite number"):
        det.validate_thresholds({"dead_fraction": float("nan")})
    assert det.validate_thresholds({"dead_fraction": 0.7})["dead_fraction"] == 0.7
    assert det.validate_thresholds(None) == det.DEFAULT_THRESHOLDS


def test_every_kind_has_a_remedy():
    assert set(det.REMEDIES) == set(det.KINDS)


def test_flat_loss_is_a_plateau_reported_from_the_first_point():
    steps = np.arange(0, 40, 2)
    records = det.scalar_anomalies("train_loss", steps, np.full(steps.size, 2.3))
    plateau = [r for r in records if r["kind"] == "loss_plateau"]
    assert len(plateau) == 1
    assert plateau[0]["tag"] == "train_loss" and plateau[0]["layer"] is None
    # reported once min points are reached; first_step is where that episode began
    assert plateau[0]["first_step"] == steps[9] and plateau[0]["last_step"] == steps[-1]
    assert "train_loss" in plateau[0]["message"] and plateau[0]["remedy"]


def test_decreasing_noisy_loss_raises_nothing():
    rng = np.random.default_rng(0)
    steps = np.arange(200)
    values = 2.3 * np.exp(-steps / 60) + 0.1 + 0.05 * rng.standard_normal(200)
    assert det.scalar_anomalies("loss", steps, values) == []


def test_loss_that_climbs_away_is_divergence_from_the_step_it_began():
    steps = np.arange(30)
    values = np.concatenate([np.linspace(2.3, 1.0, 15), np.geomspace(1.0, 1e4, 15)])
    records = det.scalar_anomalies("loss", steps, values)
    div = [r for r in records if r["kind"] == "loss_divergence"]
    assert len(div) == 1 and div[0]["severity"] == "error"
    assert 15 < div[0]["first_step"] < 25 and div[0]["last_step"] == 29


def test_nan_in_a_scalar_loss_is_non_finite_at_its_first_step():
    values = np.array([2.0, 1.9, 1.8, np.nan, np.inf, np.nan])
    records = det.scalar_anomalies("val_loss", np.arange(6) * 10, values)
    nf = [r for r in records if r["kind"] == "non_finite"]
    assert [(r["first_step"], r["last_step"], r["tag"]) for r in nf] == [(30, 50, "val_loss")]


def test_dead_units_need_patience_and_keep_their_onset_step():
    d = det.Detector()
    acts = lambda f: (
        ["net.act1", "net.act2"],  # noqa: E731
        {"dead_fraction": [f, 0.0], "saturated_fraction": [np.nan, np.nan]},
    )
    out = []
    for step, frac in zip(range(0, 20, 2), [0, 0, 0, 1, 1, 1, 1, 0, 0, 0]):
        out.append(
            d.update(
                _step(step, acts=acts(frac), act_family={"net.act1": "relu", "net.act2": "relu"})
            )
        )
    assert out[3] == [] and out[4] == []
    assert _kinds(out[5]) == {("dead_units", "net.act1", 6)}
    assert out[6][0]["last_step"] == 12 and out[6][0]["first_step"] == 6
    assert out[5][0]["severity"] == "error" and out[5][0]["value"] == 1.0
    assert out[7] == []


def test_saturated_tanh_is_reported_and_relu_is_not_checked_for_saturation():
    d = det.Detector({"patience": 1})
    rec = d.update(
        _step(
            0,
            acts=(
                ["t", "r"],
                {"dead_fraction": [np.nan, 0.2], "saturated_fraction": [0.8, np.nan]},
            ),
            act_family={"t": "tanh", "r": "relu"},
        )
    )
    assert _kinds(rec) == {("saturated_activations", "t", 0)}


def _grads(norms, present=None):
    names = ["net.fc1.weight", "net.fc2.weight"]
    return (names, {"norm": norms, "present": present or [1, 1]}), (
        names,
        {"numel": [100, 100], "trainable": [1, 1], "ndim": [2, 2], "norm": [5, 5]},
    )


def test_gradient_norm_jump_over_its_own_baseline_is_exploding():
    d = det.Detector()
    for step in range(3):
        g, w = _grads([1.0, 1.0])
        assert d.update(_step(step, grads=g, weights=w)) == []
    g, w = _grads([5e3, 1.0])
    assert _kinds(d.update(_step(3, grads=g, weights=w))) == {("exploding_gradients", "net.fc1", 3)}


def test_gradients_a_million_times_smaller_than_the_rest_vanish_but_zero_does_not():
    d = det.Detector({"patience": 1})
    g, w = _grads([1e-7, 1.0])
    assert _kinds(d.update(_step(0, grads=g, weights=w))) == {("vanishing_gradients", "net.fc1", 0)}
    d = det.Detector({"patience": 1})
    g, w = _grads([0.0, 1.0])
    assert d.update(_step(0, grads=g, weights=w)) == []


def test_missing_gradient_is_no_gradient():
    d = det.Detector({"patience": 1})
    g, w = _grads([np.nan, 1.0], present=[0, 1])
    assert _kinds(d.update(_step(0, grads=g, weights=w))) == {("no_gradient", "net.fc1", 0)}


def test_stalled_layer_among_moving_ones_is_update_ratio_low_but_all_stalled_is_not():
    g, w = _grads([1.0, 1.0])
    d = det.Detector({"patience": 1})
    up = (g[0], {"ratio": [0.0, 1e-3]})
    assert _kinds(d.update(_step(0, grads=g, weights=w, updates=up))) == {
        ("update_ratio_low", "net.fc1", 0)
    }
    d = det.Detector({"patience": 1})
    up = (g[0], {"ratio": [0.0, 0.0]})
    assert d.update(_step(0, grads=g, weights=w, updates=up)) == []
    up = (g[0], {"ratio": [2.0, 1e-3]})
    assert _kinds(d.update(_step(1, grads=g, weights=w, updates=up))) == {
        ("update_ratio_high", "net.fc1", 1)
    }


def _inp(**kw):
    base = {
        "input_count": 64,
        "input_mean": 0.0,
        "input_std": 1.0,
        "input_min": -3.0,
        "input_max": 3.0,
        "input_nonfinite": 0,
        "input_float": 1.0,
    }
    base.update(kw)
    return base


def test_nan_constant_and_unnormalized_inputs_are_bad_input():
    for run, sev in (
        (_inp(input_nonfinite=3), "error"),
        (_inp(input_min=0.5, input_max=0.5, input_std=0.0), "warning"),
        (_inp(input_min=0.0, input_max=255.0), "warning"),
    ):
        rec = det.Detector().update(_step(4, run=run))
        assert [(r["kind"], r["severity"], r["first_step"]) for r in rec] == [("bad_input", sev, 4)]
    assert det.Detector().update(_step(4, run=_inp())) == []


def test_validation_inputs_far_from_training_inputs_are_bad_input():
    d = det.Detector()
    assert d.update(_step(0, run=_inp())) == []
    rec = d.update(_step(2, run=_inp(), run_val=_inp(input_mean=10.0)))
    assert [(r["kind"], r["stat"]) for r in rec] == [("bad_input", "run_val/input_mean")]


def test_non_finite_is_located_at_the_earliest_step_then_in_forward_order():
    srcs = [
        det.NonFiniteSource(
            "grads", ["net.fc2.weight", "net.fc1.weight"], np.array([5, 5]), np.array([9, 9])
        ),
        det.NonFiniteSource(
            "acts", ["net.fc1", "net.act1", "net.fc2"], np.array([-1, 5, 5]), np.array([-1, 9, 9])
        ),
        det.NonFiniteSource("loss", ["loss"], np.array([5]), np.array([9])),
    ]
    rec = det.locate_non_finite(srcs, {"net.fc2.weight": "net.fc2"})
    assert (rec["kind"], rec["layer"], rec["first_step"], rec["last_step"]) == (
        "non_finite",
        "net.act1",
        5,
        9,
    )
    srcs[0].first = np.array([3, -1])
    rec = det.locate_non_finite(srcs, {"net.fc2.weight": "net.fc2"})
    assert (rec["layer"], rec["first_step"], rec["stat"]) == ("net.fc2", 3, "grads/nonfinite")
    assert (
        det.locate_non_finite(
            [det.NonFiniteSource("acts", ["a"], np.array([-1]), np.array([-1]))], {}
        )
        is None
    )


def test_detector_state_round_trips_without_duplicating_records():
    d = det.Detector()
    fam = {"a": "relu"}
    acts = (["a"], {"dead_fraction": [1.0]})
    for step in range(3):
        d.update(_step(step, acts=acts, act_family=fam))
    state = d.state_dict()
    d2 = det.Detector()
    d2.load_state_dict(state)
    rec = d2.update(_step(3, acts=acts, act_family=fam))
    assert [(r["first_step"], r["last_step"]) for r in rec] == [(0, 3)]


def test_analyze_run_reads_plain_loss_scalars_of_a_foreign_run(tmp_path):
    writer = EventWriter(str(tmp_path / "plain"))
    sink = SummarySink(writer)
    for step in range(0, 60, 3):
        sink.scalar("train_loss", step, 1.5)
        sink.scalar("accuracy", step, 0.1)
    writer.close()
    src = reader.open_logdir(str(tmp_path))
    records = analysis.analyze_run(src, "plain")
    assert [(r["kind"], r["tag"], r["layer"]) for r in records] == [
        ("loss_plateau", "train_loss", None)
    ]
    assert math.isclose(records[0]["threshold"], 0.01)


def test_loss_tag_matching():
    for tag in ("loss", "train_loss", "val_loss", "train/loss", "loss_epoch", "train_loss_step"):
        assert det.is_loss_tag(tag), tag
    for tag in ("lossy", "glosses", "archviz/loss", "accuracy"):
        assert not det.is_loss_tag(tag), tag


def test_a_nan_that_comes_with_the_input_batch_advises_checking_the_data():
    import numpy as np

    from tb_archviz import detectors

    sources = [
        detectors.NonFiniteSource("input", ["input"], np.array([3]), np.array([9])),
        detectors.NonFiniteSource("acts", ["net.fc1"], np.array([3]), np.array([9])),
    ]
    record = detectors.locate_non_finite(sources, {})
    assert record["layer"] is None and record["first_step"] == 3
    assert "data" in record["remedy"] and "learning rate" not in record["remedy"]
