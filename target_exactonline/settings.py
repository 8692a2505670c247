"""The target's own settings (on top of the shared client settings), validated before any write.

Everything here changes what gets written where, so a typo must stop the run before the first
call. Each rule is stated once: types, allowed values and bounds in `TARGET_SETTINGS_SCHEMA`
(enforced by `config_check`, which also refuses a misspelt name such as `divison`), and
`TargetSettings.from_config` only turns the checked values into what the sinks use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from singer_sdk import typing as th

from exactonline_api.config_check import check_settings, is_empty
from exactonline_api.errors import ConfigError
from exactonline_api.settings import ClientSettings

DEFAULT_REJECT_FILE = "target-exactonline-rejects.jsonl"

# Account fields a customer may be matched on when it has no Code: values that identify a company,
# and Name as a last resort (people retype names differently, so it matches less reliably).
CUSTOMER_MATCH_FIELDS = ("Email", "VATNumber", "ChamberOfCommerce", "SearchCode", "Name")

# The default cap on one attachment (see the setting's description for why this size).
DEFAULT_ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024

# Invoice header fields that can hold the target's idempotency key (free text, filterable).
INVOICE_KEY_FIELDS = ("YourRef", "Description", "PaymentReference")

TARGET_SETTINGS_SCHEMA = th.PropertiesList(
    th.Property(
        "division",
        th.IntegerType(minimum=1),
        description="Exact division (administration) to write to. Default: the user's current "
        "division from current/Me, which follows the web UI, so set it explicitly in production.",
    ),
    th.Property(
        "on_error",
        th.StringType,
        default="fail",
        allowed_values=["fail", "skip"],
        description="What to do after a record is rejected (always written to the reject file "
        "first): `fail` stops the run with a non-zero exit, `skip` goes on with the next record.",
    ),
    th.Property(
        "reject_file",
        th.StringType,
        default=DEFAULT_REJECT_FILE,
        description="Path of the JSONL reject file (stream, key, field, reason, Exact's message, "
        "record). Created on the first reject; appended to across runs, each reject (same record "
        "and reason) once.",
    ),
    th.Property(
        "summary_file",
        th.StringType,
        description="If set, a JSON summary (created/updated/unchanged/rejected per stream, API "
        "calls used) is written here at the end of the run.",
    ),
    th.Property(
        "unknown_streams",
        th.StringType,
        default="fail",
        allowed_values=["fail", "ignore"],
        description="A stream the target does not write: `fail` stops with a clear error, "
        "`ignore` logs a warning and drops its records.",
    ),
    th.Property(
        "customer_match_field",
        th.StringType,
        allowed_values=list(CUSTOMER_MATCH_FIELDS),
        description="Account field that identifies a customer record that has no Code (and no "
        "usable ID). Without it, such records are rejected rather than created blindly.",
    ),
    th.Property(
        "invoice_key_field",
        th.StringType,
        default="YourRef",
        allowed_values=list(INVOICE_KEY_FIELDS),
        description="Sales invoice header field that stores each invoice's idempotency key "
        "(`invoice_key`), so re-runs and retries find the invoice instead of creating it twice.",
    ),
    th.Property(
        "prefetch_threshold",
        th.IntegerType(minimum=0),
        default=20,
        description="A batch with more keys to look up than this reads the existing rows once "
        "instead (customers and items through the sync endpoint, sales invoice headers through "
        "the bulk endpoint; 1,000 rows per call) when that takes fewer calls than filtered "
        "lookups, which ask for as many keys per call as fit in the 2,048-byte query string "
        "(about 50 short keys). Row counts seen by earlier runs are kept beside the token store "
        "(`*.rows.json`) so a read that cannot pay is not tried again.",
    ),
    th.Property(
        "attachment_dir",
        th.StringType,
        description="The only folder an invoice attachment's `path` may be read from (after "
        "resolving symlinks and `..`; a relative `path` is relative to this folder). Without "
        "it, records with a `path` are rejected and only `content_base64` is accepted, so a "
        "record cannot upload any other file the target can read (token store, config, "
        "/proc/self/environ).",
    ),
    th.Property(
        "attachment_max_bytes",
        th.IntegerType(minimum=1),
        default=DEFAULT_ATTACHMENT_MAX_BYTES,
        description="Largest attachment the target uploads, in bytes (a file's size, or what "
        "`content_base64` decodes to); larger ones are rejected before they are read. Exact "
        "takes a file as base64 in one JSON POST (4/3 of its size); no Exact size limit is "
        "on record for this project, so the default of 20 MiB (20971520) covers invoice PDFs "
        "and scans many times over while bounding the target's memory (see docs/target.md).",
    ),
    th.Property(
        "validate_records",
        th.BooleanType,
        default=True,
        description="Hold each record to the SCHEMA its tap declared (a violation is a reject "
        "naming the field). `false` sets the declared schema aside; the target's own input "
        "schema (Exact's types and required fields) is checked either way.",
    ),
    th.Property(
        "load_method",
        th.StringType,
        default="upsert",
        allowed_values=["upsert"],
        description="Always `upsert`: each record is matched by its key and created or updated "
        "(unchanged ones cost no write). The SDK's `append-only` would write records whether "
        "they exist or not, i.e. duplicates on every re-run, and `overwrite` would delete rows in "
        "Exact first; this target does neither, so other values are refused.",
    ),
)


TARGET_SCHEMA: dict[str, Any] = TARGET_SETTINGS_SCHEMA.to_dict()


@dataclass(frozen=True)
class TargetSettings:
    """Everything the target reads from its config, checked and converted once."""

    client: ClientSettings
    division: int | None
    on_error: str
    reject_file: Path
    summary_file: Path | None
    unknown_streams: str
    customer_match_field: str | None
    invoice_key_field: str
    prefetch_threshold: int
    attachment_dir: Path | None
    attachment_max_bytes: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TargetSettings:
        """Check and build the target's settings; `ConfigError` names the setting at fault."""
        check_settings(config, TARGET_SCHEMA)
        client = ClientSettings.from_config(config)

        def value(name: str) -> Any:  # the schema's default when the setting is left out
            given = config.get(name)
            return TARGET_SCHEMA["properties"][name].get("default") if is_empty(given) else given

        summary = value("summary_file")
        return cls(
            client=client,
            division=value("division"),
            on_error=value("on_error"),
            reject_file=Path(value("reject_file")).expanduser(),
            summary_file=Path(summary).expanduser() if summary else None,
            unknown_streams=value("unknown_streams"),
            customer_match_field=value("customer_match_field"),
            invoice_key_field=value("invoice_key_field"),
            prefetch_threshold=value("prefetch_threshold"),
            attachment_dir=_attachment_dir(value("attachment_dir")),
            attachment_max_bytes=value("attachment_max_bytes"),
        )


def _attachment_dir(value: Any) -> Path | None:
    """The folder attachment paths are read from, resolved once (symlinks, `..`), or None."""
    if is_empty(value):
        return None
    folder = Path(os.path.realpath(Path(str(value)).expanduser()))
    if not folder.is_dir():
        raise ConfigError("attachment_dir", f"must be an existing folder, got {str(value)!r}")
    return folder
