"""One row of the stream table: what a stream reads and how its rows become records.

Kept apart from the base stream class so the table in `streams.py` reads as data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from exactonline_api.entities import Entity, Field, entity, names
from tap_exactonline.key_memory import Tombstones
from tap_exactonline.schemas import select_fields, stream_schema

RowFilter = Callable[[Mapping[str, Any]], bool]

SYNC = "sync"
"""Read from a sync endpoint, incremental on `Timestamp` (deletes from sync/Deleted)."""
MODIFIED = "modified"
"""No sync endpoint: read the bulk (or else regular) endpoint by `Modified ge` the bookmark."""
FULL = "full"
"""Neither a sync endpoint nor a `Modified` field: the whole table on every run."""


@dataclass(frozen=True)
class StreamSpec:
    """A stream of the tap.

    `entity` is a catalogue name (`SyncAccount`); `fields` limits the stream to those catalogue
    fields (None: every scalar field). `keep` is a client-side row filter, needed because sync
    endpoints filter on Timestamp only. `deleted_types` are the sync/Deleted EntityTypes whose
    rows arrive on this stream as `_sdc_deleted_at` records, only those naming a key the stream
    emitted and remembers (see `deletes.Tombstones`): `tombstones` says how, by default the
    stream's own key (`Tombstones.of_key`), so every stream with deletes keeps a key memory and a
    row of the stream table needs nothing more. Streams with the same
    `shared_read` read their endpoint once per run between them. `one_per` collapses rows to one
    record per value of that field (sales invoice headers from a line-per-row endpoint). With
    `leaving_deletes`, a row that no longer passes `keep` on an incremental run (a customer
    turned prospect) is emitted as a `_sdc_deleted_at` record if the stream remembers emitting
    it, so it leaves the stream's table. `mode` is how it reads: `SYNC`, `MODIFIED` or `FULL`.
    """

    name: str
    entity: str
    key: tuple[str, ...]
    fields: tuple[str, ...] | None = None
    keep: RowFilter | None = None
    leaving_deletes: bool = False
    deleted_types: tuple[int, ...] = ()
    tombstones: Tombstones | None = None
    shared_read: str | None = None
    one_per: str | None = None
    incremental: bool = True
    description: str = ""
    mode: str = SYNC

    @cached_property
    def catalogue(self) -> Entity:
        return entity(self.entity)

    @property
    def path(self) -> str:
        """The endpoint below `/api/v1/{division}/`: for a `MODIFIED` read the bulk endpoint
        where the catalogue has one (1,000 rows a call instead of 60)."""
        if self.mode == MODIFIED and f"Bulk{self.entity}" in names():
            return entity(f"Bulk{self.entity}").url
        return self.catalogue.url

    @cached_property
    def field_list(self) -> list[Field]:
        """The stream's catalogue fields (validated against the catalogue at first use)."""
        return select_fields(self.catalogue, self.fields)

    def __post_init__(self) -> None:
        if self.tombstones is None and self.deleted_types:
            # frozen dataclass: the default rule is set once, here
            object.__setattr__(self, "tombstones", Tombstones.of_key(self.key[0]))
        rule = self.tombstones
        if rule is not None:
            assert rule.row_key == self.key[0], f"{self.name}: remembers another key"
            assert self.deleted_types, f"{self.name}: a key memory without deletes"
        assert not self.leaving_deletes or rule is not None, f"{self.name}: leaving needs memory"
        assert self.mode in (SYNC, MODIFIED, FULL), f"{self.name}: unknown mode {self.mode!r}"
        assert self.mode == SYNC or not self.deleted_types, f"{self.name}: deletes need sync"

    @cached_property
    def read_fields(self) -> frozenset[str]:
        """What the stream reads of each row: its own fields and what its key memory needs."""
        memory = self.tombstones.fields if self.tombstones is not None else frozenset()
        return frozenset({f.name for f in self.field_list} | memory)

    @cached_property
    def schema(self) -> dict:
        return stream_schema(self.field_list, deletes=bool(self.deleted_types))

    @property
    def replication_key(self) -> str | None:
        if not self.incremental or self.mode == FULL:
            return None
        return "Modified" if self.mode == MODIFIED else "Timestamp"
