"""The private singer-sdk hook the tap's streams override still exists and is still called.

`ExactSyncStream._increment_stream_state` replaces the SDK's per-record bookmark with the tap's
per-page one (see its docstring). If a singer-sdk release renamed or stopped calling it, the SDK
would move bookmarks to record Timestamps (and fail on deletion records, which have none):
these tests say so before a run does.
"""

from __future__ import annotations

import inspect

from singer_sdk.streams import Stream

from tap_exactonline.stream import ExactSyncStream

HOOK = "_increment_stream_state"


def test_singer_sdk_still_has_the_per_record_state_hook_with_the_same_signature() -> None:
    assert hasattr(Stream, HOOK), (
        f"singer-sdk no longer has Stream.{HOOK}: ExactSyncStream's override is dead code and "
        "the SDK would move bookmarks per record; move the per-page bookmark to the new hook"
    )
    sdk = inspect.signature(getattr(Stream, HOOK))
    ours = inspect.signature(getattr(ExactSyncStream, HOOK))
    assert list(sdk.parameters) == list(ours.parameters), (
        f"singer-sdk changed the signature of Stream.{HOOK} to {sdk}; adapt ExactSyncStream's"
    )


def test_singer_sdk_calls_the_hook_for_every_record_it_writes() -> None:
    source = inspect.getsource(Stream._sync_records)  # noqa: SLF001
    assert f"self.{HOOK}(record" in source, (
        f"singer-sdk's Stream._sync_records no longer calls {HOOK} per record: check how it "
        "now moves bookmarks before trusting ExactSyncStream's per-page bookmarks"
    )
