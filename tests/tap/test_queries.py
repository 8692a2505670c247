"""The queries the tap sends stay within what a real Exact server accepts."""

from __future__ import annotations

from datetime import UTC, datetime

from exactonline_api.client import encode_query
from exactonline_api.entities import entity, names
from tap_exactonline.modified import ModifiedStream, modified_params
from tap_exactonline.reading import sync_params
from tap_exactonline.spec import MODIFIED, SYNC
from tap_exactonline.stream import ExactSyncStream
from tap_exactonline.tap import TapExactOnline

# IIS (Exact's web server) refuses query strings over 2,048 bytes by default.
MAX_QUERY = 2048
INT64_MAX = 2**63 - 1


def test_every_sync_query_fits_the_default_query_string_limit_even_for_a_shared_read() -> None:
    tap = TapExactOnline(config={"client_id": "x", "client_secret": "y"}, parse_env_config=False)
    streams = [s for s in tap.streams.values() if isinstance(s, ExactSyncStream)]
    for stream in (s for s in streams if s.spec.mode == SYNC):
        # every stream selected: a shared read selects its siblings' fields too
        select, _, group = stream.read_request(758984)
        if stream.spec.shared_read:
            assert len(group) == 2
        assert set(select) <= set(entity(stream.spec.entity).field_names)
        assert "Timestamp" in select and all(k in select for k in stream.spec.key)
        query = encode_query(sync_params(select, INT64_MAX))
        assert len(query.encode()) <= MAX_QUERY, (stream.name, len(query))


def test_every_modified_and_full_table_query_fits_the_limit_and_selects_the_key() -> None:
    tap = TapExactOnline(config={"client_id": "x", "client_secret": "y"}, parse_env_config=False)
    tables = [s for s in tap.streams.values() if isinstance(s, ModifiedStream)]
    assert len(tables) == 22
    latest = datetime(2099, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    # Exact throttles unfiltered reads of endpoints that have a sync API: none is read so
    synced = {entity(n).url.lower().removeprefix("sync/") for n in names() if n.startswith("Sync")}
    for stream in tables:
        select = [f.name for f in stream.spec.field_list]
        assert all(k in select for k in stream.spec.key)
        by_modified = stream.spec.mode == MODIFIED
        assert by_modified == ("Modified" in select)
        query = encode_query(modified_params(select, latest, by_modified=by_modified))
        assert len(query.encode()) <= MAX_QUERY, (stream.name, len(query))
        regular = stream.spec.path.lower().removeprefix("bulk/")
        assert regular not in synced, stream.name
