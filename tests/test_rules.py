"""The evidence-aware rules on hand-made statistics (numpy only, no torch).

Each test builds the evidence a real bug leaves (what the writer records) and checks the
kind, the culprit and that the advice names the cause; a healthy twin must stay quiet.
"""

import math

import numpy as np

from tb_archviz import detectors as det
from tests.test_detectors import _step


def _kinds(records, severities=("warning", "error")):
    return {(r["kind"], r["layer"]) for r in records if r["severity"] in severities}


PARAMS = ["net.conv.weight", "net.conv.bias", "net.fc.weight", "net.fc.bias", "net.out.weight"]


def _params(gnorm, wnorm=None, ratio=None, numel=(64, 8, 256, 16, 32), ndim=(4, 1, 2, 1, 2)):
    g = (PARAMS, {"norm": gnorm, "present": [1] * len(PARAMS)})
    w = (
        PARAMS,
        {
            "norm": wnorm or [1.0] * 5,
            "numel": list(numel),
            "ndim": list(ndim),
            "trainable": [1] * 5,
            "std": [0.1] * 5,
            "mean": [0.0] * 5,
        },
    )
    u = (PARAMS, {"ratio": ratio or [1e-3] * 5})
    return g, w, u


def test_bias_cancelled_by_a_following_norm_is_info_not_vanishing():
    d = det.Detector()
    out = []
    for step in range(4):
        g, w, u = _params([1.0, 1e-9, 0.5, 0.1, 0.3])
        out += d.update(_step(step, grads=g, weights=w, updates=u))
    assert _kinds(out) == set()
    info = [r for r in out if r["kind"] == "redundant_bias"]
    assert info and info[-1]["layer"] == "net.conv" and info[-1]["severity"] == "info"
    assert "bias=False" in info[-1]["remedy"]


def test_a_gradient_1000x_its_peers_from_the_first_step_is_a_layer_outlier():
    d = det.Detector()
    out = []
    for step in range(3):
        g, w, u = _params([1.0, 0.1, 2e4, 0.1, 1.5])
        out += d.update(_step(step, grads=g, weights=w, updates=u))
    assert ("layer_outlier", "net.fc") in _kinds(out)
    d = det.Detector()
    for step in range(3):
        g, w, u = _params([1.0, 0.1, 20.0, 0.1, 1.5])
        assert _kinds(d.update(_step(step, grads=g, weights=w, updates=u))) == set()


def test_learning_rate_that_reached_zero_stalls_training_and_points_at_the_scheduler():
    d = det.Detector()
    out = []
    for step in range(8):
        lr = 0.1 if step < 4 else 0.0
        ratio = [1e-3] * 5 if step < 4 else [0.0] * 5
        g, w, u = _params([1.0, 0.1, 0.5, 0.1, 0.3], ratio=ratio)
        ctx = {"optimizers": [{"class": "SGD", "groups": [{"lr": lr, "weight_decay": 0.0}]}]}
        out += d.update(_step(step * 10, grads=g, weights=w, updates=u, context=ctx))
    stalled = [r for r in out if r["kind"] == "training_stalled"]
    assert stalled and stalled[0]["first_step"] == 40
    assert "learning rate fell to 0" in stalled[0]["message"]
    assert "scheduler" in stalled[0]["remedy"]


def test_clipping_that_removes_nearly_all_the_gradient_is_named():
    d = det.Detector()
    out = []
    for step in range(8):
        ratio = [1e-3] * 5 if step < 3 else [1e-8] * 5
        g, w, u = _params([1.0, 0.1, 0.5, 0.1, 0.3], ratio=ratio)
        run = {"grad_norm_total": 50.0, "grad_norm_clipped": 50.0 if step < 3 else 1e-4}
        out += d.update(_step(step, grads=g, weights=w, updates=u, run=run))
    stalled = [r for r in out if r["kind"] == "training_stalled"]
    assert stalled and "clipping" in stalled[0]["message"]
    assert "clipping threshold" in stalled[0]["remedy"]


def test_model_in_eval_mode_during_training_is_wrong_mode_but_one_frozen_norm_is_not():
    rec = det.Detector().update(
        _step(0, context={"model_training": False, "eval_modules": [], "mode_modules": 3})
    )
    assert _kinds(rec) == {("wrong_mode", None)}
    rec = det.Detector().update(
        _step(
            0,
            context={
                "model_training": True,
                "eval_modules": ["net.bn1", "net.drop"],
                "mode_modules": 3,
            },
        )
    )
    assert _kinds(rec) == {("wrong_mode", None)} and "net.bn1" in rec[0]["message"]
    rec = det.Detector().update(
        _step(
            0, context={"model_training": True, "eval_modules": ["backbone.bn"], "mode_modules": 4}
        )
    )
    assert rec == []


def test_constant_initialization_is_symmetric_units_but_zero_init_is_not():
    w = (
        ["net.fc1.weight", "net.fc2.weight", "net.fc2.bias"],
        {
            "norm": [8.0, 0.0, 0.5],
            "std": [0.0, 0.0, 0.0],
            "mean": [0.5, 0.0, 0.1],
            "numel": [256, 64, 8],
            "ndim": [2, 2, 1],
        },
    )
    rec = det.Detector().update(_step(0, weights=w))
    assert _kinds(rec) == {("symmetric_units", "net.fc1")}
    assert "0.5" in rec[0]["message"]


def test_probabilities_into_cross_entropy_are_a_loss_output_mismatch():
    run = {"output_min": 0.01, "output_max": 0.9, "output_rowsum": 1.0, "output_logsumexp": 1.2}
    rec = det.Detector().update(_step(0, run=run, context={"loss": {"class": "CrossEntropyLoss"}}))
    assert _kinds(rec) == {("loss_output_mismatch", None)}
    assert "softmax" in rec[0]["remedy"]
    logits = {"output_min": -4.0, "output_max": 5.0, "output_rowsum": 0.3, "output_logsumexp": 5.5}
    assert (
        det.Detector().update(_step(0, run=logits, context={"loss": {"class": "CrossEntropyLoss"}}))
        == []
    )
    # logits into NLLLoss: it needs log-probabilities
    rec = det.Detector().update(_step(0, run=logits, context={"loss": {"class": "NLLLoss"}}))
    assert _kinds(rec) == {("loss_output_mismatch", None)} and "log_softmax" in rec[0]["remedy"]
    # sigmoid output into BCEWithLogitsLoss
    # sigmoid output into BCEWithLogitsLoss: only when it lasts (a fresh model's logits may
    # sit in [0, 1] for a while)
    sig = {"output_min": 0.2, "output_max": 0.7, "output_rowsum": 0.5, "output_logsumexp": 0.5}
    d = det.Detector()
    ctx = {"loss": {"class": "BCEWithLogitsLoss"}}
    assert d.update(_step(0, run=sig, context=ctx)) == []
    assert d.update(_step(1, run=sig, context=ctx)) == []
    rec = d.update(_step(2, run=sig, context=ctx))
    assert _kinds(rec) == {("loss_output_mismatch", None)} and rec[0]["first_step"] == 0


def test_fp16_weights_under_adam_are_a_precision_error_with_the_master_weights_advice():
    ctx = {
        "optimizers": [
            {"class": "Adam", "groups": [{"lr": 1e-3, "eps": 1e-8, "low_precision": True}]}
        ]
    }
    rec = det.Detector().update(_step(0, context=ctx))
    assert _kinds(rec) == {("precision", None)}
    assert "rounds to 0" in rec[0]["message"] and "16-mixed" in rec[0]["remedy"]
    ctx["optimizers"][0]["groups"][0]["low_precision"] = False
    assert det.Detector().update(_step(0, context=ctx)) == []


def test_dead_unit_in_the_output_layer_is_an_error_at_once():
    acts = (["net.act1", "net.out_act"], {"dead_fraction": [0.2, 0.1]})
    fam = {"net.act1": "relu", "net.out_act": "relu"}
    rec = det.Detector().update(
        _step(0, acts=acts, act_family=fam, context={"output_layer": "net.out_act"})
    )
    assert [(r["kind"], r["layer"], r["severity"]) for r in rec] == [
        ("dead_units", "net.out_act", "error")
    ]
    assert "never be predicted" in rec[0]["message"]


def test_validation_loss_rising_while_training_falls_is_overfitting():
    d = det.Detector()
    out = []
    val = [1.0, 0.8, 0.7, 0.75, 0.9, 1.0, 1.1, 1.2]
    for k, v in enumerate(val):
        out += d.update(
            _step(
                k * 10,
                run={"loss": 1.0 * 0.7**k},
                metrics={"val_loss": v, "train_loss": 1.0 * 0.7**k},
            )
        )
    over = [r for r in out if r["kind"] == "overfitting"]
    assert over and "best" in over[0]["message"] and "EarlyStopping" in over[0]["remedy"]
    # a healthy run: both fall
    d = det.Detector()
    for k in range(7):
        assert all(
            r["kind"] != "overfitting"
            for r in d.update(_step(k * 10, run={"loss": 0.8**k}, metrics={"val_loss": 0.85**k}))
        )


def test_training_loss_falling_while_validation_never_improves_points_at_labels():
    d = det.Detector()
    out = []
    for k in range(8):
        out += d.update(
            _step(k * 10, run={"loss": 2.3 * 0.6**k}, metrics={"val_loss": 2.31 + 0.01 * k})
        )
    over = [r for r in out if r["kind"] == "overfitting"]
    assert over and "labels" in over[-1]["remedy"]


def test_offline_overfitting_over_plain_scalars():
    steps = np.arange(0, 80, 10)
    series = {
        "train_loss": (steps, 2.0 * 0.7 ** np.arange(8)),
        "val_loss": (steps, np.array([1.0, 0.8, 0.7, 0.75, 0.9, 1.0, 1.1, 1.2])),
    }
    rec = det.scalar_overfitting(series)
    assert rec and rec[0]["kind"] == "overfitting" and rec[0]["tag"] == "val_loss"


def test_input_scale_ten_times_off_its_first_batches_and_constant_features_are_bad_input():
    base = {
        "input_count": 64,
        "input_mean": 0.0,
        "input_std": 1.0,
        "input_min": -3.0,
        "input_max": 3.0,
        "input_nonfinite": 0,
        "input_float": 1.0,
    }
    d = det.Detector()
    for step in range(3):
        assert d.update(_step(step, run=base)) == []
    rec = d.update(_step(3, run=dict(base, input_std=0.01, input_min=-0.03, input_max=0.03)))
    assert [(r["kind"], r["stat"]) for r in rec] == [("bad_input", "run/input_std")]
    d = det.Detector()
    feats = {"mean": np.zeros(4), "std": np.ones(4)}
    for step in range(3):
        assert d.update(_step(step, features=feats)) == []
    rec = d.update(_step(3, features={"mean": np.zeros(4), "std": np.array([1, 0, 1, 1.0])}))
    assert [(r["kind"], r["stat"]) for r in rec] == [("bad_input", "features/std")]
    rec = d.update(_step(4, features={"mean": np.full(4, 5.0), "std": np.ones(4)}))
    assert [(r["kind"], r["stat"]) for r in rec] == [("bad_input", "features/mean")]


def test_non_finite_names_the_layer_whose_gradient_grew_first():
    d = det.Detector()
    names = ["blocks.0.weight", "blocks.1.weight"]
    for step, (a, b) in enumerate([(1, 1), (1, 1), (1, 1), (1, 40), (1, 400)]):
        d.update(_step(step * 10, grads=(names, {"norm": [a, b], "present": [1, 1]})))
    srcs = [
        det.NonFiniteSource(
            "acts", ["blocks.0", "blocks.1"], np.array([-1, 45]), np.array([-1, 45])
        )
    ]
    rec = d.locate_non_finite(srcs, {n: n.rsplit(".", 1)[0] for n in names})
    assert rec["layer"] == "blocks.1" and rec["culprit"] == "blocks.1"
    assert "grew" in rec["message"] and "from step 30" in rec["message"]
    assert rec["first_step"] == 45


def test_a_nan_input_batch_is_also_bad_input_at_its_exact_step():
    srcs = [det.NonFiniteSource("input", ["input"], np.array([7]), np.array([7]))]
    nf = det.locate_non_finite(srcs, {})
    rec = det.input_record(nf)
    assert (rec["kind"], rec["first_step"], rec["severity"]) == ("bad_input", 7, "error")


def test_plateau_advice_names_a_zero_learning_rate():
    d = det.Detector()
    out = []
    for k in range(12):
        out += d.update(_step(k, run={"loss": 2.3, "lr_0": 0.0}))
    plateau = [r for r in out if r["kind"] == "loss_plateau"]
    assert plateau and "learning rate is 0" in plateau[0]["remedy"]


def test_every_threshold_has_a_meaning_and_every_kind_a_remedy():
    from tb_archviz import registry as R

    meanings = R.threshold_meanings()
    assert set(meanings) == set(det.DEFAULT_THRESHOLDS)
    assert all(len(m) > 10 for m in meanings.values())
    assert all(det.REMEDIES[k] for k in det.KINDS)
    assert all(math.isfinite(v) for v in det.DEFAULT_THRESHOLDS.values())


def test_a_gradient_norm_that_grows_at_every_point_while_the_loss_stays_is_never_reset():
    d = det.Detector()
    out = []
    for k, g in enumerate([0.45, 1.15, 2.35, 3.58, 6.8, 12.0, 20.0]):
        out += d.update(_step(k * 5, run={"grad_norm_total": g, "loss": 1.4 + 0.02 * (k % 2)}))
    rec = [r for r in out if r["kind"] == "gradient_accumulation"]
    assert rec and "zero_grad" in rec[0]["remedy"]
    d = det.Detector()  # growing gradients while the loss falls: early training, quiet
    for k, g in enumerate([0.45, 1.15, 2.35, 3.58, 6.8, 12.0, 20.0]):
        assert d.update(_step(k * 5, run={"grad_norm_total": g, "loss": 1.4 * 0.8**k})) == []


def test_no_gradient_anywhere_at_the_step_is_one_run_level_error():
    names = ["net.fc1.weight", "net.fc2.weight", "net.fc3.weight"]
    g = (names, {"norm": [np.nan] * 3, "present": [0, 0, 0]})
    w = (names, {"trainable": [1, 1, 1], "numel": [64] * 3, "ndim": [2] * 3})
    rec = det.Detector({"patience": 1}).update(_step(0, grads=g, weights=w))
    assert [(r["kind"], r["layer"], r["severity"]) for r in rec] == [("no_gradient", None, "error")]
    assert "zero_grad" in rec[0]["remedy"]


def test_learning_rate_at_zero_early_stalls_training_before_any_baseline():
    d = det.Detector()
    out = []
    for k, lr in enumerate([0.05, 0.02, 0.0, 0.0, 0.0]):
        ctx = {"optimizers": [{"class": "SGD", "groups": [{"lr": lr}]}]}
        out += d.update(_step(k * 5, context=ctx))
    stalled = [r for r in out if r["kind"] == "training_stalled"]
    assert stalled and stalled[0]["first_step"] == 10 and "scheduler" in stalled[0]["remedy"]


def test_weights_that_decay_away_under_weight_decay_name_it():
    d = det.Detector()
    out = []
    for k in range(8):
        w = (
            PARAMS,
            {
                "norm": [3.0 * 0.5**k] * 5,
                "ndim": [4, 1, 2, 1, 2],
                "trainable": [1] * 5,
                "numel": [64, 8, 256, 16, 32],
            },
        )
        ctx = {"optimizers": [{"class": "AdamW", "groups": [{"lr": 1e-3, "weight_decay": 50}]}]}
        out += d.update(_step(k * 5, weights=w, context=ctx))
    stalled = [r for r in out if r["kind"] == "training_stalled"]
    assert stalled and "weight_decay" in stalled[0]["remedy"]


def test_a_frozen_matrix_still_at_its_uniform_initialization_is_frozen_by_mistake():
    names = ["backbone.weight", "head.weight"]

    def weights(max_abs):
        return (
            names,
            {
                "trainable": [0, 1],
                "ndim": [2, 2],
                "numel": [1024, 128],
                "std": [0.0722, 0.1],
                "max_abs": [max_abs, 0.3],
                "mean": [0.0001, 0.0],
                "norm": [2.3, 1.1],
            },
        )

    rec = det.Detector().update(_step(0, weights=weights(0.1249)))  # 1/sqrt(64), /sqrt(3)
    assert _kinds(rec) == {("frozen_layer", "backbone")}
    rec = det.Detector().update(_step(0, weights=weights(0.31)))  # trained: heavy tails
    assert rec == []


def test_a_regression_loss_that_starts_at_a_million_points_at_the_targets():
    rec = det.Detector().update(
        _step(0, run={"loss": 1.05e6}, context={"loss": {"class": "MSELoss"}})
    )
    assert _kinds(rec) == {("bad_target", None)} and "Standardize" in rec[0]["remedy"]
    assert (
        det.Detector().update(
            _step(0, run={"loss": 1.05e6}, context={"loss": {"class": "CrossEntropyLoss"}})
        )
        == []
    )


def test_gradients_shrinking_through_sigmoid_layers_vanish_through_depth():
    names = [f"net.fc{i}.weight" for i in range(1, 6)]
    fam = {f"net.act{i}": "sigmoid" for i in range(1, 5)}
    g = (names, {"norm": [3.4e-4, 1.5e-3, 0.011, 0.076, 0.48], "present": [1] * 5})
    w = (names, {"ndim": [2] * 5, "numel": [256] * 5, "trainable": [1] * 5})
    d = det.Detector()
    out = []
    for k in range(3):
        out += d.update(_step(k, grads=g, weights=w, act_family=fam))
    assert ("vanishing_gradients", "net.fc1") in _kinds(out)
    d = det.Detector()  # the same decay with ReLUs: quiet
    for k in range(3):
        assert d.update(_step(k, grads=g, weights=w, act_family={n: "relu" for n in fam})) == []


def test_most_matrices_moving_too_far_at_once_is_one_run_level_record():
    g, w, u = _params([1.0, 0.1, 0.5, 0.1, 0.3], ratio=[0.9, 0.001, 0.8, 0.001, 0.7])
    rec = det.Detector({"patience": 1}).update(
        _step(
            0,
            grads=g,
            weights=w,
            updates=u,
            context={"optimizers": [{"class": "SGD", "groups": [{"lr": 3.0}]}]},
        )
    )
    assert _kinds(rec) == {("update_ratio_high", None)} and "3" in rec[0]["remedy"]


def test_the_same_batch_at_every_point_turns_the_overfitting_advice_to_the_loop():
    d = det.Detector()
    out = []
    same = {
        "input_count": 64,
        "input_mean": -0.0728,
        "input_std": 1.0243,
        "input_min": -3.0,
        "input_max": 3.0,
        "input_nonfinite": 0,
        "input_float": 1.0,
    }
    for k in range(8):
        out += d.update(
            _step(k * 10, run={**same, "loss": 1.4 * 0.5**k}, metrics={"val_loss": 1.4 + 0.01 * k})
        )
    over = [r for r in out if r["kind"] == "overfitting"]
    assert over and "next(iter(loader))" in over[-1]["remedy"]


def test_divergence_after_a_gradient_norm_that_grew_at_every_point_points_at_zero_grad():
    d = det.Detector()
    out = []
    losses = [1.4, 1.4, 1.4, 1.5, 2.5, 5.0, 9.0]
    for k, (g, loss) in enumerate(zip([0.4, 0.9, 1.5, 2.4, 4.0, 7.0, 11.0], losses)):
        out += d.update(_step(k * 5, run={"grad_norm_total": g, "loss": loss}))
    div = [r for r in out if r["kind"] == "loss_divergence"]
    assert div and "zero_grad" in div[0]["remedy"]
