"""The queries the tap sends stay within what a real Exact server accepts."""

from __future__ import annotations

from exactonline_api.client import encode_query
from exactonline_api.entities import entity
from tap_exactonline.reading import sync_params
from tap_exactonline.stream import ExactSyncStream
from tap_exactonline.tap import TapExactOnline

# IIS (Exact's web server) refuses query strings over 2,048 bytes by default.
MAX_QUERY = 2048
INT64_MAX = 2**63 - 1


def test_every_sync_query_fits_the_default_query_string_limit_even_for_a_shared_read() -> None:
    tap = TapExactOnline(config={"client_id": "x", "client_secret": "y"}, parse_env_config=False)
    streams = [s for s in tap.streams.values() if isinstance(s, ExactSyncStream)]
    for stream in streams:
        # every stream selected: a shared read selects its siblings' fields too
        select, _, group = stream.read_request(758984)
        if stream.spec.shared_read:
            assert len(group) == 2
        assert set(select) <= set(entity(stream.spec.entity).field_names)
        assert "Timestamp" in select and all(k in select for k in stream.spec.key)
        query = encode_query(sync_params(select, INT64_MAX))
        assert len(query.encode()) <= MAX_QUERY, (stream.name, len(query))
