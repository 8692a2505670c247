"""What a stream may still tombstone: the keys it emitted (`KeyMemory`), by the stream's rule
(`Tombstones`).

A soft-delete warehouse turns a tombstone for a key its table never had into a phantom row
holding only that key, so every stream with deletes remembers the keys it emitted, in its
partition state, and a deletion gives tombstones only for keys in there (see `deletes`).

The memory of a stream whose rows are their own group (nearly all) is a sorted run of 16-byte
GUIDs, about 16 bytes a key in memory and 21 in the state: a Python set of a million GUIDs
would take about 100 MB of a tap that reads a million rows in well under 250 MB.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MEMORY_STATE_KEY = "live_keys"
"""Partition-state key of a stream's `KeyMemory` (the keys it may still tombstone)."""


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


def _chunks(raw: bytes) -> Iterator[bytes]:
    return (raw[at : at + _GUID] for at in range(0, len(raw), _GUID))


class SortedKeys:
    """A set of 16-byte keys held as one sorted run (the form the state stores), plus the keys
    added and removed since the run was last rebuilt (`packed`, at each checkpoint)."""

    def __init__(self, run: bytes = b"") -> None:
        if len(run) % _GUID:
            raise ValueError("not a whole number of keys")
        self._run = b""
        self._added: set[bytes] = set()
        self._removed: set[bytes] = set()
        self.changed = False
        """True when the keys differ from the run last packed."""
        if all(a < b for a, b in zip(_chunks(run), _chunks(run[_GUID:]), strict=False)):
            self._run = run
        else:  # not written by this code: sorted (and each key once) at the next `packed`
            self._added = set(_chunks(run))

    def _find(self, key: bytes, lo: int = 0) -> tuple[int, bool]:
        """Where `key` is or would go in the run, and whether it is there."""
        run = self._run
        at = bisect.bisect_left(
            range(len(run) // _GUID), key, lo, key=lambda i: run[i * _GUID : (i + 1) * _GUID]
        )
        return at, run[at * _GUID : (at + 1) * _GUID] == key

    def add(self, key: bytes) -> None:
        self._added.add(key)

    def remove(self, key: bytes) -> bool:
        """Take `key` out; True when it was in."""
        if key in self._added:
            self._added.discard(key)
            if self._find(key)[1]:
                self._removed.add(key)
            return True
        if key in self._removed or not self._find(key)[1]:
            return False
        self._removed.add(key)
        return True

    def packed(self) -> bytes:
        """The keys as one sorted run: the old run with the changes spliced in, copying the
        stretches between them whole."""
        if not (self._added or self._removed):
            return self._run
        run, out, copied, at = self._run, bytearray(), 0, 0
        for key in sorted(self._added | self._removed):
            at, present = self._find(key, at)
            keep = key in self._added
            out += run[copied : at * _GUID]
            copied = (at + present) * _GUID
            if keep:
                out += key
            self.changed = self.changed or keep != present
        out += run[copied:]
        self._run = bytes(out)
        self._added.clear()
        self._removed.clear()
        return self._run

    def __len__(self) -> int:
        return len(self.packed()) // _GUID


class GroupedKeys:
    """Keys by group (an invoice's lines by InvoiceID): a deletion naming the group removes all
    of them. Few streams group their rows, so these are plain dictionaries."""

    def __init__(self, raw: bytes = b"") -> None:
        self._members: dict[bytes, set[bytes]] = {}
        self._group_of: dict[bytes, bytes] = {}
        self.changed = False
        at = 0
        while at < len(raw):
            group = raw[at : at + _GUID]
            count = int.from_bytes(raw[at + _GUID : at + _GUID + _COUNT], "big")
            at += _GUID + _COUNT
            members = raw[at : at + count * _GUID]
            if len(group) < _GUID or len(members) < count * _GUID:
                raise ValueError("cut off")
            at += count * _GUID
            for member in _chunks(members):
                self._members.setdefault(group, set()).add(member)
                self._group_of[member] = group

    def add(self, group: bytes, member: bytes) -> None:
        if self._group_of.get(member) != group:
            self._forget_member(member)
            self._group_of[member] = group
            self._members.setdefault(group, set()).add(member)
            self.changed = True

    def remove_group(self, group: bytes) -> set[bytes]:
        """Take out a group; its keys (none if it is no group)."""
        members = self._members.pop(group, set())
        for member in members:
            del self._group_of[member]
        self.changed = self.changed or bool(members)
        return members

    def remove(self, member: bytes) -> bool:
        if member not in self._group_of:
            return False
        self._forget_member(member)
        self.changed = True
        return True

    def _forget_member(self, member: bytes) -> None:
        group = self._group_of.pop(member, None)
        if group is None:
            return
        members = self._members[group]
        members.discard(member)
        if not members:
            del self._members[group]

    def packed(self) -> bytes:
        parts = []
        for group in sorted(self._members):
            members = sorted(self._members[group])
            parts += [group, len(members).to_bytes(_COUNT, "big"), *members]
        return b"".join(parts)

    def members(self) -> Iterator[bytes]:
        return iter(self._group_of)

    def __len__(self) -> int:
        return len(self._group_of)


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
        self._odd_keys = 0
        self.known = text is not None
        self._keys: SortedKeys | GroupedKeys = SortedKeys() if self._flat else GroupedKeys()
        if text is None:
            return
        try:
            raw = _unpack(text)
            self._keys = SortedKeys(raw) if self._flat else GroupedKeys(raw)
        except ValueError:
            log.warning(
                "The state's %s of a partition is unreadable: the stream reads from the start "
                "to rebuild it (deletions of rows it emitted before are not passed on).",
                MEMORY_STATE_KEY,
            )
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
        return len(self._keys)

    def keys(self) -> list[str]:
        """The keys held (the stream's key values), sorted."""
        keys = self._keys
        held = _chunks(keys.packed()) if isinstance(keys, SortedKeys) else keys.members()
        return sorted(map(_text, held))

    # rows and deletions ---------------------------------------------------------------------

    def saw(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Rows whose records are being emitted: remember their keys, forget settled groups."""
        rule, keys = self.rule, self._keys
        settled_field, settled_value = rule.settled or (None, None)
        for row in rows:
            group = _guid(row.get(rule.group), exact=self._flat)
            if group is None:
                self._odd_keys += 1
                continue
            if settled_field is not None and row.get(settled_field) == settled_value:
                self._forget(group)
                continue
            if isinstance(keys, SortedKeys):
                keys.add(group)
                continue
            member = _guid(row.get(rule.row_key), exact=True)
            if member is None:
                self._odd_keys += 1
                continue
            keys.add(group, member)

    def claim(self, named: Any) -> list[str]:
        """The stream's keys a deletion naming `named` removes (a group: all of its keys), now
        forgotten; [] when `named` is no key the stream emitted."""
        key = _guid(named, exact=False)
        if key is None:
            return []
        keys = self._keys
        if isinstance(keys, GroupedKeys):
            members = keys.remove_group(key)
            if members:
                return sorted(map(_text, members))
        return [_text(key)] if keys.remove(key) else []

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
        raw = self._keys.packed()
        if not self._keys.changed and self.known:
            return False
        state[MEMORY_STATE_KEY] = _FORMAT + base64.b64encode(raw).decode("ascii")
        self._keys.changed = False
        self.known = True
        return True

    def _forget(self, group: bytes) -> None:
        keys = self._keys
        if isinstance(keys, SortedKeys):
            keys.remove(group)
        else:
            keys.remove_group(group)


def _unpack(text: Any) -> bytes:
    if not isinstance(text, str) or not text.startswith(_FORMAT):
        raise ValueError("not a key memory")
    try:
        return base64.b64decode(text[len(_FORMAT) :], validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None
