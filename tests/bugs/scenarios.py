"""The bug scenarios: ``SCENARIOS``, each a :class:`~tests.bugs.core.Scenario`.

Sources (the published studies, abbreviated): H = Humbatova et al.'s taxonomy of real faults,
AT = AUTOTRAINER, DD = DeepDiagnosis, FD = DeepFD, UM = UMLAUT, TC = TrainCheck.
Every ``build(buggy)`` returns a fresh setup seeded the same way for both variants, so the
two differ only by the bug. The baseline recipe: a 16-32-32-4 ReLU MLP on the teacher-labelled
tabular set (1024 train, 256 validation), batch 32, 200 steps.
"""

from __future__ import annotations

from typing import Dict, List

import torch
from torch import nn

from tests.bugs.core import MLP, Scenario, Setup, binary, regression, seeded, tabular

D, C = 16, 4
RUN = None  # a run-level culprit


def _mlp(**kw) -> MLP:
    seeded(0)
    kw.setdefault("hidden", (32, 32))
    return MLP(D, kw.pop("hidden"), kw.pop("d_out", C), **kw)


def _adam(model: nn.Module, lr: float = 3e-3, **kw) -> torch.optim.Optimizer:
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, **kw)


def _sgd(model: nn.Module, lr: float = 0.05, momentum: float = 0.9, **kw) -> torch.optim.Optimizer:
    return torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=lr, momentum=momentum, **kw
    )


def _ce() -> nn.Module:
    return nn.CrossEntropyLoss()


# ----------------------------------------------------------------------------- loss / output
def softmax_into_cross_entropy(buggy: bool) -> Setup:
    m = _mlp(out_act=nn.Softmax(dim=-1) if buggy else None)
    return Setup(m, _sgd(m, lr=0.02), _ce(), tabular(), steps=200)


def sigmoid_into_bce_with_logits(buggy: bool) -> Setup:
    m = _mlp(d_out=1, out_act=nn.Sigmoid() if buggy else None)
    return Setup(
        m,
        _sgd(m, lr=0.02),
        nn.BCEWithLogitsLoss(),
        binary(),
        steps=200,
        predict=(lambda o: (o > 0.5).float()) if buggy else None,
    )


def nll_on_raw_logits(buggy: bool) -> Setup:
    m = _mlp(out_act=None if buggy else nn.LogSoftmax(dim=-1))
    return Setup(m, _sgd(m), nn.NLLLoss(), tabular(), steps=200)


def regression_targets_unscaled(buggy: bool) -> Setup:
    seeded(0)
    m = MLP(8, (32, 32), 1)
    return Setup(
        m, _sgd(m, lr=0.01), nn.MSELoss(), regression(scale=1000.0 if buggy else 1.0), steps=200
    )


def loss_summed_high_lr(buggy: bool) -> Setup:
    m = _mlp()
    return Setup(
        m,
        _sgd(m, lr=0.05),
        nn.CrossEntropyLoss(reduction="sum" if buggy else "mean"),
        tabular(),
        steps=200,
    )


# ----------------------------------------------------------------------------- data / labels
def labels_shuffled(buggy: bool) -> Setup:
    data = tabular()
    if buggy:  # labels permuted apart from their inputs (a sort or a shuffle applied to one)
        data.y = data.y[torch.randperm(len(data.y), generator=torch.Generator().manual_seed(7))]
    m = _mlp(hidden=(128, 128))
    return Setup(m, _adam(m, lr=3e-3), _ce(), data, steps=300)


def overfitting_tiny_data(buggy: bool) -> Setup:
    data = tabular(n=24 if buggy else 1024, label_noise=0.2)
    m = _mlp(hidden=(128, 128))
    return Setup(m, _adam(m, lr=3e-3), _ce(), data, steps=300)


def repeated_batch(buggy: bool) -> Setup:
    data = tabular()
    fixed_batch = {}

    def same_batch(step, x, y):  # `batch = next(iter(loader))` outside the loop
        if "x" not in fixed_batch:
            fixed_batch["x"], fixed_batch["y"] = x, y
        return fixed_batch["x"], fixed_batch["y"]

    m = _mlp(hidden=(64, 64))
    return Setup(m, _adam(m), _ce(), data, steps=200, batch_hook=same_batch if buggy else None)


def nan_in_data(buggy: bool) -> Setup:
    data = tabular()
    if buggy:
        data.x[17, 3] = float("nan")  # one missing value in one record
    m = _mlp()
    return Setup(m, _adam(m), _ce(), data, steps=200)


def unnormalized_inputs(buggy: bool) -> Setup:
    data = tabular()
    if buggy:  # raw 0..255 "pixel" scale instead of standardized features
        for attr in ("x", "x_val"):
            setattr(data, attr, (getattr(data, attr) * 40 + 128).clamp(0, 255).round())
    m = _mlp()
    return Setup(m, _sgd(m, lr=0.02), _ce(), data, steps=200)


def feature_goes_constant(buggy: bool) -> Setup:
    def stuck(step, x, y):  # a pipeline stage starts zero-filling half the features
        if step >= 40:
            x = x.clone()
            x[:, : 3 * D // 4] = 0.0
        return x, y

    m = _mlp()
    return Setup(m, _adam(m), _ce(), tabular(), steps=200, batch_hook=stuck if buggy else None)


def data_drift(buggy: bool) -> Setup:
    def drift(step, x, y):  # the normalisation step is dropped from the pipeline mid-run
        if step >= 60:
            x = x * 4.0 + 3.0
        return x, y

    m = _mlp()
    return Setup(m, _adam(m), _ce(), tabular(), steps=200, batch_hook=drift if buggy else None)


# ----------------------------------------------------------------------------- optimisation
def lr_too_high(buggy: bool) -> Setup:
    m = _mlp()
    return Setup(m, _sgd(m, lr=3.0 if buggy else 0.05), _ce(), tabular(), steps=200)


def lr_too_low(buggy: bool) -> Setup:
    m = _mlp()
    return Setup(m, _adam(m, lr=1e-7 if buggy else 3e-3), _ce(), tabular(), steps=200)


def lr_zero(buggy: bool) -> Setup:
    m = _mlp()
    return Setup(m, _sgd(m, lr=0.0 if buggy else 0.05), _ce(), tabular(), steps=200)


def scheduler_decays_too_early(buggy: bool) -> Setup:
    m = _mlp()
    opt = _sgd(m)
    # total_iters counted in epochs but the scheduler is stepped every batch
    sched = torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.0, total_iters=10 if buggy else 200)
    return Setup(m, opt, _ce(), tabular(), steps=200, sched=sched)


def missing_zero_grad(buggy: bool) -> Setup:
    m = _mlp()
    return Setup(m, _sgd(m), _ce(), tabular(), steps=200, zero_grad="never" if buggy else "before")


def zero_grad_before_step(buggy: bool) -> Setup:
    m = _mlp()
    return Setup(
        m, _adam(m), _ce(), tabular(), steps=200, zero_grad="after_backward" if buggy else "before"
    )


def layer_missing_from_optimizer(buggy: bool) -> Setup:
    m = _mlp(hidden=(8, 32))
    params = [*m.fc2.parameters(), *m.fc3.parameters()] if buggy else list(m.parameters())
    return Setup(m, torch.optim.Adam(params, lr=3e-3), _ce(), tabular(), steps=200)


def frozen_by_mistake(buggy: bool) -> Setup:
    m = _mlp(hidden=(8, 32))
    if buggy:  # a "freeze the backbone" line that also caught a layer meant to train
        m.fc1.requires_grad_(False)
    return Setup(m, _adam(m), _ce(), tabular(), steps=200)


def detached_branch(buggy: bool) -> Setup:
    m = _mlp(hidden=(8, 32), detach_after="act1" if buggy else None)
    return Setup(m, _adam(m), _ce(), tabular(), steps=200)


def eval_mode_during_training(buggy: bool) -> Setup:
    data = tabular()
    for attr in ("x", "x_val"):  # features off-centre: BatchNorm's batch statistics matter
        setattr(data, attr, getattr(data, attr) * 10 + 20)
    m = _mlp(norm=nn.BatchNorm1d)
    return Setup(m, _sgd(m, lr=0.02), _ce(), data, steps=200, train_mode=not buggy)


def huge_weight_decay(buggy: bool) -> Setup:
    m = _mlp()
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3, weight_decay=50.0 if buggy else 0.01)
    return Setup(m, opt, _ce(), tabular(), steps=200)


def tiny_gradient_clip(buggy: bool) -> Setup:
    m = _mlp()
    return Setup(m, _sgd(m), _ce(), tabular(), steps=200, clip=1e-4 if buggy else 1.0)


def fp16_weights_adam(buggy: bool) -> Setup:
    m = _mlp()
    if buggy:
        m.half()
    return Setup(
        m,
        _adam(m, eps=1e-8),
        _ce(),
        tabular(),
        steps=200,
        input_dtype=torch.float16 if buggy else None,
    )


# ----------------------------------------------------------------------------- initialisation
def constant_init(buggy: bool) -> Setup:
    m = _mlp()
    if buggy:
        for mod in (m.fc1, m.fc2, m.fc3):
            nn.init.constant_(mod.weight, 0.05)
            nn.init.zeros_(mod.bias)
    return Setup(m, _sgd(m), _ce(), tabular(), steps=200)


def dying_relu_negative_bias(buggy: bool) -> Setup:
    m = _mlp()
    if buggy:
        nn.init.constant_(m.fc1.bias, -3.0)
    return Setup(m, _sgd(m), _ce(), tabular(), steps=200)


def dying_relu_high_lr(buggy: bool) -> Setup:
    m = _mlp()
    return Setup(m, _sgd(m, lr=4.0 if buggy else 0.2, momentum=0.0), _ce(), tabular(), steps=200)


def saturated_tanh_large_init(buggy: bool) -> Setup:
    m = _mlp(act=nn.Tanh)
    if buggy:
        with torch.no_grad():
            m.fc1.weight.mul_(30.0)
            m.fc2.weight.mul_(30.0)
    return Setup(m, _sgd(m), _ce(), tabular(), steps=200)


def deep_sigmoid_vanishing(buggy: bool) -> Setup:
    seeded(0)
    m = MLP(D, (32,) * 4, C, act=nn.Sigmoid if buggy else nn.ReLU)
    return Setup(m, _sgd(m, lr=0.05), _ce(), tabular(), steps=200)


def one_layer_init_x1000(buggy: bool) -> Setup:
    m = _mlp()
    if buggy:  # a custom init with std=1.0 at a 1000-wide fan-in, written for one layer
        with torch.no_grad():
            m.fc2.weight.mul_(1000.0)
    return Setup(m, _sgd(m), _ce(), tabular(), steps=200)


def relu_on_output(buggy: bool) -> Setup:
    m = _mlp(out_act=nn.ReLU() if buggy else None)
    with torch.no_grad():
        m.fc3.bias[C - 1] = -8.0  # a class prior in the output bias, in both variants
    return Setup(m, _sgd(m), _ce(), tabular(), steps=200)


def bottleneck_width_one(buggy: bool) -> Setup:
    m = _mlp(hidden=(32, 1, 32) if buggy else (32, 32, 32))
    return Setup(m, _adam(m), _ce(), tabular(), steps=200)


# ----------------------------------------------------------------------------- the list
_LR = ("learning rate", "lr")
SCENARIOS: List[Scenario] = [
    Scenario(
        "softmax_into_cross_entropy",
        "H, UM, DD, AT",
        "nn.Softmax as the last layer, then CrossEntropyLoss (which applies log_softmax itself)",
        softmax_into_cross_entropy,
        ("loss_output_mismatch",),
        ("out_act", RUN),
        ("softmax", "logits"),
    ),
    Scenario(
        "sigmoid_into_bce_with_logits",
        "H, UM, DD",
        "nn.Sigmoid as the last layer, then BCEWithLogitsLoss",
        sigmoid_into_bce_with_logits,
        ("loss_output_mismatch",),
        ("out_act", RUN),
        ("sigmoid", "logits"),
    ),
    Scenario(
        "nll_on_raw_logits",
        "H, UM",
        "NLLLoss on raw logits (log_softmax forgotten): the loss falls without bound",
        nll_on_raw_logits,
        ("loss_output_mismatch", "loss_divergence"),
        ("fc3", RUN),
        ("log_softmax", "logsoftmax", "log-prob"),
    ),
    Scenario(
        "regression_targets_unscaled",
        "H, UM",
        "regression targets in raw units (x1000) with MSE and a normal lr",
        regression_targets_unscaled,
        ("bad_target", "exploding_gradients", "loss_divergence", "non_finite"),
        ("fc3", RUN),
        ("target", "standardi", "normali"),
        margin=0.2,
    ),
    Scenario(
        "loss_summed_high_lr",
        "H, FD",
        "CrossEntropyLoss(reduction='sum') with an lr tuned for the mean: the step is "
        "batch-size times too large",
        loss_summed_high_lr,
        ("loss_divergence", "exploding_gradients", "update_ratio_high", "non_finite"),
        (RUN,),
        ("reduction", "mean", *_LR),
    ),
    Scenario(
        "labels_shuffled",
        "H, UM",
        "training labels permuted apart from their inputs: training loss falls "
        "(memorised), validation stays at chance",
        labels_shuffled,
        ("overfitting", "generalization_gap"),
        (RUN,),
        ("label",),
    ),
    Scenario(
        "overfitting_tiny_data",
        "UM, H",
        "a wide MLP on 24 noisy samples: training loss falls, validation loss climbs",
        overfitting_tiny_data,
        ("overfitting", "generalization_gap"),
        (RUN,),
        ("overfit", "regulari", "early stop", "more data"),
    ),
    Scenario(
        "repeated_batch",
        "H",
        "the same batch every step (`next(iter(loader))` outside the loop)",
        repeated_batch,
        ("repeated_batch", "overfitting", "generalization_gap"),
        (RUN,),
        ("same batch", "loader", "identical"),
    ),
    Scenario(
        "nan_in_data",
        "H, UM, AT",
        "one NaN in one training record",
        nan_in_data,
        ("bad_input",),
        (RUN,),
        ("input", "data"),
    ),
    Scenario(
        "unnormalized_inputs",
        "H, UM, AT, DD",
        "features in raw 0..255 pixel scale instead of standardized",
        unnormalized_inputs,
        ("bad_input",),
        (RUN,),
        ("normali", "standardi", "scale"),
    ),
    Scenario(
        "feature_goes_constant",
        "H, TC",
        "12 of 16 input features become constant (zero-filled) from step 40",
        feature_goes_constant,
        ("bad_input",),
        (RUN,),
        ("constant", "feature"),
    ),
    Scenario(
        "data_drift",
        "H, TC",
        "the input normalisation is dropped from the pipeline at step 60 (scale x4, shift +3)",
        data_drift,
        ("bad_input",),
        (RUN,),
        ("drift", "distribution", "shift"),
    ),
    Scenario(
        "lr_too_high",
        "AT, DD, UM, FD",
        "SGD lr=3.0 (60x too high)",
        lr_too_high,
        ("loss_divergence", "exploding_gradients", "update_ratio_high", "non_finite"),
        (RUN,),
        _LR,
    ),
    Scenario(
        "lr_too_low",
        "AT, DD, UM, FD",
        "Adam lr=1e-7",
        lr_too_low,
        ("training_stalled", "loss_plateau", "update_ratio_low"),
        (RUN,),
        _LR,
    ),
    Scenario(
        "lr_zero",
        "FD, TC",
        "SGD lr=0 (a config default never overridden)",
        lr_zero,
        ("training_stalled", "loss_plateau", "update_ratio_low"),
        (RUN,),
        _LR,
    ),
    Scenario(
        "scheduler_decays_too_early",
        "H, TC",
        "LinearLR(total_iters=10) meant in epochs, stepped per batch: lr reaches 0 at step 10",
        scheduler_decays_too_early,
        ("training_stalled", "loss_plateau"),
        (RUN,),
        ("scheduler", "schedule"),
    ),
    Scenario(
        "missing_zero_grad",
        "H, TC",
        "optimizer.zero_grad() never called: gradients accumulate forever",
        missing_zero_grad,
        ("gradient_accumulation", "exploding_gradients", "loss_divergence"),
        (RUN,),
        ("zero_grad",),
    ),
    Scenario(
        "zero_grad_before_step",
        "H, TC",
        "optimizer.zero_grad() between backward() and step(): every step applies zero",
        zero_grad_before_step,
        ("training_stalled", "no_gradient", "vanishing_gradients", "update_ratio_low"),
        (RUN,),
        ("zero_grad",),
    ),
    Scenario(
        "layer_missing_from_optimizer",
        "H, TC, DD",
        "the optimizer built from fc2 and fc3 only: fc1 has gradients but never moves",
        layer_missing_from_optimizer,
        ("update_ratio_low", "training_stalled"),
        ("fc1",),
        ("optimizer", "param_groups", "parameters"),
    ),
    Scenario(
        "frozen_by_mistake",
        "H, TC",
        "requires_grad_(False) on fc1, a layer meant to train (random init)",
        frozen_by_mistake,
        ("frozen_layer", "update_ratio_low", "no_gradient"),
        ("fc1",),
        ("requires_grad", "frozen", "freez"),
    ),
    Scenario(
        "detached_branch",
        "H, TC",
        "`.detach()` after act1 in forward: fc1 never receives a gradient",
        detached_branch,
        ("no_gradient",),
        ("fc1",),
        ("detach",),
    ),
    Scenario(
        "eval_mode_during_training",
        "H, TC",
        "model.eval() and never model.train(): BatchNorm uses its initial running statistics",
        eval_mode_during_training,
        ("wrong_mode",),
        ("bn1", "bn2", RUN),
        ("train()", "eval"),
    ),
    Scenario(
        "huge_weight_decay",
        "H, FD",
        "AdamW weight_decay=50 (meant 5e-2): decay dominates every update",
        huge_weight_decay,
        ("training_stalled", "loss_plateau"),
        (RUN,),
        ("weight decay", "weight_decay"),
    ),
    Scenario(
        "tiny_gradient_clip",
        "H",
        "clip_grad_norm_(max_norm=1e-4): clipping removes nearly all of the gradient",
        tiny_gradient_clip,
        ("training_stalled", "loss_plateau", "update_ratio_low"),
        (RUN,),
        ("clip",),
    ),
    Scenario(
        "fp16_weights_adam",
        "H, FD",
        "model.half() trained with Adam(eps=1e-8): eps underflows to 0 in fp16, "
        "updates divide by zero",
        fp16_weights_adam,
        ("precision", "non_finite"),
        (RUN, "fc1"),
        ("bf16", "fp32", "float32", "eps", "master"),
    ),
    Scenario(
        "constant_init",
        "H, AT, DD",
        "every weight initialised to the same constant: units of a layer stay identical",
        constant_init,
        ("symmetric_units",),
        ("fc1", "fc2"),
        ("init", "symmetr"),
    ),
    Scenario(
        "dying_relu_negative_bias",
        "AT, DD",
        "fc1 bias initialised at -3: every unit of act1 is dead from the start",
        dying_relu_negative_bias,
        ("dead_units",),
        ("act1",),
        ("bias", "leaky", "relu"),
    ),
    Scenario(
        "dying_relu_high_lr",
        "AT, DD",
        "plain SGD lr=4.0 (0.2 in the fix): ReLU units die after a few large steps",
        dying_relu_high_lr,
        ("dead_units", "loss_divergence"),
        ("act1", "act2"),
        ("learning rate", "lr"),
    ),
    Scenario(
        "saturated_tanh_large_init",
        "AT, DD",
        "tanh layers initialised 30x too large: outputs pinned at +-1",
        saturated_tanh_large_init,
        ("saturated_activations",),
        ("act1", "act2"),
        ("init", "scale", "normali"),
    ),
    Scenario(
        "deep_sigmoid_vanishing",
        "AT, DD, H",
        "5 linear layers with sigmoid activations (ReLU in the fix)",
        deep_sigmoid_vanishing,
        ("vanishing_gradients",),
        ("fc1", "fc2", "fc3"),
        ("activation", "relu", "normali", "residual"),
    ),
    Scenario(
        "one_layer_init_x1000",
        "H, DD",
        "fc2 initialised 1000x too large: its activations and the gradients behind it are "
        "orders of magnitude above its peers from the first step",
        one_layer_init_x1000,
        ("layer_outlier", "exploding_gradients"),
        ("fc2",),
        ("init", "scale"),
    ),
    Scenario(
        "relu_on_output",
        "H, UM, DD",
        "a ReLU after the output layer: the class whose logit starts negative can never "
        "be predicted (one dead output unit)",
        relu_on_output,
        ("dead_units", "dead_output_unit"),
        ("out_act", "fc3"),
        ("output", "last layer", "final layer"),
    ),
    Scenario(
        "bottleneck_width_one",
        "H",
        "a hidden width typo (32, 1, 32): the representation collapses to rank 1",
        bottleneck_width_one,
        ("representation_collapse", "low_rank"),
        ("fc2", "act2"),
        ("rank", "width", "bottleneck"),
    ),
]

BY_NAME: Dict[str, Scenario] = {s.name: s for s in SCENARIOS}

# What each bug leaves in the statistics the writer records (measured with ArchVizRecorder as
# in the README's plain loop, plus watch_optimizers/watch_loss/log_metrics): the benchmark
# prints these for the scenarios that are missed or explained wrongly.
EVIDENCE: Dict[str, str] = {
    "softmax_into_cross_entropy": (
        "`acts` of `out_act` (a Softmax, the last module): min ≥ 0, max ≤ 1 and mean exactly "
        "1/C = 0.250 at every step (rows sum to 1); the loss cannot go below CrossEntropyLoss's "
        "floor for probability inputs, ln(1 + (C−1)/e) = 0.74."
    ),
    "sigmoid_into_bce_with_logits": (
        "the last module is a Sigmoid (`act_family` sigmoid) whose output (batch mean "
        "0.10–0.55, max 0.59) goes into BCEWithLogitsLoss (`archviz/context` loss class); "
        "the loss hovers at 0.67–0.86 (ln 2 = 0.69) for 200 steps."
    ),
    "nll_on_raw_logits": (
        "`run/loss` is negative from the first steps (−0.01, −0.40, −1.57, −7.6): NLL of "
        "log-probabilities is never below 0. That shows 25 steps before the gradients explode."
    ),
    "regression_targets_unscaled": (
        "the first logged loss is 1.05e6 (MSE of a fresh model on standardized targets starts "
        "near 1) and NaN from step 3; no target statistics are recorded (the README loop does "
        "not pass targets), so only the generic non-finite advice (lr, clipping) is given."
    ),
    "loss_summed_high_lr": (
        "the step-0 loss is 45.4 = batch 32 × ln 4 (a mean-reduced CE starts at ln C = 1.39) and "
        "`grad_norm_total` is 14.3 against 0.45 in the fixed run (×32, the batch size); the "
        "findings are per layer (`update_ratio_high`@fc3) or about the stall that follows, none "
        "names the loss reduction."
    ),
    "labels_shuffled": (
        "`archviz/stats/metrics`: val_acc stays at chance (0.19–0.27) from the first validation "
        "and val_loss rises 1.40 → 1.57 while the training loss falls 1.43 → 0.94. Unlike "
        "overfitting, validation never improved at all: labels unrelated to their inputs."
    ),
    "overfitting_tiny_data": (
        "training loss 1.37 → 7e-5 on 24 samples; val_loss climbs 1.6 → 3.3 from step 20."
    ),
    "repeated_batch": (
        "every logged input statistic is identical at every logging step (input_mean −0.0728, "
        "input_std 1.0243 from step 0 to 195; random batches never repeat to 4 digits) while "
        "the training loss falls to 2e-4: one batch, memorised."
    ),
    "feature_goes_constant": (
        "`input_std` drops from 1.04 to 0.51 at step 40 (validation stays 0.99); 12 of 16 "
        "features have zero variance from then on (`archviz/features`)."
    ),
    "data_drift": (
        "`input_mean` jumps 0.03 → 3.1 and `input_std` 1.0 → 4.4 at step 60; validation inputs "
        "stay at mean 0 / std 1."
    ),
    "lr_too_high": (
        "the loss spikes (1.42 → 2.68 → 10.4 at step 25) and `grad_norm_total` with it (0.45 → "
        "23.8), then settles at chance (ln 4); `archviz/context` records SGD lr = 3.0. The "
        "findings are per layer (`update_ratio_high`) plus a run-level plateau/stall; none "
        "run-level names the learning rate."
    ),
    "scheduler_decays_too_early": (
        "`run/lr_0` goes 0.045 → 0.02 → 0 at step 10 and stays 0; every update ratio is exactly "
        "0 from step 10; the loss stays at 1.35–1.42 (ln 4 = 1.39)."
    ),
    "missing_zero_grad": (
        "`grad_norm_total` grows steadily, 0.45 → 1.15 → 2.35 → 3.58 → 6.8 … 424, while the "
        "loss is still at its start (1.32–1.51, steps 0–20): the norm of a running sum of "
        "gradients."
    ),
    "zero_grad_before_step": (
        "*every* trainable parameter has `present` = 0 at the optimizer step although the model "
        "ran and the loss was computed: the gradients were cleared between backward and step."
    ),
    "frozen_by_mistake": (
        "fc1 has `trainable` = 0, like a deliberately frozen backbone. What tells them apart: "
        "fc1 is still at PyTorch's default init (max_abs 0.2494 ≈ 1/√fan_in = 0.25, std 0.145 ≈ "
        "1/√(3·fan_in)) and sits in front of trainable layers; a pretrained backbone is not."
    ),
    "eval_mode_during_training": (
        "`bn1`'s output has std 12 → 23 and mean −0.5 → −30 during training steps; a BatchNorm "
        "in training mode outputs std ≈ 1, mean ≈ 0 (fixed run: 1.00)."
    ),
    "huge_weight_decay": (
        "the weight norm of fc2 falls 3.35 → 0.076 in 30 steps (halving every 5) while "
        "`grad_norm_total` stays 0.06–0.45: the weights shrink, which only weight decay does; "
        "`archviz/context` records AdamW weight_decay = 50."
    ),
    "tiny_gradient_clip": (
        "`grad_norm_total` (before clipping) is 0.3–0.5 while update ratios are 4e-6 (fixed "
        "run: ~1e-2): clipping to 1e-4 removes nearly all of the gradient."
    ),
    "deep_sigmoid_vanishing": (
        "median gradient norms fall 4–10× per sigmoid layer towards the input (fc5.weight 0.48, "
        "fc4 0.076, fc3 0.011, fc2 1.5e-3, fc1 3.4e-4: 1400×) and update ratios are 3.6e-5 "
        "(fc1) vs 3.1e-2 (fc5); the loss stays at ln 4 ≈ 1.39 (noisy, 1.33–1.45)."
    ),
    "bottleneck_width_one": (
        "the architecture record shows fc2 = Linear(32, 1) between 32-wide layers and its "
        "`acts` numel is 32 for a 32-sample batch (one unit); no rank statistic is recorded."
    ),
}
for _sc in SCENARIOS:
    _sc.evidence = EVIDENCE.get(_sc.name, "")
