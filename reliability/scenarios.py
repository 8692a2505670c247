"""The scenario table: one entry per scenario module, in the order of docs/reliability.md."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reliability import (
    concurrency,
    crash,
    credentials,
    extraction,
    hostile,
    oauth_callback,
    reverse_etl,
    secret_scan,
    target_writers,
)
from reliability.result import ScenarioResult
from reliability.size import Size

Scenario = Callable[[Size, Path], ScenarioResult]

SCENARIOS: dict[str, Scenario] = {
    "extraction": extraction.run,
    "crash": crash.run,
    "reverse_etl": reverse_etl.run,
    "concurrency": concurrency.run,
    "target_writers": target_writers.run,
    "credentials": credentials.run,
    "hostile": hostile.run,
    "secrets": secret_scan.run,
    "oauth_callback": oauth_callback.run,
}
