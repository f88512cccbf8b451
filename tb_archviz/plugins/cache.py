"""The plugins' one cache: computed answers by request key, valid while their data version holds.

Decoding records and statistics and encoding JSON are most of a request's time, and the same
data gives the same answer; a key's version (the listing's ``max_step`` and wall time, or a
fingerprint of the blobs read) tells when the data moved on. Least recently used entries are
dropped beyond a number of entries or of bytes. One instance per plugin, never module-global.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Hashable, Optional, Tuple


class LRUCache:
    """Values by key with the version each was computed from; beyond ``max_entries`` entries
    or ``max_bytes`` (each value's size as ``size(value)`` says), the least recently used go.
    Thread-safe: TensorBoard serves requests from several threads."""

    def __init__(
        self,
        max_entries: int,
        max_bytes: Optional[int] = None,
        size: Callable[[Any], int] = lambda value: 0,
    ):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._size = size
        self._items: "collections.OrderedDict[Hashable, Tuple[Any, Any, int]]" = (
            collections.OrderedDict()
        )
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Any = None) -> Optional[Any]:
        """The value kept for ``key`` if it was computed from ``version``, else None."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] != version:
                return None
            self._items.move_to_end(key)
            return hit[1]

    def put(self, key: Hashable, value: Any, version: Any = None) -> None:
        """Keep ``value`` for ``key`` (replacing any older version), then drop the least
        recently used entries beyond the limits."""
        nbytes = self._size(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[2]
            self._items[key] = (version, value, nbytes)
            self._bytes += nbytes
            while self._items and (
                len(self._items) > self.max_entries
                or (self.max_bytes is not None and self._bytes > self.max_bytes)
            ):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped[2]

    def __len__(self) -> int:
        return len(self._items)
