"""SummarySink: writes archviz summaries through a TensorBoard file writer, keeping the rules.

The sink wraps anything with ``add_summary(summary, global_step)`` (the file writer of
Lightning's ``TensorBoardLogger``, torch's ``SummaryWriter._get_file_writer()``, or the
``EventFileWriter``-backed writer made by :func:`open_event_writer`). It attaches metadata to
the first value of each tag only and refuses non-increasing steps per tag, because the Rust
data server keeps only the last write per step and evicts everything after a step that goes
backwards. No torch here: the plain-PyTorch recorder and the tests use it as is.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, Iterable, Optional

import numpy as np

from tb_archviz import format as fmt

log = logging.getLogger(__name__)


class SummarySink:
    def __init__(self, file_writer: Any, start_steps: Optional[Dict[str, int]] = None):
        if not hasattr(file_writer, "add_summary"):
            raise TypeError("file_writer must have add_summary(summary, global_step)")
        self._writer = file_writer
        # Tags already written by *this* writer carry metadata once; steps per tag.
        self._tagged: set = set()
        self._last_step: Dict[str, int] = dict(start_steps or {})
        self._warned: set = set()

    # -- state for resume ----------------------------------------------------------------
    def last_steps(self) -> Dict[str, int]:
        return dict(self._last_step)

    def _accept(self, tag: str, step: int) -> bool:
        last = self._last_step.get(tag)
        if last is not None and step <= last:
            if tag not in self._warned:
                self._warned.add(tag)
                log.warning("tb_archviz: skipping %s at step %d (already written up to %d); "
                            "TensorBoard needs strictly increasing steps per tag", tag, step, last)
            return False
        self._last_step[tag] = step
        return True

    def _meta(self, tag: str, make):
        if tag in self._tagged:
            return None
        self._tagged.add(tag)
        return make()

    # -- writers -------------------------------------------------------------------------
    def tensor(self, tag: str, step: int, array: np.ndarray, plugin_name: str,
               content: Optional[dict] = None) -> bool:
        if not self._accept(tag, step):
            return False
        meta = self._meta(tag, lambda: fmt.create_metadata(
            plugin_name, fmt.DATA_CLASS_TENSOR, content))
        self._writer.add_summary(fmt.tensor_summary(tag, array, plugin_name, meta), step)
        return True

    def json_blob(self, tag: str, step: int, obj: Any, plugin_name: str,
                  content: Optional[dict] = None) -> bool:
        if not self._accept(tag, step):
            return False
        meta = self._meta(tag, lambda: fmt.create_metadata(
            plugin_name, fmt.DATA_CLASS_BLOB_SEQUENCE, content))
        self._writer.add_summary(fmt.blob_summary(tag, [fmt.encode_json_blob(obj)], meta), step)
        return True

    def scalar(self, tag: str, step: int, value: float, description: str = "") -> bool:
        if not self._accept(tag, step):
            return False
        meta = self._meta(tag, lambda: fmt.scalar_metadata(description))
        self._writer.add_summary(fmt.scalar_summary(tag, value, meta), step)
        return True

    def scalars(self, step: int, values: Dict[str, float]) -> None:
        for tag, value in values.items():
            self.scalar(tag, step, value)

    def flush(self) -> None:
        flush = getattr(self._writer, "flush", None)
        if flush is not None:
            flush()


class EventWriter:
    """A minimal file writer over tensorboard's own ``EventFileWriter`` (no torch)."""

    def __init__(self, logdir: str, filename_suffix: str = ""):
        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        os.makedirs(logdir, exist_ok=True)
        self._event_pb2 = event_pb2
        self._writer = EventFileWriter(logdir, max_queue_size=64, flush_secs=30,
                                       filename_suffix=filename_suffix)
        self.logdir = logdir

    def add_summary(self, summary, global_step: int, walltime: Optional[float] = None) -> None:
        import time

        event = self._event_pb2.Event(summary=summary, step=int(global_step),
                                      wall_time=time.time() if walltime is None else walltime)
        self._writer.add_event(event)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def open_event_writer(logdir: str) -> EventWriter:
    return EventWriter(logdir)

