"""The culprit, not only the symptom (real Lightning runs through the reader): a NaN that
follows a gradient explosion names where the explosion began; a NaN that arrives with the
input batch between logging steps is also `bad_input`, at its exact step."""

from __future__ import annotations

import pytest
from torch import nn

pytest.importorskip("lightning.pytorch")

from tb_archviz import detectors  # noqa: E402
from tests.test_faults import K, Lit, Net, data, fit, loader  # noqa: E402


class Growing(nn.Module):
    """Identity forward; from ``start`` on, multiplies the gradient passing back by 10 more at
    every step, then emits NaN at ``nan_at``."""

    def __init__(self, start, nan_at):
        super().__init__()
        self.start, self.nan_at, self.step = start, nan_at, 0

    def forward(self, x):
        if self.step >= self.nan_at:
            return x * float("nan")
        if self.step >= self.start:
            from tests.test_faults import _ScaleGrad

            return _ScaleGrad.apply(x, 10.0 ** (self.step - self.start + 1))
        return x


def test_nan_after_a_gradient_explosion_names_where_the_explosion_began(tmp_path):
    net = Net()
    net.fault = Growing(start=K, nan_at=K + 9)  # between fc1/act1 and fc2
    lit = Lit(net, lr=1e-4)
    recs = fit(tmp_path, lit, steps=K + 12)
    nf = [r for r in recs if r["kind"] == "non_finite"]
    assert len(nf) == 1
    assert nf[0]["layer"] == "net.fault" and nf[0]["first_step"] == K + 9
    assert nf[0]["culprit"] == "net.fc1"
    assert nf[0]["message"].startswith("Gradients of net.fc1 grew")
    assert "learning rate" in nf[0]["remedy"].lower()


def test_nan_input_between_logging_steps_is_also_bad_input_at_its_step(tmp_path):
    x, y = data()
    x[(K + 1) * 16 + 2, 3] = float("nan")  # step K + 1: not a logging step
    recs = fit(tmp_path, Lit(), loader(x, y), steps=K + 5)
    bad = [r for r in recs if r["kind"] == "bad_input"]
    assert [(r["first_step"], r["last_step"], r["severity"]) for r in bad] == [
        (K + 1, K + 1, "error")
    ]
    assert "data" in bad[0]["remedy"]
    nf = [r for r in recs if r["kind"] == "non_finite"]
    assert nf and nf[0]["first_step"] == K + 1 and "culprit" not in nf[0]


def test_regrow_rebuilds_the_since_clause_of_either_grammar():
    rec = {
        "kind": "non_finite",
        "first_step": 3,
        "last_step": 3,
        "message": "NaN/Inf first appeared in the loss since step 3.",
    }
    out = detectors.regrow(rec, 9)
    assert out["last_step"] == 9
    assert out["message"] == "NaN/Inf first appeared in the loss since step 3 (still at step 9)."
    assert detectors.regrow(out, 12)["message"].count("step 3") == 1
    rec["message"] = "NaN/Inf first appeared in the loss at step 3."
    assert detectors.regrow(rec, 5)["message"].startswith("NaN/Inf first appeared in the loss s")
