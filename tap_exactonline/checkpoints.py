"""Checkpoints: when the partitions' progress goes into the tap state, so STATE stays small.

Every STATE message carries the whole tap state, and the state holds every stream's key memory
(`deletes.KeyMemory`, about 21 bytes a key a stream may still tombstone). Moving each partition's
bookmark after every page, as before, wrote that whole state again every 1,000 records: at scale
10 the STATE messages came to 58% of the RECORD bytes. So a partition's progress (bookmarks, key
memory, flags) is kept on a working copy while it reads, and goes into the state at a checkpoint,
for every partition with progress at once:

- after a page (all of its records written) when the records written since the last checkpoint
  are at least `1 / STATE_SHARE` times the size of the state the last checkpoint wrote, so the
  STATE messages of a run weigh about `STATE_SHARE` of its records at most;
- at the end of the run (`Session.finish`), whatever was written since: the last STATE message
  holds every partition's progress.

A checkpoint only ever takes progress whose records were written (a working copy moves after a
page's last record), so a saved state never covers a record not written. A run that is killed
between checkpoints re-reads from the last one: at most about 1 / STATE_SHARE times the state's
size in records, and with small states (a state of a few KB) every page is a checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from tap_exactonline.deletes import STATE_KEY as DELETED_STATE_KEY
from tap_exactonline.key_memory import MEMORY_STATE_KEY, KeyMemory

BOOKMARK = "replication_key_value"
UNFINISHED = "unfinished"
"""Partition-state flag: the last read of this partition was cut off (set at its start)."""
STATE_SHARE = 0.1
"""At most this share of a run's output is STATE (a checkpoint waits for 10x its size)."""
PROGRESS_KEYS = ("replication_key", BOOKMARK, UNFINISHED, DELETED_STATE_KEY, MEMORY_STATE_KEY)
"""What a partition's progress is made of (the rest of its state is singer-sdk's)."""


def record_bytes(record: dict[str, Any]) -> int:
    """About what a record weighs on stdout (its JSON)."""
    return len(orjson.dumps(record, default=str))


@dataclass
class _Progress:
    state: dict[str, Any]
    """The SDK's partition state (what STATE messages carry)."""
    working: dict[str, Any]
    memory: KeyMemory | None


class Checkpoints:
    """The partitions' progress, and when it goes into the state."""

    def __init__(self, state_bytes: Callable[[], int]) -> None:
        self._state_bytes = state_bytes
        self._partitions: dict[int, _Progress] = {}
        """Every partition this run read, by its state's id (a checkpoint copies them all)."""
        self._since = 0
        self._last_size: int | None = None

    def working(self, state: dict[str, Any], memory: KeyMemory | None) -> dict[str, Any]:
        """A working copy of a partition's state: the partition moves it, a checkpoint copies it
        (and the memory, encoded then) into `state`."""
        progress = self._partitions.get(id(state))
        if progress is None:
            progress = _Progress(state, dict(state), memory)
            # Without `replication_key` beside the bookmark (earlier versions wrote it) the
            # `starting_replication_value` singer-sdk notes at a partition's start stays null,
            # so it changes no state, and writes no STATE, once it is there.
            progress.working.pop("replication_key", None)
            self._partitions[id(state)] = progress
        return progress.working

    def cut_off(self, state: dict[str, Any]) -> None:
        """Mark a partition's read as cut off: on its working copy if it has one (a sync
        stream's), else on `state` itself (a `Modified` stream's, which moves its state)."""
        progress = self._partitions.get(id(state))
        (progress.working if progress else state)[UNFINISHED] = True

    def written(self, nbytes: int) -> None:
        """Records of that size were written."""
        self._since += nbytes

    def page_done(self) -> bool:
        """After a partition's page (its records all written): a checkpoint if one is due."""
        if self._last_size is None:
            self._last_size = self._state_bytes()
        if self._since * STATE_SHARE < self._last_size:
            return False
        self.commit()
        return True

    def commit(self) -> None:
        """Every partition's progress into the state (all of it covers written records)."""
        for progress in self._partitions.values():
            if progress.memory is not None:
                progress.memory.store(progress.working)
            for key in PROGRESS_KEYS:
                if key in progress.working:
                    progress.state[key] = progress.working[key]
                else:
                    progress.state.pop(key, None)
        self._since = 0
        self._last_size = self._state_bytes()
