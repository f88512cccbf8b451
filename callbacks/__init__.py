"""The training side of tb_archviz (needs torch; Lightning for the callback).

* :class:`ArchVizCallback`: add to any Lightning ``Trainer`` (``lightning.pytorch`` or
  ``pytorch_lightning``).
* :class:`ArchVizRecorder`: the same engine for hand-written PyTorch loops.
* :func:`capture_architecture`: the architecture record of a model, as a dict.
"""

from tb_archviz.callbacks.recorder import ArchVizRecorder

__all__ = ["ArchVizCallback", "ArchVizRecorder", "capture_architecture"]


def __getattr__(name):
    # Lazy so that plain-PyTorch users need no Lightning installed.
    if name == "ArchVizCallback":
        from tb_archviz.callbacks.callback import ArchVizCallback

        return ArchVizCallback
    if name == "capture_architecture":
        from tb_archviz.callbacks.capture import capture_architecture

        return capture_architecture
    raise AttributeError(name)
