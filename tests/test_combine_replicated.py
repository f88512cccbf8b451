"""stats.combine_replicated (tensor parallelism) against the statistics of whole tensors:
ranks that were given the same batch hold either the same output (counted once) or pieces of
it (added up); replicas with other batches combine as data-parallel ranks do."""

from __future__ import annotations

import numpy as np
import torch

from tb_archviz.callbacks import stats as S


def _raw(t: torch.Tensor) -> np.ndarray:
    return S.act_raw(t, "relu").double().numpy()


def _input(t: torch.Tensor) -> np.ndarray:
    return S.input_raw(t).double().numpy()


def test_pieces_add_up_and_copies_count_once():
    g = torch.Generator().manual_seed(0)
    dp, tp = 2, 2
    batches = [torch.randn(5, 8, generator=g) for _ in range(dp)]
    # leaf 0: column-parallel (feature pieces); leaf 1: replicated (the same tensor);
    # a whole dead unit in one piece of one replica.
    outs = [torch.relu(torch.randn(5, 6, generator=g)) for _ in range(dp)]
    outs[0][:, 1] = 0.0
    reps = [torch.randn(5, 3, generator=g) for _ in range(dp)]
    acts, inputs = [], []
    for k in range(dp):
        pieces = outs[k].chunk(tp, dim=-1)
        for j in range(tp):
            acts.append(np.stack([_raw(pieces[j]), _raw(reps[k])]))
            inputs.append(_input(batches[k]))
    got, got_in = S.combine_replicated(np.stack(acts), np.stack(inputs))

    whole = [np.stack([_raw(outs[k]), _raw(reps[k])]) for k in range(dp)]
    want = S.combine_np(np.stack(whole), S.ACT_OPS)
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    assert got[0, S.raw_col(S.ACT_RAW, "count")] == dp * 5 * 6
    assert got[1, S.raw_col(S.ACT_RAW, "count")] == dp * 5 * 3
    want_in = S.combine_np(np.stack([_input(b) for b in batches]), S.INPUT_OPS)
    np.testing.assert_allclose(got_in, want_in, rtol=1e-6)


def test_ranks_with_other_batches_or_no_input_are_never_merged():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, generator=g)
    same = np.stack([_raw(torch.zeros(4, 3))] * 2)[:, None, :]  # equal rows: dead layer
    # Different batches (data parallel): equal outputs still count twice.
    inputs = np.stack([_input(x), _input(x + 1)])
    got, _ = S.combine_replicated(same, inputs)
    assert got[0, S.raw_col(S.ACT_RAW, "count")] == 24
    # No input seen (NaN rows): every rank stands alone.
    nan_in = np.full((2, len(S.INPUT_RAW)), np.nan)
    got, _ = S.combine_replicated(same, nan_in)
    assert got[0, S.raw_col(S.ACT_RAW, "count")] == 24
    assert S.batch_groups(np.stack([_input(x), _input(x), _input(x + 1)])) == [[0, 1], [2]]
