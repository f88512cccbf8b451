"""Low-rate snapshots for the Architecture tab's extra views: small layers' weights (neuron
view) and, for models with a 2-D point input, hidden units over the input plane (playground).

Both are written through the recorder's :class:`~tb_archviz.sink.SummarySink` under plugin
``archviz_graph`` (kept in full by the loaders); the tags and payloads are in ``FORMAT.md``
("View snapshots"). Snapshots never stop training: a failure warns once and is skipped. The
playground forward runs under ``torch.no_grad()`` in eval mode with the CPU RNG forked and
every module's mode restored, so the training trajectory is unchanged.
"""

from __future__ import annotations

import base64
import math
import warnings
from typing import Any, Dict, List, Optional

import torch
from torch import nn

from tb_archviz import format as fmt

TAG_WEIGHTS_PREFIX = fmt.TAG_WEIGHTS_PREFIX
TAG_PLAYGROUND = fmt.TAG_PLAYGROUND

MAX_UNITS = 64  # neuron view: Linear in/out, RNN hidden/input sizes
MAX_CONV_PAIRS = 64 * 64  # in_channels * out_channels
MAX_KERNEL = 25  # kernel elements (5x5)
MAX_WEIGHT_MODULES = 32
WEIGHT_FLOATS_PER_LOG = 400
GRID = 32  # playground grid side
MAX_PLANE_LAYERS = 8
MAX_PLANE_UNITS = 16
MAX_POINTS = 256


def neuron_kind(module: nn.Module) -> Optional[str]:
    """``"linear"``, ``"conv"`` or ``"recurrent"`` when the module is small enough to draw as
    neurons, else None."""
    if isinstance(module, nn.Linear):
        ok = module.in_features <= MAX_UNITS and module.out_features <= MAX_UNITS
        return "linear" if ok else None
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        k = math.prod(module.kernel_size)
        ok = module.in_channels * module.out_channels <= MAX_CONV_PAIRS and k <= MAX_KERNEL
        return "conv" if ok else None
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)):
        ok = module.hidden_size <= MAX_UNITS and module.input_size <= MAX_UNITS
        return "recurrent" if ok else None
    return None


def _is_dtensor(t: torch.Tensor) -> bool:
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # torch built without distributed
        return False
    return isinstance(t, DTensor)


def _collective_forward_risk() -> bool:
    """True when an extra forward on the writing rank alone could run collectives (FSDP
    all-gathers, SyncBatchNorm) and hang: the playground is then skipped."""
    dist = torch.distributed
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def small_layers(model: nn.Module) -> List[tuple]:
    """``[(module name, module, kind)]`` of the layers the neuron view can draw (capped)."""
    out = []
    for name, mod in model.named_modules():
        kind = neuron_kind(mod)
        if kind is not None:
            out.append((name, mod, kind))
            if len(out) >= MAX_WEIGHT_MODULES:
                break
    return out


def _quantize(values: torch.Tensor) -> Dict[str, Any]:
    """One unit's plane as 8-bit codes between its own min and max (base64)."""
    lo = float(values.min())
    hi = float(values.max())
    scale = (hi - lo) if hi > lo else 1.0
    codes = ((values - lo) / scale * 255.0).round().clamp(0, 255).to(torch.uint8)
    return {"lo": lo, "hi": hi, "q": base64.b64encode(codes.numpy().tobytes()).decode("ascii")}


class Snapshots:
    """Writes weight snapshots every ``weights_every`` logging steps and playground planes at
    every logging step (when the example input is a 2-D point batch)."""

    def __init__(self, model: nn.Module, weights_every: int = 10, grid: int = GRID):
        if not isinstance(weights_every, int) or weights_every < 1:
            raise ValueError(f"weights_every must be a positive int, got {weights_every!r}")
        self.model = model
        self.grid = grid
        self.layers = small_layers(model)
        # Storage budget: on average at most WEIGHT_FLOATS_PER_LOG values per logging step, so
        # a deep stack of small layers snapshots less often (benchmarks/storage.py).
        total = sum(p.numel() for _, m, _ in self.layers for p in m.parameters(recurse=False))
        self.weights_every = max(weights_every, math.ceil(total / WEIGHT_FLOATS_PER_LOG))
        self.plane = False
        self._plane_leaves: List[str] = []
        self._count = 0
        self._batch: Optional[torch.Tensor] = None
        self._targets: Any = None
        self._lo: Optional[torch.Tensor] = None
        self._hi: Optional[torch.Tensor] = None
        self._warned = False
        self._last_weights: Optional[int] = None

    # -- setup -----------------------------------------------------------------------------
    def set_architecture(self, example: Any, record: Optional[dict]) -> None:
        """Turn the playground on when the example input is a float ``[N, 2]`` tensor; the
        leaves to show are those with a ``[N, k]`` output (k <= 64), in forward order."""
        self.plane = (
            isinstance(example, torch.Tensor)
            and example.dim() == 2
            and example.shape[1] == 2
            and example.is_floating_point()
        )
        if not self.plane or not record:
            self._plane_leaves = []
            return
        leaves = []
        for m in record.get("modules", []):
            if not m.get("leaf") or m.get("order") is None or not m.get("io"):
                continue
            outs = m["io"][0].get("outputs") or []
            shape = outs[0].get("shape") if outs else None
            if shape and len(shape) == 2 and shape[1] <= MAX_UNITS and "Dropout" not in m["class"]:
                leaves.append((m["order"], m["name"]))
        self._plane_leaves = [n for _, n in sorted(leaves)][:MAX_PLANE_LAYERS]

    # -- steps -----------------------------------------------------------------------------
    def remember(self, batch: Any, targets: Any = None) -> None:
        """Keep the logging step's input batch (a reference) and widen the plane's range."""
        if (
            not self.plane
            or not isinstance(batch, torch.Tensor)
            or batch.dim() != 2
            or batch.shape[-1] != 2
        ):
            return
        x = batch.detach()
        self._batch = x
        self._targets = targets.detach() if isinstance(targets, torch.Tensor) else None
        lo, hi = x.amin(0).float().cpu(), x.amax(0).float().cpu()
        self._lo = lo if self._lo is None else torch.minimum(self._lo, lo)
        self._hi = hi if self._hi is None else torch.maximum(self._hi, hi)

    def logging_step(self, step: int, sink, final: bool = False) -> None:
        if sink is None:
            return
        try:
            if (
                self.layers
                and (self._count % self.weights_every == 0 or final)
                and self._last_weights != step
            ):
                self.write_weights(step, sink)
            if (
                self.plane
                and self._batch is not None
                and not final
                and not _collective_forward_risk()
            ):
                self.write_plane(step, sink)
        except Exception as exc:  # snapshots must never stop training
            if not self._warned:
                self._warned = True
                warnings.warn(f"tb_archviz: view snapshot skipped: {exc!r}", stacklevel=2)
        finally:
            if not final:
                self._count += 1
            self._batch = None
            self._targets = None

    # -- writers ---------------------------------------------------------------------------
    def write_weights(self, step: int, sink) -> None:
        for name, mod, kind in self.layers:
            for pname, p in mod.named_parameters(recurse=False):
                if _is_dtensor(p):
                    # A sharded (FSDP2) parameter: only rank 0 writes, and gathering the
                    # whole tensor would need every rank; leave it out of the neuron view.
                    continue
                full = f"{name}.{pname}" if name else pname
                sink.tensor(
                    TAG_WEIGHTS_PREFIX + full,
                    step,
                    p.detach().float().cpu().numpy(),
                    fmt.PLUGIN_GRAPH,
                    content={
                        "module": name,
                        "param": pname,
                        "class": type(mod).__name__,
                        "kind": kind,
                    },
                )
        self._last_weights = step

    def plane_payload(self) -> Optional[dict]:
        """Evaluate the model on a grid over the inputs' range; hidden units' values per leaf."""
        if self._lo is None or not self._plane_leaves:
            return None
        span = (self._hi - self._lo).clamp(min=1e-6)
        lo = (self._lo - 0.15 * span).tolist()
        hi = (self._hi + 0.15 * span).tolist()
        n = self.grid
        param = next(self.model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
        xs = torch.linspace(lo[0], hi[0], n)
        ys = torch.linspace(lo[1], hi[1], n)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # row = y, column = x
        grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).to(device=device, dtype=dtype)
        modules = dict(self.model.named_modules())
        outs: Dict[str, torch.Tensor] = {}
        hooks = []
        modes = [(m, m.training) for m in self.model.modules()]

        def keep(name):
            def hook(module, args, out):
                if isinstance(out, torch.Tensor) and name not in outs:
                    outs[name] = out.detach()

            return hook

        try:
            for name in self._plane_leaves:
                if name in modules:
                    hooks.append(modules[name].register_forward_hook(keep(name)))
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                self.model.eval()
                self.model(grid)
        finally:
            for hk in hooks:
                hk.remove()
            for m, mode in modes:
                m.training = mode
        layers = []
        for name in self._plane_leaves:
            out = outs.get(name)
            if out is None or out.dim() != 2 or out.shape[0] != n * n:
                continue
            vals = out.float().cpu()
            units = [_quantize(vals[:, u]) for u in range(min(vals.shape[1], MAX_PLANE_UNITS))]
            layers.append(
                {
                    "name": name,
                    "class": type(modules[name]).__name__,
                    "units": vals.shape[1],
                    "planes": units,
                }
            )
        x = self._batch[:MAX_POINTS].float().cpu()
        labels = None
        if (
            isinstance(self._targets, torch.Tensor)
            and self._targets.shape[:1] == self._batch.shape[:1]
        ):
            t = self._targets[:MAX_POINTS].cpu()
            if t.dim() > 1:
                t = t.argmax(-1) if t.shape[-1] > 1 else t.reshape(-1)
            labels = [int(v) if not t.is_floating_point() else float(v) for v in t.tolist()]
        return {
            "schema": fmt.SCHEMA_VERSION,
            "grid": {"n": n, "x": [lo[0], hi[0]], "y": [lo[1], hi[1]]},
            "layers": layers,
            "points": [[round(a, 4), round(b, 4)] for a, b in x.tolist()],
            "labels": labels,
        }

    def write_plane(self, step: int, sink) -> None:
        payload = self.plane_payload()
        if payload is not None:
            sink.json_blob(
                TAG_PLAYGROUND, step, payload, fmt.PLUGIN_GRAPH, content={"encoding": "json+gzip"}
            )
