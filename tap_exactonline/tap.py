"""tap-exactonline: customers, payments, receivables, invoices and the books, from every division.

The shared client (`exactonline_api`) owns OAuth, the token store, the throttle and retries, and
`ExactPlugin` the settings check and the one-line errors; the tap's settings are in settings.py.
This module adds the stream list and the run-level behaviour: a daily limit ends the run cleanly
(state emitted, exit code 0, a message saying when the budget resets).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from exactonline_api.errors import DailyLimitReached
from exactonline_api.plugin import ExactPlugin, QuietExpectedFailures
from exactonline_api.redact import install_redaction
from exactonline_api.settings import CLIENT_SETTINGS_SCHEMA
from tap_exactonline.client import UNFINISHED, ExactSyncStream
from tap_exactonline.deletes import STATE_KEY as DELETED_STATE_KEY
from tap_exactonline.runtime import interpreter_tuned_for_sync
from tap_exactonline.session import Session
from tap_exactonline.settings import TAP_SETTINGS, TapSettings
from tap_exactonline.streams import STREAM_TYPES
from tap_exactonline.writer import BufferedMsgSpecWriter


class TapExactOnline(ExactPlugin, Tap):
    """Singer tap for Exact Online (sync API, per-division partitions, deletes)."""

    name = "tap-exactonline"
    package_name = "exactonline-connector"  # the distribution: its version is the plugin's
    message_writer_class = BufferedMsgSpecWriter
    config_jsonschema = th.PropertiesList(*CLIENT_SETTINGS_SCHEMA, *TAP_SETTINGS).to_dict()
    settings: TapSettings | None = None

    @classmethod
    def settings_from_config(cls, config: Mapping[str, Any]) -> TapSettings:
        return TapSettings.from_config(config)

    def discover_streams(self) -> list[Stream]:
        streams = [stream_type(tap=self) for stream_type in STREAM_TYPES]
        quiet = QuietExpectedFailures(self.expected_errors)
        for stream in streams:
            stream.logger.addFilter(quiet)
        return streams

    @cached_property
    def session(self) -> Session:
        """Run-wide shared state; created on first use so discovery stays offline."""
        install_redaction()
        # Built when singer-sdk checked the config; a tap made with validate_config=False
        # builds (and checks) its settings here, before the first call.
        settings = self.settings or self.settings_from_config(self.config)
        return Session(settings, self.logger, self._deleted_floor)

    def _deleted_floor(self, division: int) -> int:
        """Lowest delete bookmark among the selected streams that receive deletes."""
        values = [
            int(stream.get_context_state({"division": division}).get(DELETED_STATE_KEY) or 0)
            for stream in self.streams.values()
            if getattr(stream, "spec", None) is not None
            and stream.spec.deleted_types
            and stream.selected
        ]
        return min(values, default=0)

    def _unfinished_first(self) -> None:
        """Run streams whose last read did not finish (or never started) before the others.

        After a spent daily budget, the next run would otherwise spend calls re-checking the
        streams that did finish before it reaches the one that was cut off. Within each of the
        two groups, streams that keep a key memory (`deletes.KeyMemory`) run last: every STATE
        message holds the whole state, so their memory then rides in few of them.
        """
        streams = self.streams  # singer-sdk builds its dict lazily; reorder it in place

        def waiting(stream: Stream) -> bool:
            if not isinstance(stream, ExactSyncStream):
                return False
            partitions = self.state.get("bookmarks", {}).get(stream.name, {}).get("partitions")
            return not partitions or any(p.get(UNFINISHED) for p in partitions)

        def remembers(stream: Stream) -> bool:
            return isinstance(stream, ExactSyncStream) and stream.spec.tombstones is not None

        ordered = sorted(streams.values(), key=lambda s: (not waiting(s), remembers(s)))
        self._streams = {s.name: s for s in ordered}

    def sync_all(self) -> None:
        """Sync every selected stream; a spent daily budget ends the run cleanly."""
        install_redaction()
        self._unfinished_first()
        # The grant must be there before the first stream begins (no call is made): a missing
        # grant or a broken token store ends the run here, before any SCHEMA message.
        self.session.client  # noqa: B018
        try:
            with interpreter_tuned_for_sync():
                super().sync_all()
        except DailyLimitReached as exc:
            self.session.stop_division(exc)
            self.state_writer.write_state(self.state)
        finally:
            if "session" in self.__dict__:
                self.session.close()
            flush = getattr(self.message_writer, "flush", None)
            if flush is not None:
                flush()
        if "session" in self.__dict__ and self.session.exhausted:
            resets = sorted({e.reset_at for e in self.session.exhausted.values()})
            self.logger.warning(
                "Run ended early: the daily API limit of division(s) %s is reached. "
                "It resets at %s; run again after that and extraction resumes from the "
                "bookmarks in the last STATE message.",
                ", ".join(str(d) for d in self.session.exhausted),
                resets[-1].isoformat(),
            )


if __name__ == "__main__":
    TapExactOnline.cli()
