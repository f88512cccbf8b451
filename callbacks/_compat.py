"""Which Lightning namespaces are installed, and the Callback base classes they offer.

Users' Trainers come from ``lightning.pytorch`` or from ``pytorch_lightning``. Lightning only
ever calls hooks by name, but it checks ``isinstance(x, Callback)`` when a single callback is
passed, so :class:`ArchVizCallback` derives from every ``Callback`` class that is installed.
"""
from __future__ import annotations

import importlib
from typing import List, Tuple, Type

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
