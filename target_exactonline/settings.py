"""The target's own settings (on top of the shared client settings), validated before any write.

Everything here changes what gets written where, so a typo must stop the run before the first
call: the JSON schema catches types and enums, `TargetSettings.from_config` the rest and names the
setting in its `ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from singer_sdk import typing as th

from exactonline_api.errors import ConfigError

DEFAULT_REJECT_FILE = "target-exactonline-rejects.jsonl"

# Account fields a customer may be matched on when it has no Code: values that identify a company
# (unlike Name, which is a string people retype differently).
CUSTOMER_MATCH_FIELDS = ("Email", "VATNumber", "ChamberOfCommerce", "SearchCode", "Name")

# Invoice header fields that can hold the target's idempotency key (free text, filterable).
INVOICE_KEY_FIELDS = ("YourRef", "Description", "PaymentReference")

TARGET_SETTINGS_SCHEMA = th.PropertiesList(
    th.Property(
        "division",
        th.IntegerType,
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
        "record). Created on the first reject; appended to across runs.",
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
        th.IntegerType,
        default=20,
        description="A batch with more keys to look up than this reads the existing rows once "
        "instead (customers and items through the sync endpoint, sales invoice headers through "
        "the bulk endpoint; 1,000 rows per call) when that takes fewer calls than filtered "
        "lookups, which ask for as many keys per call as fit in the 2,048-byte query string "
        "(about 50 short keys). Row counts seen by earlier runs are kept beside the token store "
        "(`*.rows.json`) so a read that cannot pay is not tried again.",
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


@dataclass(frozen=True)
class TargetSettings:
    """Validated target settings; the client's own settings live in `ClientSettings`."""

    division: int | None
    on_error: str
    reject_file: Path
    summary_file: Path | None
    unknown_streams: str
    customer_match_field: str | None
    invoice_key_field: str
    prefetch_threshold: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TargetSettings:
        division = config.get("division")
        if division is not None and (
            isinstance(division, bool) or not isinstance(division, int) or division <= 0
        ):
            raise ConfigError("division", f"must be a positive integer, got {division!r}")
        on_error = config.get("on_error") or "fail"
        if on_error not in ("fail", "skip"):
            raise ConfigError("on_error", f"must be 'fail' or 'skip', got {on_error!r}")
        unknown = config.get("unknown_streams") or "fail"
        if unknown not in ("fail", "ignore"):
            raise ConfigError("unknown_streams", f"must be 'fail' or 'ignore', got {unknown!r}")
        match_field = config.get("customer_match_field") or None
        if match_field is not None and match_field not in CUSTOMER_MATCH_FIELDS:
            raise ConfigError(
                "customer_match_field",
                f"must be one of {', '.join(CUSTOMER_MATCH_FIELDS)}, got {match_field!r}",
            )
        key_field = config.get("invoice_key_field") or "YourRef"
        if key_field not in INVOICE_KEY_FIELDS:
            raise ConfigError(
                "invoice_key_field",
                f"must be one of {', '.join(INVOICE_KEY_FIELDS)}, got {key_field!r}",
            )
        threshold = config.get("prefetch_threshold", 20)
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ConfigError("prefetch_threshold", f"must be an integer >= 0, got {threshold!r}")
        reject = str(config.get("reject_file") or DEFAULT_REJECT_FILE)
        summary = config.get("summary_file") or None
        return cls(
            division=division,
            on_error=on_error,
            reject_file=Path(reject).expanduser(),
            summary_file=Path(str(summary)).expanduser() if summary else None,
            unknown_streams=unknown,
            customer_match_field=match_field,
            invoice_key_field=key_field,
            prefetch_threshold=threshold,
        )
