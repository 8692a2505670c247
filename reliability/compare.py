"""Compare what runs emitted with a clean sync: keyed by stream and primary key, field by field."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reliability.workspace import stream_keys

Key = tuple[str, tuple[Any, ...]]


def keyed(records: Iterable[tuple[str, dict[str, Any]]]) -> tuple[dict[Key, dict[str, Any]], int]:
    """Records by (stream, key); the last one wins, as in a target that upserts by key.
    Also returns how many records repeated a key already seen."""
    keys = stream_keys()
    out: dict[Key, dict[str, Any]] = {}
    repeats = 0
    for stream, record in records:
        key = (stream, tuple(record.get(k) for k in keys[stream]))
        if key in out:
            repeats += 1
        out[key] = record
    return out, repeats


@dataclass
class Difference:
    """How `got` differs from `want`: keys missing, keys extra, keys whose record differs."""

    missing: int
    extra: int
    changed: int
    examples: list[str]

    @property
    def none(self) -> bool:
        return not (self.missing or self.extra or self.changed)


def difference(want: dict[Key, dict[str, Any]], got: dict[Key, dict[str, Any]]) -> Difference:
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    changed = [k for k in want if k in got and got[k] != want[k]]
    examples = [f"missing {k[0]} {k[1]}" for k in missing[:3]]
    examples += [f"extra {k[0]} {k[1]}" for k in extra[:3]]
    examples += [f"changed {k[0]} {k[1]}" for k in changed[:3]]
    return Difference(len(missing), len(extra), len(changed), examples)


def per_stream(records: Iterable[tuple[str, dict[str, Any]]]) -> Counter[str]:
    return Counter(stream for stream, _ in records)
