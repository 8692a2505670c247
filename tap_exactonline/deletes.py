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

import base64
import binascii
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from exactonline_api.errors import DailyLimitReached
from exactonline_api.exact_time import parse_date
from tap_exactonline.reading import PageSource, read_sync, timestamp_of
from tap_exactonline.records import iso_utc
from tap_exactonline.schemas import DELETED_AT

DELETED_PATH = "sync/Deleted"
DELETED_SELECT = ("Timestamp", "EntityType", "EntityKey", "DeletedDate", "Division")
STATE_KEY = "deleted_timestamp"
"""Partition-state key of a stream's delete bookmark (next to singer-sdk's replication_key_value)."""
MEMORY_STATE_KEY = "live_keys"
"""Partition-state key of a stream's `KeyMemory` (the keys it may still tombstone)."""


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


@dataclass(frozen=True)
class Tombstones:
    """A stream tombstones only keys it emitted and remembers (in a `KeyMemory`).

    `row_key` is the field of a row's own key (the stream's key); `group` the field whose value
    a deletion may name for every row sharing it (an invoice for its lines; the row's own key
    when rows are not grouped). A row whose `settled` field holds the given value can no longer
    be deleted in Exact (a processed invoice): its group is forgotten, which keeps the memory to
    rows that can still go.
    """

    row_key: str = "ID"
    group: str = "ID"
    settled: tuple[str, Any] | None = None

    @classmethod
    def of_key(cls, key: str) -> Tombstones:
        """The rule of a stream whose deletions name its rows one by one (every stream with
        deletes unless its table row says otherwise)."""
        return cls(row_key=key, group=key)

    @property
    def fields(self) -> frozenset[str]:
        """What the memory reads of a row (a stream selects these even if it does not emit them)."""
        names = {self.row_key, self.group}
        if self.settled is not None:
            names.add(self.settled[0])
        return frozenset(names)


_FORMAT = "1:"
"""Version prefix of a stored memory: base64 of 16-byte GUIDs (flat: sorted keys; grouped: per
group, sorted, the group, a 4-byte count and its sorted keys)."""
_GUID = 16
_COUNT = 4


def _guid(value: Any, *, exact: bool) -> bytes | None:
    """The 16 bytes of a GUID text; None if it is not one. `exact`: only the canonical text
    (lower case, hyphens), the form Exact sends keys in, so a key stored as bytes comes back as
    the very text that was emitted."""
    if not isinstance(value, str):
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    if exact and str(parsed) != value:
        return None
    return parsed.bytes


def _text(key: bytes) -> str:
    return str(uuid.UUID(bytes=key))


class KeyMemory:
    """The keys a stream emitted that a later deletion may still name, by group.

    A log entry or a row that left the stream's filter gives tombstones only for keys in here;
    anything else (a supplier, a line's key on the header stream, a row created and deleted
    between two runs, a deletion from before the first run) gives none. Keys are added once
    their records are emitted, removed once their tombstones are, and the memory is written into
    the partition state with the bookmark that follows them, so it never holds a key whose
    record a saved state has not passed.

    Kept as GUID bytes in base64: about 22 characters a key in every STATE message. `known` is
    False when the state held no readable memory: the stream then reads from the start once.
    """

    def __init__(self, rule: Tombstones, text: str | None, log: logging.Logger) -> None:
        self.rule = rule
        self._flat = rule.group == rule.row_key
        self._log = log
        self._members: dict[bytes, set[bytes]] = {}
        self._group_of: dict[bytes, bytes] = {}
        self._changed = False
        self._odd_keys = 0
        self.known = text is not None
        if text is None:
            return
        try:
            self._decode(text)
        except ValueError:
            log.warning(
                "The state's %s of a partition is unreadable: the stream reads from the start "
                "to rebuild it (deletions of rows it emitted before are not passed on).",
                MEMORY_STATE_KEY,
            )
            self._members.clear()
            self._group_of.clear()
            self.known = False

    @staticmethod
    def readable(text: Any) -> bool:
        """True when `text` is a stored memory this version reads."""
        try:
            _unpack(text)
        except ValueError:
            return False
        return True

    def __len__(self) -> int:
        return len(self._group_of)

    def keys(self) -> list[str]:
        """The keys held (the stream's key values), sorted."""
        return sorted(map(_text, self._group_of))

    # rows and deletions ---------------------------------------------------------------------

    def saw(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Rows whose records are being emitted: remember their keys, forget settled groups."""
        rule = self.rule
        settled_field, settled_value = rule.settled or (None, None)
        for row in rows:
            group = _guid(row.get(rule.group), exact=self._flat)
            if group is None:
                self._odd_keys += 1
                continue
            if settled_field is not None and row.get(settled_field) == settled_value:
                self._forget(group)
                continue
            member = group if self._flat else _guid(row.get(rule.row_key), exact=True)
            if member is None:
                self._odd_keys += 1
                continue
            if self._group_of.get(member) != group:
                self._forget_member(member)
                self._group_of[member] = group
                self._members.setdefault(group, set()).add(member)
                self._changed = True

    def claim(self, named: Any) -> list[str]:
        """The stream's keys a deletion naming `named` removes (a group: all of its keys), now
        forgotten; [] when `named` is no key the stream emitted."""
        key = _guid(named, exact=False)
        if key is None:
            return []
        members = self._members.pop(key, None)
        if members is not None:
            for member in members:
                del self._group_of[member]
            self._changed = True
            return sorted(map(_text, members))
        if key in self._group_of:
            self._forget_member(key)
            self._changed = True
            return [_text(key)]
        return []

    def store(self, state: dict[str, Any]) -> bool:
        """Write the memory into the partition state if it changed or the state had none (or
        an unreadable one); True when it wrote."""
        if self._odd_keys:
            self._log.warning(
                "%d emitted rows had a %s that is not a GUID: deletions of those rows are not "
                "passed on.",
                self._odd_keys,
                self.rule.row_key,
            )
            self._odd_keys = 0
        if not self._changed and self.known:
            return False
        state[MEMORY_STATE_KEY] = self._encode()
        self._changed = False
        self.known = True
        return True

    # inside ---------------------------------------------------------------------------------

    def _forget(self, group: bytes) -> None:
        members = self._members.pop(group, None)
        if members:
            for member in members:
                del self._group_of[member]
            self._changed = True

    def _forget_member(self, member: bytes) -> None:
        group = self._group_of.pop(member, None)
        if group is None:
            return
        members = self._members[group]
        members.discard(member)
        if not members:
            del self._members[group]

    def _encode(self) -> str:
        if self._flat:
            raw = b"".join(sorted(self._members))
        else:
            parts = []
            for group in sorted(self._members):
                members = sorted(self._members[group])
                parts += [group, len(members).to_bytes(_COUNT, "big"), *members]
            raw = b"".join(parts)
        return _FORMAT + base64.b64encode(raw).decode("ascii")

    def _decode(self, text: str) -> None:
        raw = _unpack(text)
        if self._flat:
            if len(raw) % _GUID:
                raise ValueError("not a whole number of keys")
            for at in range(0, len(raw), _GUID):
                key = raw[at : at + _GUID]
                self._members[key] = {key}
                self._group_of[key] = key
            return
        at = 0
        while at < len(raw):
            group = raw[at : at + _GUID]
            count = int.from_bytes(raw[at + _GUID : at + _GUID + _COUNT], "big")
            at += _GUID + _COUNT
            members = raw[at : at + count * _GUID]
            if len(group) < _GUID or len(members) < count * _GUID:
                raise ValueError("cut off")
            at += count * _GUID
            for start in range(0, len(members), _GUID):
                member = members[start : start + _GUID]
                self._members.setdefault(group, set()).add(member)
                self._group_of[member] = group


def _unpack(text: Any) -> bytes:
    if not isinstance(text, str) or not text.startswith(_FORMAT):
        raise ValueError("not a key memory")
    try:
        return base64.b64decode(text[len(_FORMAT) :], validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None


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
