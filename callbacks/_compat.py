"""Which Lightning namespaces are installed, and the Callback base classes they offer.

Users' Trainers come from ``lightning.pytorch`` or from ``pytorch_lightning``. Lightning only
ever calls hooks by name, but it checks ``isinstance(x, Callback)`` when a single callback is
passed, so :class:`ArchVizCallback` derives from every ``Callback`` class that is installed.
Strategies are recognised by the classes of either namespace the same way.
"""

from __future__ import annotations

import importlib
from typing import Any, List, Tuple, Type

NAMESPACES = ("lightning.pytorch", "pytorch_lightning")


def callback_bases() -> Tuple[Type, ...]:
    bases: List[Type] = []
    for ns in NAMESPACES:
        try:
            mod = importlib.import_module(ns)
        except ImportError:
            continue
        cls = getattr(mod, "Callback", None)
        if cls is not None and cls not in bases:
            bases.append(cls)
    if not bases:
        raise ImportError(
            "tb_archviz.callbacks.ArchVizCallback needs Lightning: pip install lightning "
            "(or pytorch_lightning). Without Lightning, use tb_archviz.callbacks.ArchVizRecorder."
        )
    return tuple(bases)


def tensorboard_logger_classes() -> Tuple[Type, ...]:
    classes: List[Type] = []
    for ns in NAMESPACES:
        try:
            mod = importlib.import_module(ns + ".loggers")
        except ImportError:
            continue
        cls = getattr(mod, "TensorBoardLogger", None)
        if cls is not None:
            classes.append(cls)
    return tuple(classes)


def _classes(module_suffix: str, name: str) -> Tuple[Type, ...]:
    classes: List[Type] = []
    for ns in NAMESPACES:
        try:
            mod = importlib.import_module(ns + module_suffix)
        except ImportError:
            continue
        cls = getattr(mod, name, None)
        if cls is not None:
            classes.append(cls)
    return tuple(classes)


def is_fsdp_strategy(strategy: Any) -> bool:
    """Lightning's ``FSDPStrategy`` (FSDP1), or a subclass of it: it wraps the model after the
    callbacks' ``setup``, and a forward through the wrapped model outside FSDP's own order
    breaks FSDP's lazy initialisation."""
    classes = _classes(".strategies", "FSDPStrategy")
    return bool(classes) and strategy is not None and isinstance(strategy, classes)


def fsdp1_modules(model: Any) -> List[str]:
    """Names of the FSDP1 (``FullyShardedDataParallel``) units inside ``model``."""
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel
    except ImportError:
        return []
    return [n for n, m in model.named_modules() if isinstance(m, FullyShardedDataParallel)]
