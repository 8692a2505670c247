"""Real Exact Online answers, where the project's `../shared/exact-recordings` is beside the clone.

The recordings are not part of this repository (they are under another licence), so every test
that reads them is marked `needs_recordings`: it runs where the folder exists (the developers'
machines, CI) and is skipped with the reason on a plain clone, where `exact_answers.py` gives the
same shapes from the project's own values.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from exactonline_api.odata import rows as odata_rows
from tests.support.shared import SHARED

RECORDINGS = SHARED / "exact-recordings"

needs_recordings = pytest.mark.skipif(
    not RECORDINGS.is_dir(),
    reason=(
        f"the real Exact recordings ({RECORDINGS}) are not beside this clone; the same shapes are "
        "tested on the project's own answers in tests/support/exact_answers.py"
    ),
)


def recording(name: str) -> dict[str, Any]:
    """One recording file, parsed."""
    data: dict[str, Any] = json.loads((RECORDINGS / f"{name}.test.json").read_text("utf-8"))
    return data


def recorded_rows(name: str, path_part: str) -> list[dict[str, Any]]:
    """Every row of every recorded GET whose path contains `path_part` (all pages, in order)."""
    found: list[dict[str, Any]] = []
    for path, calls in recording(name)["api"]["get"].items():
        if path_part not in path:
            continue
        for call in calls if isinstance(calls, list) else [calls]:
            found.extend(odata_rows(call["response"]))
    return found


def recorded_pages() -> list[Any]:
    """The response body of every recorded GET, across all recordings."""
    bodies = []
    for path in sorted(RECORDINGS.glob("*.test.json")):
        for recorded in json.loads(path.read_text("utf-8")).get("api", {}).get("get", {}).values():
            for call in recorded if isinstance(recorded, list) else [recorded]:
                bodies.append(call.get("response"))
    return bodies
