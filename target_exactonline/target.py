"""`target-exactonline`: writes customers, sales invoices and invoice attachments into Exact.

The SDK drives reading, batching and state; this class adds what a reverse-ETL target into a
metered API needs: one writer at a time, settings checked before any write, unknown streams
refused (or ignored on request), invoices and attachments held until the end of the input (their
lines and invoices may come later), and state emitted only when everything before it is settled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.sinks import Sink

from exactonline_api.errors import ExactError
from exactonline_api.plugin import ExactPlugin
from exactonline_api.redact import install_redaction
from exactonline_api.settings import CLIENT_SETTINGS_SCHEMA
from target_exactonline.attachments import InvoiceAttachmentsSink
from target_exactonline.customers import CustomersSink
from target_exactonline.load import Load
from target_exactonline.rejects import LoadStopped
from target_exactonline.sales_invoices import (
    SalesInvoiceLinesSink,
    SalesInvoicesSink,
    reject_orphan_lines,
)
from target_exactonline.settings import TARGET_SETTINGS_SCHEMA, TargetSettings
from target_exactonline.singer_input import BadInput, SingerInput
from target_exactonline.sink import NOT_AN_OBJECT, ExactSink, IgnoredSink

SINKS: dict[str, type[ExactSink]] = {
    "customers": CustomersSink,
    "sales_invoices": SalesInvoicesSink,
    "sales_invoice_lines": SalesInvoiceLinesSink,
    "invoice_attachments": InvoiceAttachmentsSink,
}
"""The streams this target writes, one sink each:

| stream | Exact endpoint | matched by (in order) | written |
| --- | --- | --- | --- |
| customers | crm/Accounts | ID (same division), Code, `customer_match_field` | ACCOUNT_FIELDS |
| sales_invoices | salesinvoice/SalesInvoices | InvoiceID (same division), `invoice_key` in `invoice_key_field` | INVOICE_FIELDS + lines |
| sales_invoice_lines | (joined into their invoice's deep insert) | InvoiceID or invoice_key | LINE_FIELDS |
| invoice_attachments | documents/Documents + DocumentAttachments, linked on the invoice | invoice + FileName | file |
"""

MELTANO_TEST_STREAM = "meltano_test_stream"
"""The stream `meltano config target-exactonline test` pipes in. Exact has no table to put it in,
so the target answers the test the only meaningful way: settings validated, the stream dropped,
and the connection to Exact (token, division) checked at the end of the input."""


class UnknownStreamError(ExactError):
    """A stream this target does not write, with `unknown_streams: fail`."""


class TargetExactOnline(ExactPlugin, Target):
    """Singer target for Exact Online (reverse ETL, idempotent)."""

    name = "target-exactonline"
    package_name = "exactonline-connector"  # the distribution: its version is the plugin's
    config_jsonschema = th.PropertiesList(
        *CLIENT_SETTINGS_SCHEMA, *TARGET_SETTINGS_SCHEMA
    ).to_dict()
    # Stopping on a rejected record (on_error: fail) or on an input line that is no Singer
    # message is expected too: one line, no traceback.
    expected_errors = (ExactError, LoadStopped, BadInput)
    settings: TargetSettings | None  # built by ExactPlugin when the config is checked
    message_reader_class = SingerInput

    @classmethod
    def settings_from_config(cls, config: Mapping[str, Any]) -> TargetSettings:
        return TargetSettings.from_config(config)

    def __init__(self, **kwargs: Any) -> None:
        install_redaction()
        super().__init__(**kwargs)
        # One writer per division: Exact's limits are per division and the throttle is shared.
        self.max_parallelism = 1
        # Built when singer-sdk checked the config (validate_config=False: built and checked here).
        self.load = Load(self.settings or self.settings_from_config(self.config))
        self._input.on_stop = self.load.finish
        self._emitted_state: dict | None = None

    @property
    def _input(self) -> SingerInput:
        """singer-sdk's message reader, which is this target's `SingerInput`."""
        reader = self.message_reader
        assert isinstance(reader, SingerInput)
        return reader

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        if stream_name in SINKS:
            return SINKS[stream_name]
        if stream_name == MELTANO_TEST_STREAM or self.load.settings.unknown_streams == "ignore":
            return IgnoredSink
        raise UnknownStreamError(
            f"stream {stream_name!r} is not one target-exactonline writes "
            f"({', '.join(SINKS)}); rename it with a stream map, or set unknown_streams: ignore"
        )

    # State: the SDK emits the latest state after every drain. While invoices or attachments
    # wait for the end of the input, records before that state are not written yet, so hold it.
    def _write_state_message(self, state: dict) -> None:
        if self.load.has_deferred():
            self.logger.debug("holding state until deferred invoices and attachments are written")
            return
        if state == self._emitted_state:
            return
        self._emitted_state = state
        super()._write_state_message(state)

    def _process_record_message(self, message_dict: dict) -> None:
        try:
            self._malformed_record(message_dict)
            super()._process_record_message(message_dict)
        except BaseException:
            self.load.finish()
            raise

    def _malformed_record(self, message: dict) -> None:
        """A RECORD before its SCHEMA stops the run naming the line; one whose `record` is no
        object goes on, marked, to be its sink's reject in input order."""
        self._require_schema(message["stream"], "RECORD")
        if not isinstance(message["record"], dict):
            message["record"] = {NOT_AN_OBJECT: message["record"]}

    def _require_schema(self, stream: str, kind: str) -> None:
        if stream not in self.mapper.stream_maps:
            raise self._input.bad(f"a {kind} of stream {stream!r} before its SCHEMA")

    def _process_activate_version_message(self, message_dict: dict) -> None:
        self._require_schema(message_dict["stream"], "ACTIVATE_VERSION")
        super()._process_activate_version_message(message_dict)

    def _process_schema_message(self, message_dict: dict) -> None:
        try:
            super()._process_schema_message(message_dict)
        except BaseException:
            self.load.finish()
            raise

    def process_endofpipe(self) -> None:
        try:
            self.drain_all()  # customers first: invoices may refer to them
            if self.load.has_deferred():
                self.load.hold_division()  # invoices and attachments are written now
            invoices = self._sinks_active.get("sales_invoices")
            if isinstance(invoices, SalesInvoicesSink):
                invoices.flush()
            else:
                reject_orphan_lines(self.load)
            attachments = self._sinks_active.get("invoice_attachments")
            if isinstance(attachments, InvoiceAttachmentsSink):
                attachments.flush()
            super().process_endofpipe()
            self.load.verify_connection()
        finally:
            self.load.finish()


if __name__ == "__main__":
    TargetExactOnline.cli()
