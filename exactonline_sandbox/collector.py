"""Pausing Python's cyclic garbage collector while seed rows are generated.

Generated rows are tuples, strings and numbers: they hold no reference cycles, so the collector
never frees any of them. But it runs every few hundred new containers and, once millions of rows
exist, every full collection walks all of them: about a quarter of the CPU time of generating a
million transaction lines. Reference counting still frees everything as usual while paused.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # generations under way (tables generate the tables they rest on, threads overlap)
_was_enabled = False  # the collector's state before the outermost pause


@contextmanager
def paused() -> Iterator[None]:
    """The collector is off inside this block (nested or concurrent blocks included) and back
    in its former state when the last one ends."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
