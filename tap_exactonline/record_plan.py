"""Which of singer-sdk's per-record steps can be skipped for one stream, decided once per sync.

For every record singer-sdk 0.54 (`Stream._generate_record_messages`) walks the catalog's
selection mask key by key (`pop_deselected_record_properties`), computes the effective schema,
runs type conformance and the stream map, then builds the RECORD message. For this tap's records
most of that provably changes nothing, and it was a fifth of the tap's time:

- deselection only removes top-level properties whose breadcrumb is deselected: with a mask of
  nothing deeper than `("properties", name)` (the tap's schemas are flat), that is a fixed set of
  names, known before the first record;
- conformance is off (`TypeConformanceLevel.NONE`: `RecordShaper` already emits schema types);
- the default stream map (no `stream_maps`, no flattening) returns the record unchanged.

When any of that does not hold (a nested breadcrumb in the catalog, stream maps, flattening,
conformance), `build` answers None and the stream keeps singer-sdk's own path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform


@dataclass(frozen=True)
class RecordPlan:
    """What writing one record needs: the properties to drop and the stream name to write."""

    deselected: tuple[str, ...]
    alias: str

    @classmethod
    def build(
        cls, mask: Mapping[tuple[str, ...], bool], maps: Sequence[Any], level: Any
    ) -> RecordPlan | None:
        """The plan, or None when singer-sdk's per-record steps may change a record."""
        if level != TypeConformanceLevel.NONE:
            return None
        if len(maps) != 1 or type(maps[0]) is not SameRecordTransform:
            return None
        stream_map = maps[0]
        if stream_map.flattening_options and stream_map.flattening_enabled:
            return None
        deselected: list[str] = []
        for breadcrumb, selected in mask.items():
            if breadcrumb == ():
                if not selected:
                    return None  # unknown properties would default to deselected
                continue
            if len(breadcrumb) != 2 or breadcrumb[0] != "properties":
                return None
            if not selected:
                deselected.append(breadcrumb[1])
        return cls(deselected=tuple(deselected), alias=stream_map.stream_alias)
