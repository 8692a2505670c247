"""Choosing streams and properties in the tap's Singer catalog, as Meltano's `select` does.

For running the tap without Meltano (`--catalog`): the tests, benchmarks and reliability runs
use it, and so can a user's own script.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def select_streams(
    catalog: dict[str, Any],
    streams: Collection[str] | None = None,
    deselect: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Any]:
    """`catalog` (changed in place, and returned) with only `streams` selected (None: every
    stream), and the properties named in `deselect` (stream -> property names) left out."""
    for entry in catalog["streams"]:
        stream = entry["tap_stream_id"]
        dropped = set((deselect or {}).get(stream, ()))
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = streams is None or stream in streams
            elif meta["breadcrumb"][-1] in dropped:
                meta["metadata"]["selected"] = False
    return catalog


def offline_catalog() -> dict[str, Any]:
    """The tap's catalog, discovered without a call (its streams come from the catalogue)."""
    from tap_exactonline.tap import TapExactOnline

    tap = TapExactOnline(
        config={"client_id": "offline", "client_secret": "offline"}, parse_env_config=False
    )
    return tap.catalog_dict
