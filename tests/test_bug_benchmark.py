"""The bug benchmark (``tests/bugs``): a fast subset in CI, everything with
``ARCHVIZ_BUG_BENCH=1``.

In CI: every scenario the detectors catch (``EXPECTED_DETECTED``) shows its bug and is caught
with the right layer and advice (one of them also through a Lightning ``Trainer``), every
healthy setup trains and stays quiet, and the scoring itself is checked.
``ARCHVIZ_BUG_BENCH=1`` runs the whole benchmark and asserts everything: every scenario's bug
shows on a plain run, every bug is detected with the right layer and advice, every healthy
setup is quiet. It fails while bugs are missed; ``python benchmarks/bugs.py`` shows what is
missed and why (``benchmarks/bugs_results.md``).
"""

from __future__ import annotations

import os
import warnings

import pytest
import torch

from tests.bugs import healthy, scenarios
from tests.bugs.core import train
from tests.bugs.harness import run_healthy, run_scenario, sanity, score_records

torch.set_num_threads(1)
warnings.filterwarnings("ignore", message=".*Converting a tensor.*")

# Scenarios the current detectors catch, and what is asserted for each. Extend it when a rule
# starts catching another scenario (benchmarks/bugs_results.md lists the misses).
ALL = ("detected", "right_layer", "right_advice")
EXPECTED_DETECTED = {
    "softmax_into_cross_entropy": ALL,
    "sigmoid_into_bce_with_logits": ALL,
    "nll_on_raw_logits": ALL,
    "regression_targets_unscaled": ALL,
    "loss_summed_high_lr": ALL,
    "labels_shuffled": ALL,
    "overfitting_tiny_data": ALL,
    "repeated_batch": ALL,
    "nan_in_data": ALL,
    "unnormalized_inputs": ALL,
    "feature_goes_constant": ALL,
    "data_drift": ALL,
    "lr_too_high": ALL,
    "lr_too_low": ALL,
    "lr_zero": ALL,
    "scheduler_decays_too_early": ALL,
    "missing_zero_grad": ALL,
    "zero_grad_before_step": ALL,
    "layer_missing_from_optimizer": ALL,
    "frozen_by_mistake": ALL,
    "detached_branch": ALL,
    "eval_mode_during_training": ALL,
    "huge_weight_decay": ALL,
    "tiny_gradient_clip": ALL,
    "fp16_weights_adam": ALL,
    "constant_init": ALL,
    "dying_relu_negative_bias": ALL,
    "dying_relu_high_lr": ALL,
    "saturated_tanh_large_init": ALL,
    "deep_sigmoid_vanishing": ALL,
    "one_layer_init_x1000": ALL,
    "relu_on_output": ALL,
}
# Every caught scenario and every healthy setup runs in CI (about 30 s on 2 cores: tiny
# models, a few hundred steps each).
CI_SCENARIOS = tuple(EXPECTED_DETECTED)
CI_HEALTHY = tuple(h.name for h in healthy.HEALTHY)

FULL = os.environ.get("ARCHVIZ_BUG_BENCH") == "1"
full_only = pytest.mark.skipif(not FULL, reason="the whole bug benchmark: ARCHVIZ_BUG_BENCH=1")


def test_registries_name_known_scenarios():
    assert set(EXPECTED_DETECTED) <= set(scenarios.BY_NAME)
    assert set(CI_SCENARIOS) <= set(EXPECTED_DETECTED)
    assert set(CI_HEALTHY) <= set(healthy.BY_NAME)
    assert len(scenarios.SCENARIOS) >= 25 and len(healthy.HEALTHY) >= 8
    assert len(scenarios.BY_NAME) == len(scenarios.SCENARIOS)


@full_only
@pytest.mark.parametrize("name", [s.name for s in scenarios.SCENARIOS])
def test_bug_really_shows_on_a_plain_run(name):
    sc = scenarios.BY_NAME[name]
    fixed_setup = sc.build(False)
    fixed, buggy = train(fixed_setup), train(sc.build(True))
    shows, text = sanity(sc, fixed, buggy, fixed_setup.data.task)
    assert shows, f"{name}: the bug does not show ({text})"


def test_scoring_needs_the_expected_kind_layer_and_advice():
    sc = scenarios.BY_NAME["detached_branch"]
    right = {
        "kind": "no_gradient",
        "layer": "fc1",
        "severity": "warning",
        "message": "fc1.weight received no gradient",
        "remedy": "remove the .detach()",
    }
    assert score_records(sc, [right]) == (True, True, True)
    assert score_records(sc, [dict(right, severity="info")]) == (False, False, False)
    assert score_records(sc, [dict(right, kind="dead_units")]) == (False, False, False)
    assert score_records(sc, [dict(right, layer="fc2")]) == (True, False, True)
    assert score_records(sc, [dict(right, remedy="lower the learning rate")]) == (True, True, False)


def _check(name: str, asserted) -> None:
    score = run_scenario(scenarios.BY_NAME[name])
    assert score.shows, f"{name}: the bug does not show ({score.sanity})"
    for what in asserted:
        assert getattr(score, what), (
            f"{name}: not {what}; reported: {score.reported}; records: {score.records}"
        )


@pytest.mark.parametrize("name", CI_SCENARIOS)
def test_current_detectors_catch_bug(name):
    _check(name, EXPECTED_DETECTED[name])


def test_lightning_trainer_run_is_caught_with_the_model_prefix():
    pytest.importorskip("lightning.pytorch")
    score = run_scenario(scenarios.BY_NAME["detached_branch"], trainer="lightning")
    assert score.shows, score.sanity
    assert (score.detected, score.right_layer, score.right_advice) == (True, True, True), (
        score.records
    )
    assert any(a.get("layer") == "model.fc1" for a in score.records)


@pytest.mark.parametrize("name", CI_HEALTHY)
def test_healthy_setup_trains_and_stays_quiet(name):
    score = run_healthy(healthy.BY_NAME[name])
    assert score.trains, f"{name}: does not train (val metric {score.metric:.2f})"
    assert not score.alarms, f"{name}: raised {score.alarms}; records: {score.records}"


@full_only
@pytest.mark.parametrize("name", [s.name for s in scenarios.SCENARIOS])
def test_monitor_finds_every_bug_with_layer_and_advice(name):
    _check(name, ALL)
