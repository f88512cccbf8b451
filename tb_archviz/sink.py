"""SummarySink: writes archviz summaries through a TensorBoard file writer, keeping the rules.

The sink wraps anything with ``add_summary(summary, global_step)`` (the file writer of
Lightning's ``TensorBoardLogger``, torch's ``SummaryWriter._get_file_writer()``, or the
``EventFileWriter``-backed writer made by :class:`EventWriter`). It attaches metadata to
the first value of each tag only and refuses non-increasing steps per tag, because the Rust
data server keeps only the last write per step and evicts everything after a step that goes
backwards. No torch here: the plain-PyTorch recorder and the tests use it as is.

It also writes the statistics pyramid (FORMAT.md, "Statistics pyramid"): for every
``archviz/stats/{weights,grads,updates,acts,run}`` tag, the element-wise minimum and maximum
over buckets of :data:`PYRAMID_LEVELS` consecutive logged values, as extra tags
``<tag>@<level>``, so that a reader can draw a long run from a few hundred small tensors
without ever sampling steps away. The callbacks need no change for it.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

from tb_archviz import format as fmt

log = logging.getLogger(__name__)

# Bucket sizes of the statistics pyramid, in consecutive logged values of the source tag.
PYRAMID_LEVELS: Tuple[int, ...] = (10, 100, 1000)
# The tags that get a pyramid: the per-layer statistics and the run-level vector.
PYRAMID_SOURCES = tuple(fmt.TAG_STATS_PREFIX + k for k in fmt.STAT_KINDS) + (fmt.TAG_RUN,)
PYRAMID_PLANES = ("min", "max")


def pyramid_tag(tag: str, level: int) -> str:
    """``archviz/stats/grads`` at level 100 -> ``archviz/stats/grads@100``."""
    return f"{tag}@{int(level)}"


def split_pyramid_tag(tag: str) -> Tuple[str, Optional[int]]:
    """``("archviz/stats/grads", 100)`` for a pyramid tag, ``(tag, None)`` for any other."""
    base, sep, level = tag.rpartition("@")
    if sep and level.isdigit():
        return base, int(level)
    return tag, None


class Pyramid:
    """Running element-wise min/max of one tag over buckets of ``levels`` consecutive values.

    ``add(step, array)`` returns the buckets it completed as ``(level, step, [2, *shape])``
    (plane 0 the minimum, plane 1 the maximum; ``step`` is the bucket's last step). Levels
    nest: a level-100 bucket is ten level-10 buckets, folded in when each one completes, so
    a logging step costs two element-wise operations on the new array. The maximum
    propagates NaN (``np.maximum``: one NaN anywhere in the bucket makes it NaN, so a
    non-finite step can never disappear) and the minimum ignores it (``np.fmin``: NaN only
    when every value was NaN); +/-Inf stay themselves. A different shape (rows added or
    removed) ends every open bucket first (:meth:`finish`), so buckets never mix layouts.
    """

    def __init__(self, levels: Iterable[int] = PYRAMID_LEVELS):
        self.levels = tuple(int(x) for x in levels)
        if any(b % a for a, b in zip(self.levels, self.levels[1:])):
            raise ValueError(f"pyramid levels must divide each other: {self.levels}")
        self.shape: Optional[tuple] = None
        self._lo: List[Optional[np.ndarray]] = [None] * len(self.levels)
        self._hi: List[Optional[np.ndarray]] = [None] * len(self.levels)
        self._count = [0] * len(self.levels)
        self._last_step: Optional[int] = None

    def _fold(self, i: int, lo: np.ndarray, hi: np.ndarray, count: int) -> None:
        if self._count[i] == 0:
            self._lo[i], self._hi[i] = lo.copy(), hi.copy()
        else:
            np.fmin(self._lo[i], lo, out=self._lo[i])
            np.maximum(self._hi[i], hi, out=self._hi[i])
        self._count[i] += count

    def add(self, step: int, array: np.ndarray) -> List[Tuple[int, int, np.ndarray]]:
        a = np.asarray(array, dtype=np.float32)
        out = self.finish() if self.shape is not None and a.shape != self.shape else []
        self.shape = a.shape
        self._last_step = int(step)
        lo = hi = a
        count = 1
        for i, level in enumerate(self.levels):
            self._fold(i, lo, hi, count)
            if self._count[i] < level:
                break
            lo, hi, count = self._lo[i], self._hi[i], self._count[i]
            out.append((level, self._last_step, np.stack([lo, hi])))
            self._count[i] = 0
        return out

    def finish(self) -> List[Tuple[int, int, np.ndarray]]:
        """Close every open bucket (fewer values than its level) at the last step seen."""
        out = []
        carry = None
        for i, level in enumerate(self.levels):
            if carry is not None:
                self._fold(i, *carry)
            carry = None
            if self._count[i]:
                carry = (self._lo[i], self._hi[i], self._count[i])
                out.append((level, self._last_step, np.stack(carry[:2])))
                self._count[i] = 0
        return out


class SummarySink:
    def __init__(self, file_writer: Any, start_steps: Optional[Dict[str, int]] = None):
        if not hasattr(file_writer, "add_summary"):
            raise TypeError("file_writer must have add_summary(summary, global_step)")
        self._writer = file_writer
        # Tags already written by *this* writer carry metadata once; steps per tag.
        self._tagged: set = set()
        self._last_step: Dict[str, int] = dict(start_steps or {})
        self._warned: set = set()
        # One pyramid per source tag; after a resume they start with empty buckets.
        self._pyramids: Dict[str, Pyramid] = {}
        self._pyramid_content: Dict[str, tuple] = {}
        # Set when the writer raised (a closed or unwritable file): every later write is
        # skipped, so a failing disk never stops training.
        self.broken: Optional[str] = None

    # -- state for resume ----------------------------------------------------------------
    def last_steps(self) -> Dict[str, int]:
        return dict(self._last_step)

    def _accept(self, tag: str, step: int) -> bool:
        if self.broken is not None:
            return False
        last = self._last_step.get(tag)
        if last is not None and step <= last:
            if tag not in self._warned:
                self._warned.add(tag)
                log.warning(
                    "tb_archviz: skipping %s at step %d (already written up to %d); "
                    "TensorBoard needs strictly increasing steps per tag",
                    tag,
                    step,
                    last,
                )
            return False
        self._last_step[tag] = step
        return True

    def _break(self, exc: BaseException) -> None:
        self.broken = f"{type(exc).__name__}: {exc}"
        warnings.warn(
            f"tb_archviz: writing the event file failed ({self.broken}); nothing "
            "more is written to this run, training goes on",
            stacklevel=4,
        )

    def _write(self, summary, step: int) -> bool:
        if self.broken is not None:
            return False
        try:
            self._writer.add_summary(summary, step)
        except Exception as exc:  # noqa: BLE001 - a writer failure must not stop training
            self._break(exc)
            return False
        return True

    def _meta(self, tag: str, make):
        if tag in self._tagged:
            return None
        self._tagged.add(tag)
        return make()

    # -- writers -------------------------------------------------------------------------
    def tensor(
        self,
        tag: str,
        step: int,
        array: np.ndarray,
        plugin_name: str,
        content: Optional[dict] = None,
    ) -> bool:
        if not self._accept(tag, step):
            return False
        meta = self._meta(
            tag, lambda: fmt.create_metadata(plugin_name, fmt.DATA_CLASS_TENSOR, content)
        )
        if not self._write(fmt.tensor_summary(tag, array, plugin_name, meta), step):
            return False
        if tag in PYRAMID_SOURCES:
            pyramid = self._pyramids.get(tag)
            if pyramid is None:
                pyramid = self._pyramids[tag] = Pyramid()
            self._pyramid_content.setdefault(tag, (plugin_name, dict(content or {})))
            self._write_buckets(tag, pyramid.add(step, array))
        return True

    def _write_buckets(self, tag: str, buckets) -> None:
        plugin_name, content = self._pyramid_content[tag]
        for level, step, planes in buckets:
            ptag = pyramid_tag(tag, level)
            if not self._accept(ptag, step):
                continue
            meta = self._meta(
                ptag,
                lambda: fmt.create_metadata(
                    plugin_name,
                    fmt.DATA_CLASS_TENSOR,
                    dict(content, level=level, of=tag, planes=list(PYRAMID_PLANES)),
                ),
            )
            self._write(fmt.tensor_summary(ptag, planes, plugin_name, meta), step)

    def finish_pyramids(self) -> None:
        """Write every open pyramid bucket now (end of training; a new layer table)."""
        for tag, pyramid in self._pyramids.items():
            self._write_buckets(tag, pyramid.finish())

    def json_blob(
        self, tag: str, step: int, obj: Any, plugin_name: str, content: Optional[dict] = None
    ) -> bool:
        if not self._accept(tag, step):
            return False
        if tag == fmt.TAG_LAYERS:
            # Rows are about to change: buckets must not mix the old and the new layout.
            self.finish_pyramids()
        meta = self._meta(
            tag, lambda: fmt.create_metadata(plugin_name, fmt.DATA_CLASS_BLOB_SEQUENCE, content)
        )
        return self._write(fmt.blob_summary(tag, [fmt.encode_json_blob(obj)], meta), step)

    def scalar(self, tag: str, step: int, value: float, description: str = "") -> bool:
        if not self._accept(tag, step):
            return False
        meta = self._meta(tag, lambda: fmt.scalar_metadata(description))
        return self._write(fmt.scalar_summary(tag, value, meta), step)

    def flush(self) -> None:
        flush = getattr(self._writer, "flush", None)
        if flush is None or self.broken is not None:
            return
        try:
            flush()
        except Exception as exc:  # noqa: BLE001 - same as a failed write
            self._break(exc)

    def close(self) -> None:
        """End of training: write the open pyramid buckets, then flush (the writer stays open;
        whoever opened it closes it)."""
        self.finish_pyramids()
        self.flush()


class EventWriter:
    """A minimal file writer over tensorboard's own ``EventFileWriter`` (no torch)."""

    def __init__(self, logdir: str, filename_suffix: str = ""):
        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        os.makedirs(logdir, exist_ok=True)
        self._event_pb2 = event_pb2
        self._writer = EventFileWriter(
            logdir, max_queue_size=64, flush_secs=30, filename_suffix=filename_suffix
        )
        self.logdir = logdir

    def add_summary(self, summary, global_step: int, walltime: Optional[float] = None) -> None:
        import time

        event = self._event_pb2.Event(
            summary=summary,
            step=int(global_step),
            wall_time=time.time() if walltime is None else walltime,
        )
        self._writer.add_event(event)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
