"""A real model under tensor parallelism: a small Llama from ``transformers`` (random weights,
2 layers, grouped-query attention) with the usual plan - q/k/v and gate/up projections
column-parallel, o and down projections row-parallel - on 2 CPU processes (gloo), in a plain
loop with the recorder. Rank 0's written weight and gradient norms must equal those of the
whole tensors (``full_tensor()``), every activation element be counted once (a projection's
pieces add up, the replicated norms and embeddings count once), and the architecture be
captured from the sharded model without an error."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("torch.distributed.tensor.parallel")

from tb_archviz import format as fmt  # noqa: E402
from tb_archviz import reader  # noqa: E402
from tests import ranks  # noqa: E402

BATCH, SEQ, HIDDEN, KV = 4, 16, 32, 16  # KV: 2 key/value heads of 8

SCRIPT = textwrap.dedent("""
    import json, os, sys, warnings
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    warnings.filterwarnings("ignore")

    def main(rank, world, port, out):
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        torch.set_num_threads(1)
        dist.init_process_group("gloo", rank=rank, world_size=world)
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.tensor.parallel import (ColwiseParallel, RowwiseParallel,
                                                       parallelize_module)
        from transformers import LlamaConfig, LlamaForCausalLM
        from tb_archviz.callbacks import ArchVizRecorder
        mesh = init_device_mesh("cpu", (world,))
        torch.manual_seed(0)
        cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64,
                          num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                          max_position_embeddings=32)
        model = LlamaForCausalLM(cfg)
        plan = {"self_attn.q_proj": ColwiseParallel(), "self_attn.k_proj": ColwiseParallel(),
                "self_attn.v_proj": ColwiseParallel(), "self_attn.o_proj": RowwiseParallel(),
                "mlp.gate_proj": ColwiseParallel(), "mlp.up_proj": ColwiseParallel(),
                "mlp.down_proj": RowwiseParallel()}
        for layer in model.model.layers:
            parallelize_module(layer, mesh, plan)
        rec = ArchVizRecorder(model, logdir=os.path.join(out, "run") if rank == 0 else None,
                              write=rank == 0, log_every_n_steps=1)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        ids = torch.randint(0, 64, (%(batch)d, %(seq)d),
                            generator=torch.Generator().manual_seed(0))
        rec.capture_architecture(ids)
        whole = lambda t: t.full_tensor() if hasattr(t, "full_tensor") else t
        refs = []
        for step in range(3):
            rec.start_step(step, ids)
            loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            rec.before_optimizer_step()
            refs.append({n: [float(whole(p).double().norm()),
                             float(whole(p.grad).double().norm())]
                         for n, p in model.named_parameters()})
            opt.step()
            opt.zero_grad()
            rec.end_step(loss)
        rec.close()
        if rank == 0:
            with open(os.path.join(out, "refs.json"), "w") as f:
                json.dump(refs, f)
        dist.destroy_process_group()

    if __name__ == "__main__":
        mp.spawn(main, args=(2, int(sys.argv[2]), sys.argv[1]), nprocs=2)
""") % {"batch": BATCH, "seq": SEQ}


def test_a_tensor_parallel_llama_is_measured_as_its_whole_tensors(tmp_path):
    proc = ranks.run_script(
        tmp_path / "train_llama_tp.py",
        SCRIPT,
        lambda: [str(tmp_path), str(ranks.free_port())],
        out=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    refs = json.load(open(tmp_path / "refs.json"))
    src = reader.open_logdir(str(tmp_path))
    for family, col in (("weights", 0), ("grads", 1)):
        series = reader.read_stats(src, "run", fmt.stats_tag(family))
        assert list(series.steps) == [0, 1, 2] and sorted(series.rows) == sorted(refs[0])
        for k, step in enumerate(series.steps):
            np.testing.assert_allclose(
                series.values[k, :, series.stats.index("norm")],
                [refs[int(step)][n][col] for n in series.rows],
                rtol=2e-5,
                atol=1e-6,
            )
    acts = reader.read_stats(src, "run", fmt.stats_tag("acts"))
    numel = dict(zip(acts.rows, acts.values[0, :, acts.stats.index("numel")]))
    tokens = BATCH * SEQ
    want = {
        "model.embed_tokens": HIDDEN,
        "self_attn.q_proj": HIDDEN,
        "self_attn.k_proj": KV,
        "self_attn.v_proj": KV,
        "self_attn.o_proj": HIDDEN,
        "mlp.gate_proj": 64,
        "mlp.act_fn": 64,
        "mlp.down_proj": HIDDEN,
        "input_layernorm": HIDDEN,
        "lm_head": 64,
    }
    for suffix, width in want.items():
        rows = [n for n in numel if n.endswith(suffix)]
        assert rows, suffix
        assert all(numel[n] == tokens * width for n in rows), (suffix, [numel[n] for n in rows])
    [(_, record)] = reader.read_architectures(src, "run")["run"]
    assert record["status"] == "ok", record.get("error")
    classes = {m["name"]: m["class"] for m in record["modules"]}
    assert classes["model.layers.0.self_attn.q_proj"] == "Linear"
