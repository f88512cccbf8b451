"""Statistics on device against slow, obvious references (plain Python loops over floats)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from tb_archviz.callbacks import stats as S

torch.set_num_threads(1)


def _values(t):
    return [float(v) for v in t.detach().double().reshape(-1).tolist()]


def _ref_weights(t):
    vals = _values(t)
    n = len(vals)
    sq = sum(v * v for v in vals)
    norm = math.sqrt(sq) if not any(math.isnan(v) for v in vals) else float("nan")
    mean = sum(vals) / n
    mx = float("nan") if any(math.isnan(v) for v in vals) else max(abs(v) for v in vals)
    std = (
        math.sqrt(max(sq / n - mean * mean, 0.0))
        if math.isfinite(norm) and math.isfinite(mean)
        else float("nan")
    )
    nonfinite = sum(1 for v in vals if not math.isfinite(v))
    return {"norm": norm, "mean": mean, "std": std, "max_abs": mx, "nonfinite": nonfinite}


def _close(a, b, rtol=1e-4):
    """``a`` (statistics by name) matches the reference ``b`` on every name ``b`` gives."""
    for name, y in b.items():
        x = float(np.asarray(a[name]).reshape(-1)[0])
        if math.isnan(y):
            assert math.isnan(x), (a, b)
        elif math.isinf(y):
            assert x == y, (a, b)
        else:
            assert x == pytest.approx(y, rel=rtol, abs=1e-6), (a, b)


def _cases(dtype):
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 5, generator=g)
    nan = base.clone()
    nan[1, 2] = float("nan")
    inf = base.clone()
    inf[0, 0] = float("inf")
    inf[3, 1] = float("-inf")
    return [t.to(dtype) for t in (base, torch.zeros(4, 3), nan, inf, base * 300)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_weight_statistics_match_a_python_reference(dtype):
    params = _cases(dtype)
    raw = S.weight_raw(params).numpy()
    numel = np.array([p.numel() for p in params], float)
    table = S.finish_weights(raw, numel, np.full(len(params), 2.0), np.ones(len(params)))
    rtol = 1e-5 if dtype == torch.float32 else 1e-3
    for k, p in enumerate(params):
        row = {name: col[k] for name, col in table.items()}
        _close(row, _ref_weights(p), rtol)
        assert row["numel"] == p.numel() and row["ndim"] == 2 and row["trainable"] == 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_gradient_statistics_match_a_python_reference(dtype):
    grads = _cases(dtype)
    raw = S.grad_raw(grads).numpy()
    for g, row in zip(grads, raw):
        got = dict(zip(S.GRAD_RAW, row.tolist()))
        ref = _ref_weights(g)
        _close(got, {k: ref[k] for k in ("norm", "max_abs", "nonfinite")}, 1e-3)
        assert got["zeros"] == sum(1 for v in _values(g) if v == 0)


def _ref_acts(t, family=None, lo=-1.0, hi=1.0):
    vals = _values(t)
    n = len(vals)
    mean = sum(vals) / n
    sq = sum(v * v for v in vals)
    std = math.sqrt(max(sq / n - mean * mean, 0.0)) if math.isfinite(mean) else float("nan")
    mx = float("nan") if any(math.isnan(v) for v in vals) else max(abs(v) for v in vals)
    zero = sum(1 for v in vals if v == 0) / n
    nonfinite = sum(1 for v in vals if not math.isfinite(v))
    dead = sat = float("nan")
    if family == "relu":
        arr = t.detach().double()
        dim = 1 if arr.dim() >= 4 else arr.dim() - 1
        units = arr.shape[dim]
        dead_units = 0
        for u in range(units):
            if all(v == 0 for v in arr.select(dim, u).reshape(-1).tolist()):
                dead_units += 1
        dead = dead_units / units
    elif family == "tanh":
        sat = sum(1 for v in vals if abs(v) > 0.99) / n
    elif family == "sigmoid":
        sat = sum(1 for v in vals if v < 0.01 or v > 0.99) / n
    elif family == "hardtanh":
        sat = sum(1 for v in vals if v <= lo or v >= hi) / n
    return {
        "mean": mean,
        "std": std,
        "max_abs": mx,
        "zero_fraction": zero,
        "nonfinite": nonfinite,
        "numel": n,
        "dead_fraction": dead,
        "saturated_fraction": sat,
    }


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_activation_statistics_match_a_python_reference(dtype):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 6, 3, 3, generator=g)
    relu = torch.relu(x)
    relu[:, 2] = 0  # one dead channel (dim 1 of a conv output)
    relu[:, 4] = 0
    seq = torch.relu(torch.randn(2, 5, 7, generator=g))
    seq[..., 3] = 0  # a dead feature (last dim of [N, T, F])
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    bad[1, 1, 1, 1] = float("inf")
    rtol = 1e-5 if dtype == torch.float32 else 2e-3
    for t, fam in (
        (relu, "relu"),
        (seq, "relu"),
        (torch.zeros(3, 4), "relu"),
        (torch.tanh(3 * x), "tanh"),
        (torch.sigmoid(6 * x), "sigmoid"),
        (bad, None),
    ):
        t = t.to(dtype)
        got = S.finish_acts(S.act_raw(t, fam).numpy()[None])
        _close(got, _ref_acts(t, fam), rtol)


def test_hardtanh_saturation_counts_the_clipped_values():
    m = nn.Hardtanh(-2.0, 2.0)
    t = m(torch.linspace(-4, 4, 17))
    got = S.finish_acts(S.act_raw(t, "tanh", m).numpy()[None])["saturated_fraction"][0]
    assert got == pytest.approx(_ref_acts(t, "hardtanh", -2.0, 2.0)["saturated_fraction"])


def test_several_calls_of_one_module_combine_like_one_big_call():
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(3, 4, generator=g), torch.randn(5, 4, generator=g) * 3
    combined = S.combine(torch.stack([S.act_raw(a), S.act_raw(b)]), S.ACT_OPS)
    whole = S.act_raw(torch.cat([a, b]))
    assert torch.allclose(combined, whole, equal_nan=True, rtol=1e-5)


def test_ranks_combine_like_one_rank_holding_all_the_data():
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g) + 1
    stacked = np.stack([S.act_raw(a).numpy(), S.act_raw(b).numpy()])[:, None, :]
    got = S.finish_acts(S.combine_np(stacked, S.ACT_OPS))
    ref = S.finish_acts(S.act_raw(torch.cat([a, b])).numpy()[None])
    assert set(got) == set(ref)
    for name in ref:
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-5, equal_nan=True)


def test_input_statistics_cover_every_tensor_and_spot_constant_and_nan_batches():
    x = torch.tensor([[1.0, 2.0], [3.0, float("nan")]])
    got = S.finish_input(S.input_raw((x, torch.tensor([0, 1]))).numpy(), True)
    assert got["input_count"] == 6 and got["input_nonfinite"] == 1
    assert math.isnan(got["input_mean"]) and got["input_float"] == 1
    const = S.finish_input(S.input_raw({"x": torch.full((4, 3), 0.5)}).numpy(), True)
    assert const["input_constant"] == 1 and const["input_std"] == 0
    assert const["input_min"] == const["input_max"] == 0.5
    assert S.input_raw({"meta": "no tensors"}) is None


def test_finished_statistics_are_the_registry_columns():
    from tb_archviz import registry

    acts = S.finish_acts(S.act_raw(torch.randn(3, 4)).numpy()[None])
    weights = S.finish_weights(
        S.weight_raw([torch.randn(3)]).numpy(), np.array([3.0]), np.array([1.0]), np.array([1.0])
    )
    inp = S.finish_input(S.input_raw(torch.randn(2, 2)).numpy(), True)
    assert tuple(acts) == registry.columns("acts")
    # rank_spread compares ranks: the logging step adds it after the gather (tables.finish)
    assert tuple(weights) + ("rank_spread",) == registry.columns("weights")
    assert tuple(inp) == registry.columns("run_val")


def test_families_leave_leaky_relu_and_gelu_alone():
    assert S.act_family(nn.ReLU()) == "relu" and S.act_family(nn.ReLU6()) == "relu"
    assert S.act_family(nn.Tanh()) == "tanh" and S.act_family(nn.Sigmoid()) == "sigmoid"
    assert S.act_family(nn.LeakyReLU()) is None and S.act_family(nn.GELU()) is None


def test_host_counts_stay_exact_beyond_the_float32_integer_range():
    n = (1 << 24) + 7  # 2**24 + 1 is the first integer float32 misses
    x = torch.ones(n)
    x[::3] = 0.0
    zeros = len(range(0, n, 3))
    scratch = S.Scratch()
    assert S._count_nonzero_host(x, scratch) == n - zeros
    assert S._count_above(torch.full((n,), 0.5), scratch, 0.25) == n
    raw = S.act_raw(x, "relu", None, scratch)
    assert float(raw[3]) == zeros  # float32 holds this count exactly (multiple of 3)
    assert scratch._buf.numel() == S.CHUNK  # the temporaries never grow with the tensor
