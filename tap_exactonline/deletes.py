"""Deletes: sync/Deleted, read once per division per run, and the rule that a stream only ever
tombstones a key it emitted.

Exact removes a deleted row from its sync endpoint and logs it in sync/Deleted (EntityType,
EntityKey = the row's key, DeletedDate). No other connector passes these on; this tap emits each
one on its stream as a record carrying only the key, `Division` and `_sdc_deleted_at`, which
Singer targets turn into a soft or hard delete.

Each stream keeps its own delete bookmark per division (`deleted_timestamp` in its partition
state), so a bookmark only moves past deletions that stream has emitted. The log is read once
per division, from the lowest bookmark of the selected streams, and shared.

A soft-delete warehouse turns a tombstone for a key its table never had into a phantom row
holding only that key, and every stream's log entries may name such keys (a sibling's: both
payments and receivables get EntityType 10; a row created and deleted between two runs; one
deleted before the stream's first run). So every stream with deletes keeps a `KeyMemory` of the
keys it emitted (see `Tombstones`; by default each row is its own group): `customers` also drops
accounts that stop being customers, and the sales invoice streams group by invoice (EntityType
13's key may be the invoice or a line).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from exactonline_api.errors import DailyLimitReached
from exactonline_api.exact_time import parse_date
from tap_exactonline.key_memory import KeyMemory
from tap_exactonline.reading import PageSource, read_sync, timestamp_of
from tap_exactonline.records import iso_utc
from tap_exactonline.schemas import DELETED_AT

DELETED_PATH = "sync/Deleted"
DELETED_SELECT = ("Timestamp", "EntityType", "EntityKey", "DeletedDate", "Division")
STATE_KEY = "deleted_timestamp"
"""Partition-state key of a stream's delete bookmark (next to singer-sdk's replication_key_value)."""


@dataclass(frozen=True)
class Deletion:
    """One sync/Deleted row, reduced to what a stream needs."""

    timestamp: int
    entity_type: int
    key: str
    deleted_at: str | None

    def record(self, key_property: str, division: int, key: str | None = None) -> dict[str, Any]:
        """The Singer record that tells the target this key (default: the logged one) is gone."""
        gone = self.key if key is None else key
        return {key_property: gone, "Division": division, DELETED_AT: self.deleted_at}


@dataclass
class DeletedRead:
    """What one read of sync/Deleted gave: the rows and the bookmark they make safe."""

    since: int
    deletions: list[Deletion] = field(default_factory=list)
    checkpoint: int | None = None
    limit: DailyLimitReached | None = None

    def for_stream(self, entity_types: tuple[int, ...], after: int) -> list[Deletion]:
        """The deletions of those types above a stream's own bookmark, in Timestamp order."""
        chosen = [
            d for d in self.deletions if d.entity_type in entity_types and d.timestamp > after
        ]
        return sorted(chosen, key=lambda d: d.timestamp)


def _deletion(row: dict[str, Any]) -> Deletion | None:
    ts = timestamp_of(row)
    if ts is None or row.get("EntityKey") is None or row.get("EntityType") is None:
        return None
    when = row.get("DeletedDate")
    deleted_at = iso_utc(parse_date(when)) if isinstance(when, str) and when else None
    return Deletion(ts, int(row["EntityType"]), str(row["EntityKey"]), deleted_at)


class DeletedLog:
    """sync/Deleted per division, read at most once per run and shared by every stream."""

    def __init__(
        self,
        client: Callable[[], PageSource],
        floor: Callable[[int], int],
        log: logging.Logger,
    ) -> None:
        self._client = client
        self._floor = floor
        self._log = log
        self._reads: dict[int, DeletedRead] = {}

    def has_read(self, division: int) -> bool:
        """True once this run has read (or tried to read) the division's deletions."""
        return division in self._reads

    def read(self, division: int) -> DeletedRead:
        """The division's deletions above the lowest delete bookmark among selected streams.

        A daily limit hit while reading is kept on the result (`limit`): the rows read so far,
        and the checkpoint they make safe, are still used.
        """
        if division in self._reads:
            return self._reads[division]
        since = self._floor(division)
        result = DeletedRead(since=since, checkpoint=None)
        self._reads[division] = result
        try:
            for page in read_sync(
                self._client(), division, DELETED_PATH, DELETED_SELECT, since, self._log
            ):
                result.deletions.extend(d for d in map(_deletion, page.rows) if d is not None)
                if page.checkpoint is not None:
                    result.checkpoint = page.checkpoint
        except DailyLimitReached as exc:
            result.limit = exc
        self._log.info(
            "sync/Deleted division %s: %d deletions above Timestamp %s%s",
            division,
            len(result.deletions),
            since,
            " (read cut short by the daily limit)" if result.limit else "",
        )
        return result


# -- which keys a stream may tombstone ------------------------------------------------------------


def deletion_records(
    deletions: Iterable[Deletion],
    key_property: str,
    division: int,
    memory: KeyMemory,
) -> tuple[list[dict[str, Any]], int]:
    """The deletion records for a stream's log entries (only for keys in its memory), and how
    many entries named no key of the stream."""
    records: list[dict[str, Any]] = []
    unmatched = 0
    for deletion in deletions:
        keys = memory.claim(deletion.key)
        unmatched += not keys
        records += [deletion.record(key_property, division, key) for key in keys]
    return records, unmatched
