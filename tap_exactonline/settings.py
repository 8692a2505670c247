"""The tap's own settings (on top of the shared client settings), checked before any call.

The schema states each setting's type; `TapSettings.from_config` turns the values into what the
streams use (division codes, an aware start date) and names the setting when a value cannot be.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from singer_sdk import typing as th

from exactonline_api.config_check import is_empty
from exactonline_api.errors import ConfigError
from exactonline_api.settings import ClientSettings

ALL_DIVISIONS = "all"

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
            "`_sdc_deleted_at` set (one call per 1,000 deletions per division per run), only "
            "for keys the stream emitted; customers that stop being customers leave the same "
            "way. false: no `_sdc_deleted_at` records at all."
        ),
        title="Emit deletes",
    ),
    th.Property(
        "parallel_calls",
        th.IntegerType,
        default=8,
        description=(
            "Calls to Exact in flight at once for this run: pages of different divisions, and "
            "of different endpoints of one division, are fetched concurrently (each within "
            "Exact's limits per division). 1 means one call at a time."
        ),
        title="Parallel calls",
    ),
    th.Property(
        "summary_file",
        th.StringType,
        description=(
            "If set, a JSON summary of the run is written here at its end: records (and "
            "deletions) per stream and division, API calls per division, throttle waits, the "
            "daily budget left per division, streams a division could not serve, failed reads."
        ),
        title="Summary file",
    ),
    th.Property(
        "retry_unavailable",
        th.BooleanType,
        default=False,
        description=(
            "A stream that answered 401 or 403 in a division whose other data is readable (a "
            "module or scope the company lacks: payroll, manufacturing, HRM...) is skipped "
            "there and remembered in the state, so later runs make no call for it (errors count "
            "against Exact's error limit). true: try such streams again (once per run)."
        ),
        title="Retry unavailable streams",
    ),
)
DEFAULT_PARALLEL_CALLS = 8


def parse_divisions(value: Any) -> list[int] | str | None:
    """The `divisions` setting as a list of codes, `"all"`, or None (the user's current one).

    Accepts a list of codes (ints or digit strings) or a comma-separated string, because
    Meltano passes array settings from the environment as text.
    """
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == ALL_DIVISIONS:
            return ALL_DIVISIONS
        if text.startswith("["):
            try:
                return parse_divisions(json.loads(text))
            except ValueError:
                raise ConfigError("divisions", "is not a JSON list of division codes") from None
        value = [part for part in text.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        codes: list[int] = []
        for item in value:
            try:
                code = int(str(item).strip())
            except ValueError:
                raise ConfigError(
                    "divisions", f"{item!r} is not a division code (a number), nor 'all'"
                ) from None
            if code <= 0:
                raise ConfigError("divisions", f"{item!r} is not a division code (a number > 0)")
            if code not in codes:
                codes.append(code)
        return codes
    raise ConfigError("divisions", "expected a list of division codes or 'all'")


def parse_parallel_calls(value: Any) -> int:
    """The `parallel_calls` setting: a whole number of 1 or more (default 8)."""
    if is_empty(value):
        return DEFAULT_PARALLEL_CALLS
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError("parallel_calls", f"{value!r} is not a whole number") from None
    if number < 1:
        raise ConfigError("parallel_calls", f"{number} is below 1 (1 means one call at a time)")
    return number


def parse_start_date(value: Any) -> datetime | None:
    """`start_date` as an aware datetime (UTC when no offset is given), None when unset."""
    if is_empty(value):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            "start_date", f"must be an ISO-8601 date or date-time such as 2024-01-31, got {value!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TapSettings:
    """Everything the tap reads from its config, checked and converted once."""

    client: ClientSettings
    divisions: list[int] | str | None
    start_date: datetime | None
    deletes: bool
    parallel_calls: int = DEFAULT_PARALLEL_CALLS
    summary_file: Path | None = None
    retry_unavailable: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TapSettings:
        """Build from a config `config_check.check_settings` accepted (the tap does that first)."""
        deletes = config.get("deletes")
        return cls(
            client=ClientSettings.from_config(config),
            divisions=parse_divisions(config.get("divisions")),
            start_date=parse_start_date(config.get("start_date")),
            deletes=True if deletes is None else bool(deletes),
            parallel_calls=parse_parallel_calls(config.get("parallel_calls")),
            summary_file=None
            if is_empty(config.get("summary_file"))
            else Path(str(config["summary_file"])).expanduser(),
            retry_unavailable=bool(config.get("retry_unavailable") or False),
        )
