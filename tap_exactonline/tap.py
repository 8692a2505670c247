"""tap-exactonline: customers, payments, receivables, invoices and the books, from every division.

The shared client (`exactonline_api`) owns OAuth, the token store, the throttle and retries; this
module only adds the tap's own settings and the stream list. What one run shares (divisions, the
parallel page fetcher, daily-limit stops, failed divisions) is the `Session`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter

from exactonline_api.redact import install_redaction
from exactonline_api.settings import CLIENT_SETTINGS_SCHEMA
from tap_exactonline.session import DEFAULT_PARALLEL_CALLS, PARTITION_KEY, Session
from tap_exactonline.streams import STREAM_TYPES

TAP_SETTINGS = th.PropertiesList(
    th.Property(
        "divisions",
        th.CustomType(
            {
                "anyOf": [
                    {"type": "array", "items": {"type": ["integer", "string"]}},
                    {"type": "string"},
                ]
            }
        ),
        description=(
            "Divisions (administrations) to extract: a list of division codes, or `all` for "
            "every division the user can reach. Default: the user's current division "
            "(current/Me). Each division is a state partition with its own bookmarks."
        ),
        title="Divisions",
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        description=(
            "Earliest `Modified` date to extract on a stream's FIRST sync of a division: "
            "Exact's SyncTimestamp turns it into the Timestamp the read starts from (one call "
            "per endpoint and division), so older rows are not read; where Exact gives no "
            "answer the read starts at the beginning and older rows are dropped by the tap. "
            "Later runs are incremental on Timestamp."
        ),
        title="Start date",
    ),
    th.Property(
        "deletes",
        th.BooleanType,
        default=True,
        description=(
            "Read sync/Deleted and emit each deleted row on its stream as a record with "
            "`_sdc_deleted_at` set (one call per 1,000 deletions per division per run)."
        ),
        title="Emit deletes",
    ),
    th.Property(
        "parallel_calls",
        th.IntegerType,
        default=DEFAULT_PARALLEL_CALLS,
        description=(
            "Calls to Exact in flight at once for this run: pages of different divisions, and "
            "of different endpoints of one division, are fetched concurrently (each within "
            "Exact's limits per division). 1 means one call at a time."
        ),
        title="Parallel calls",
    ),
)


class TapExactOnline(Tap):
    """Singer tap for Exact Online (sync API, per-division partitions, deletes)."""

    name = "tap-exactonline"
    message_writer_class = MsgSpecWriter  # singer-sdk's own, faster than its stdlib default
    config_jsonschema = th.PropertiesList(*CLIENT_SETTINGS_SCHEMA, *TAP_SETTINGS).to_dict()

    def discover_streams(self) -> list[Stream]:
        return [stream_type(tap=self, session=self.session) for stream_type in STREAM_TYPES]

    @cached_property
    def session(self) -> Session:
        """Run-wide shared state; its client is made on first use, so discovery stays offline."""
        install_redaction()
        return Session(self.config, self.logger, lambda: self.streams.values())

    def load_state(self, state: dict[str, Any]) -> None:
        """singer-sdk's state loading, after renaming the partition key of earlier versions.

        Partitions were `{"division": code}` before the context key became Exact's own field
        name `Division`; a state from then resumes where it stopped.
        """
        for stream_state in state.get("bookmarks", {}).values():
            for partition in stream_state.get("partitions", []):
                context = partition.get("context")
                if isinstance(context, dict) and set(context) == {"division"}:
                    partition["context"] = {PARTITION_KEY: context["division"]}
        super().load_state(state)


if __name__ == "__main__":
    TapExactOnline.cli()
