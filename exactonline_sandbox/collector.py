"""Holding off Python's full garbage collections while seed rows are generated.

Generated rows are tuples, strings and numbers: they hold no reference cycles, so the cyclic
collector never frees any of them. Its young collections stay cheap (they look only at objects
made since the last one, and stop tracking tuples of plain values), but a full collection walks
every tracked object, and while millions of rows are being made the collector runs one each time
the long-lived objects have grown by a quarter: a dozen and more walks over all the rows made so
far, about a quarter of the CPU time of a million transaction lines. Inside `full_collections_held`
only the young collections run; the full ones resume afterwards (the next walks the rows once).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: A gen-2 threshold no generation reaches: young collections go on, full ones wait.
_NEVER = 1 << 30

_lock = threading.Lock()
_depth = 0  # generations under way (tables generate the tables they rest on, threads overlap)
_thresholds = gc.get_threshold()  # the collector's thresholds before the outermost block


@contextmanager
def full_collections_held() -> Iterator[None]:
    """No full collection inside this block (nested or concurrent blocks included); the
    collector's former thresholds are back when the last one ends."""
    global _depth, _thresholds
    with _lock:
        if _depth == 0:
            _thresholds = gc.get_threshold()
            gc.set_threshold(_thresholds[0], _thresholds[1], _NEVER)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_thresholds)
