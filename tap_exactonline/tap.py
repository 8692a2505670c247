"""tap-exactonline: customers, payments, receivables, invoices and the books, from every division.

The shared client (`exactonline_api`) owns OAuth, the token store, the throttle and retries, and
`ExactPlugin` the settings check and the one-line errors; the tap's settings are in settings.py.
This module adds the stream list; what one run shares (divisions, the parallel page fetcher,
daily-limit stops, failed divisions) is the `Session`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from exactonline_api.plugin import ExactPlugin, QuietExpectedFailures
from exactonline_api.redact import install_redaction
from exactonline_api.settings import CLIENT_SETTINGS_SCHEMA
from tap_exactonline.output import RecordBufferingWriter
from tap_exactonline.session import PARTITION_KEY, Session
from tap_exactonline.settings import TAP_SETTINGS, TapSettings
from tap_exactonline.stream import ExactStream
from tap_exactonline.streams import STREAM_TYPES


class TapExactOnline(ExactPlugin, Tap):
    """Singer tap for Exact Online (sync API, per-division partitions, deletes)."""

    name = "tap-exactonline"
    package_name = "exactonline-connector"  # the distribution: its version is the plugin's
    message_writer_class = RecordBufferingWriter  # singer-sdk's msgspec writer, fewer flushes
    config_jsonschema = th.PropertiesList(*CLIENT_SETTINGS_SCHEMA, *TAP_SETTINGS).to_dict()
    settings: TapSettings | None  # built by ExactPlugin when the config is checked

    @classmethod
    def settings_from_config(cls, config: Mapping[str, Any]) -> TapSettings:
        return TapSettings.from_config(config)

    def discover_streams(self) -> list[Stream]:
        streams = [stream_type(tap=self, session=self.session) for stream_type in STREAM_TYPES]
        quiet = QuietExpectedFailures(self.expected_errors)
        for stream in streams:
            stream.logger.addFilter(quiet)
        return streams

    @cached_property
    def session(self) -> Session:
        """Run-wide shared state; its client is made on first use, so discovery stays offline.

        The settings were built when singer-sdk checked the config; a tap made with
        validate_config=False builds (and checks) them at the first use of the session.
        """
        install_redaction()
        return Session(
            lambda: self._settings,
            self.logger,
            self._exact_streams,
            state=lambda: self.state,
            end_output=self._end_output,
        )

    def _end_output(self) -> None:
        """The run's last STATE (singer-sdk writes it if the state changed), then the records
        still waiting in the writer's buffer (a run may end on records)."""
        self.state_writer.write_state(self.state)
        if isinstance(self.message_writer, RecordBufferingWriter):
            self.message_writer.flush()

    def _exact_streams(self) -> list[ExactStream]:
        """The tap's streams, as the session reads them (every one is an `ExactStream`)."""
        return [s for s in self.streams.values() if isinstance(s, ExactStream)]

    @property
    def _settings(self) -> TapSettings:
        return self.settings or self.settings_from_config(self.config)

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
